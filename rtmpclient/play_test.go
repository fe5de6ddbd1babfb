package rtmpclient

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
)

// A player pulling back from nginx receives, byte for byte and with the same
// timestamps, the video frames the publisher sent.
func TestPlayFromNginxReceivesWhatWasPublished(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{})
	pkts := fixturePackets(t, peers.FixtureFLV(t, 4))
	ep, err := ParseURL(ng.URL(), testKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	player, err := Dial(ctx, ep, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer player.Close()
	// nginx lets a player wait for a stream that is not published yet.
	if _, err := player.Play(ctx, testKey); err != nil {
		t.Fatalf("play: %v", err)
	}
	pubDone := make(chan PublisherStats, 1)
	go func() { pubDone <- publishAll(t, ep, Options{}, pkts) }()

	var want []Packet
	for _, p := range pkts {
		if p.Type == TypeVideo && !p.Header {
			want = append(want, p)
		}
	}
	var got []Message
	for len(got) < len(want) {
		select {
		case m, ok := <-player.Media():
			if !ok {
				t.Fatalf("connection ended after %d frames: %v", len(got), player.Err())
			}
			if m.Type == TypeVideo && len(m.Payload) > 1 && m.Payload[1] == 1 {
				got = append(got, m)
			}
		case <-ctx.Done():
			t.Fatalf("received %d of %d frames", len(got), len(want))
		}
	}
	<-pubDone
	for i := range want {
		if !bytes.Equal(got[i].Payload, want[i].Payload) {
			t.Fatalf("frame %d differs (%d bytes received, %d sent)", i, len(got[i].Payload), len(want[i].Payload))
		}
		if got[i].Timestamp != uint32(want[i].DTS) {
			t.Fatalf("frame %d at %d ms, sent at %d ms", i, got[i].Timestamp, want[i].DTS)
		}
	}
}

// nginx refuses a second publisher of a name already live; the error carries the
// server's code and never the key.
func TestSecondPublisherOfSameNameGetsBadName(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{})
	ep, err := ParseURL(ng.URL(), testKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := NewPublisher(PublisherConfig{Endpoint: ep})
	firstDone := make(chan error, 1)
	go func() { firstDone <- first.Run(ctx) }()
	waitStable(t, func() bool { return first.Stats().State == StateLive })

	second := NewPublisher(PublisherConfig{Endpoint: ep})
	err = second.Run(ctx)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != "NetStream.Publish.BadName" || !se.Permanent() {
		t.Fatalf("got %v, want a permanent NetStream.Publish.BadName", err)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Errorf("error leaks the key: %v", err)
	}
	if second.Stats().State != StateFailed {
		t.Errorf("state %v, want error", second.Stats().State)
	}
	cancel()
	if err := <-firstDone; err != nil {
		t.Errorf("first publisher: %v", err)
	}
}
