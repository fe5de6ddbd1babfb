package rtmpclient

import (
	"errors"
	"io"
	"os"
	"testing"

	"github.com/tallystudio/tally/flv"
	"github.com/tallystudio/tally/internal/peers"
)

func TestMain(m *testing.M) { peers.Main(m) }

// fixtureTags reads every tag of an FLV file.
func fixtureTags(t testing.TB, path string) []flv.Tag {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := flv.NewReader(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	var tags []flv.Tag
	for {
		tag, err := r.Next()
		if errors.Is(err, io.EOF) {
			return tags
		}
		if err != nil {
			t.Fatal(err)
		}
		tags = append(tags, tag)
	}
}

// fixturePackets reads an FLV made by FFmpeg into Packets, as the encoder
// pipeline would produce them.
func fixturePackets(t testing.TB, path string) []Packet {
	t.Helper()
	var pkts []Packet
	for _, tag := range fixtureTags(t, path) {
		role, err := flv.RoleOf(tag)
		if err != nil {
			t.Fatal(err)
		}
		if !role.Media {
			continue // the publisher sends its own metadata
		}
		pk := Packet{Type: tag.Type, DTS: int64(tag.Timestamp), Payload: tag.Data, Header: role.Header, Keyframe: role.Keyframe}
		pkts = append(pkts, pk)
	}
	return pkts
}

func countVideo(pkts []Packet) (frames int) {
	for _, p := range pkts {
		if p.Type == TypeVideo && !p.Header {
			frames++
		}
	}
	return frames
}
