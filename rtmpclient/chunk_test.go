package rtmpclient

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

func writeChunks(t *testing.T, size uint32, msgs ...struct {
	csid uint32
	m    Message
}) []byte {
	t.Helper()
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	cw := newChunkWriter(bw)
	cw.size = size
	for _, x := range msgs {
		if err := cw.writeMessage(x.csid, &x.m); err != nil {
			t.Fatal(err)
		}
	}
	bw.Flush()
	return buf.Bytes()
}

type csidMsg = struct {
	csid uint32
	m    Message
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

// chunkGolden holds messages and the exact chunks the writer makes of them at
// the default chunk size (128). The reader must read each back as the same
// messages, and FuzzChunkReader starts from each, so a case added here is
// checked both ways and seeds the fuzzer.
var chunkGolden = []chunkCase{
	chunkSpecExample1(),
	chunkSpecExample2(),
	{
		name: "a type-1 header when the length and type change",
		msgs: []csidMsg{
			{3, Message{Type: TypeCommandAMF0, Timestamp: 0, Payload: []byte{1}}},
			{3, Message{Type: TypeDataAMF0, Timestamp: 40, Payload: []byte{1, 2}}}},
		wire: mustHex("03 000000 000001 14 00000000 01   43 000028 000002 12 0102"),
	},
	{
		name: "a type-3 header starting a new message repeats the previous delta",
		msgs: []csidMsg{
			{4, Message{Type: TypeAudio, StreamID: 1, Timestamp: 100, Payload: []byte{0xaa}}},
			{4, Message{Type: TypeAudio, StreamID: 1, Timestamp: 110, Payload: []byte{0xbb}}},
			{4, Message{Type: TypeAudio, StreamID: 1, Timestamp: 120, Payload: []byte{0xcc}}},
			{4, Message{Type: TypeAudio, StreamID: 1, Timestamp: 130, Payload: []byte{0xdd}}}},
		wire: mustHex("04 000064 000001 08 01000000 aa  84 00000a bb  c4 cc  c4 dd"),
	},
	chunkExtendedTimestamp(),
}

// The RTMP 1.0 specification, section 5.3.2.2, example 1: four audio messages
// on one stream with equal length and delta compress to headers of type 0, 2, 3, 3.
func chunkSpecExample1() (c chunkCase) {
	c.name = "spec example 1: equal length and delta compress to headers of type 0, 2, 3, 3"
	payload := bytes.Repeat([]byte{0xaa}, 32)
	for i := 0; i < 4; i++ {
		c.msgs = append(c.msgs, csidMsg{3, Message{Type: TypeAudio, StreamID: 12345, Timestamp: uint32(1000 + 20*i), Payload: payload}})
	}
	c.wire = append(mustHex("03 0003e8 000020 08 39300000"), payload...)
	c.wire = append(append(c.wire, mustHex("83 000014")...), payload...)
	c.wire = append(append(c.wire, 0xc3), payload...)
	c.wire = append(append(c.wire, 0xc3), payload...)
	return c
}

// Example 2: one 307-byte message over 128-byte chunks: a type-0 chunk and two
// type-3 continuations.
func chunkSpecExample2() (c chunkCase) {
	c.name = "spec example 2: a long message splits into a type-0 chunk and type-3 continuations"
	payload := make([]byte, 307)
	for i := range payload {
		payload[i] = byte(i)
	}
	c.msgs = []csidMsg{{4, Message{Type: TypeVideo, StreamID: 12345, Timestamp: 1000, Payload: payload}}}
	c.wire = append(mustHex("04 0003e8 000133 09 39300000"), payload[:128]...)
	c.wire = append(append(c.wire, 0xc4), payload[128:256]...)
	c.wire = append(append(c.wire, 0xc4), payload[256:]...)
	return c
}

// Timestamps of 2^24 ms and beyond (4.6 hours) go in the extended field, which
// type-3 continuation chunks repeat.
func chunkExtendedTimestamp() (c chunkCase) {
	c.name = "an extended timestamp repeats on continuation chunks"
	payload := make([]byte, 200)
	c.msgs = []csidMsg{{6, Message{Type: TypeVideo, StreamID: 1, Timestamp: 0x01020304, Payload: payload}}}
	c.wire = append(mustHex("06 ffffff 0000c8 09 01000000 01020304"), payload[:128]...)
	c.wire = append(append(c.wire, mustHex("c6 01020304")...), payload[128:]...)
	return c
}

func TestChunkWriterProducesGoldenBytes(t *testing.T) {
	for _, tc := range chunkGolden {
		t.Run(tc.name, func(t *testing.T) {
			if got := writeChunks(t, 128, tc.msgs...); !bytes.Equal(got, tc.wire) {
				t.Fatalf("got\n%x\nwant\n%x", got, tc.wire)
			}
		})
	}
}

func TestChunkReaderReadsGoldenBytesBack(t *testing.T) {
	for _, tc := range chunkGolden {
		t.Run(tc.name, func(t *testing.T) {
			got := readAll(t, tc.wire, 128)
			if len(got) != len(tc.msgs) {
				t.Fatalf("read %d messages, want %d", len(got), len(tc.msgs))
			}
			for i, want := range tc.msgs {
				if !sameMessage(got[i], want.m) {
					t.Errorf("message %d: got %v, want %v", i, got[i], want.m)
				}
			}
		})
	}
}

// chunkCase is messages and the chunks that carry them.
type chunkCase struct {
	name string
	msgs []csidMsg // in the order they are written and read
	wire []byte
}

// sameMessage compares what a chunk stream carries of a message.
func sameMessage(a, b Message) bool {
	return a.Type == b.Type && a.StreamID == b.StreamID && a.Timestamp == b.Timestamp && bytes.Equal(a.Payload, b.Payload)
}

func TestBasicHeaderUsesOneTwoOrThreeBytes(t *testing.T) {
	for _, tc := range []struct {
		csid uint32
		want string
	}{
		{2, "02"}, {63, "3f"}, {64, "0000"}, {319, "00ff"}, {320, "010001"}, {65599, "01ffff"},
	} {
		if got := hex.EncodeToString(appendBasicHeader(nil, 0, tc.csid)); got != tc.want {
			t.Errorf("csid %d: got %s want %s", tc.csid, got, tc.want)
		}
	}
}

func readAll(t *testing.T, b []byte, size uint32) []Message {
	t.Helper()
	cr := newChunkReader(bufio.NewReader(bytes.NewReader(b)), defaultReadLimits)
	cr.size = size
	var out []Message
	for {
		m, err := cr.readMessage()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("after %d messages: %v", len(out), err)
		}
		out = append(out, m)
	}
}

// Interleaved messages on several chunk streams, with timestamps that wrap at
// 2^32 and chunk sizes from tiny to huge, come back exactly as sent.
func TestChunkRoundTripInterleavedAcrossStreams(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []uint32{1, 7, 128, 4096, 65536, maxChunkSize} {
		var sent []csidMsg
		ts := map[uint32]uint32{4: 0xffff_ff00, 6: 0xffff_fff0, 300: 5, 70000 % 65599: 9}
		for i := 0; i < 200; i++ {
			csids := []uint32{4, 6, 300, 70000 % 65599}
			csid := csids[rng.IntN(len(csids))]
			ts[csid] += uint32(rng.IntN(50))
			n := rng.IntN(3000)
			if rng.IntN(4) == 0 {
				n = 32
			}
			p := make([]byte, n)
			for j := range p {
				p[j] = byte(rng.Uint32())
			}
			sent = append(sent, csidMsg{csid, Message{Type: uint8(8 + rng.IntN(2)), StreamID: 1, Timestamp: ts[csid], Payload: p}})
		}
		got := readAll(t, writeChunks(t, size, sent...), size)
		if len(got) != len(sent) {
			t.Fatalf("chunk size %d: read %d messages, sent %d", size, len(got), len(sent))
		}
		for i := range sent {
			s, g := sent[i].m, got[i]
			if s.Type != g.Type || s.StreamID != g.StreamID || s.Timestamp != g.Timestamp || !bytes.Equal(s.Payload, g.Payload) {
				t.Fatalf("chunk size %d, message %d: sent %v got %v", size, i, s, g)
			}
		}
	}
}

// chunkHostile holds chunk streams the reader must refuse, and what the error
// says. FuzzChunkReader starts from each too.
var chunkHostile = []struct {
	name, in, want string
}{
	{"stream starts with type 1", "43 000000 000010 08", "starts with a type-1 header"},
	{"claims 16 MiB", "03 000000 ffffff 09 01000000", "exceeds the 8388608-byte limit"},
	{"oversized control message", "02 000000 000100 01 00000000", "SetChunkSize message of 256 bytes"},
	{"new header mid-message", "04 000000 000100 09 01000000 " + strings.Repeat("00", 128) + " 04 000000 000100 09 01000000", "in the middle of a message"},
}

func TestChunkReaderRejectsHostileHeaders(t *testing.T) {
	for _, tc := range chunkHostile {
		t.Run(tc.name, func(t *testing.T) {
			cr := newChunkReader(bufio.NewReader(bytes.NewReader(mustHex(tc.in))), defaultReadLimits)
			_, err := cr.readMessage()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestChunkReaderLimitsChunkStreams(t *testing.T) {
	var in []byte
	for csid := uint32(2); csid < 80; csid++ {
		in = appendBasicHeader(in, 0, csid)
		in = append(in, mustHex("000000 000010 09 01000000 0102030405060708")...) // half a message each
	}
	cr := newChunkReader(bufio.NewReader(bytes.NewReader(in)), readLimits{maxMessage: 1 << 20, maxStreams: 8})
	cr.size = 8
	_, err := cr.readMessage()
	if err == nil || !strings.Contains(err.Error(), "more than 8 chunk streams") {
		t.Fatalf("got %v", err)
	}
}

func TestSetChunkSizeBounds(t *testing.T) {
	cr := newChunkReader(bufio.NewReader(bytes.NewReader(nil)), defaultReadLimits)
	if err := cr.setChunkSize(0); err == nil {
		t.Error("chunk size 0 accepted")
	}
	if err := cr.setChunkSize(maxChunkSize); err != nil {
		t.Errorf("chunk size 2^31-1 refused: %v", err)
	}
}

func BenchmarkChunkWriterSendPath(b *testing.B) {
	payload := make([]byte, 25_000) // a 6 Mb/s, 30 fps video frame
	bw := bufio.NewWriterSize(discard{}, ioBufferSize)
	cw := newChunkWriter(bw)
	cw.size = sendChunkSize
	m := Message{Type: TypeVideo, StreamID: 1, Payload: payload}
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Timestamp = uint32(i * 33)
		if err := cw.writeMessage(csidVideo, &m); err != nil {
			b.Fatal(err)
		}
	}
	bw.Flush()
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
