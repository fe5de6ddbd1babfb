package rtmpclient

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"
)

// Fuzz targets for everything Tally parses from the network. Every golden table
// in the tests seeds them (chunkGolden, chunkHostile, clientHelloGolden,
// serverHelloGolden, serverCapsGolden, videoHeaderCases), found inputs live in testdata/fuzz, and `make fuzz` runs
// each for a while. The AMF fuzzers are in package amf.

// FuzzChunkReader checks that the chunk reader survives anything, and that every
// message it reads, written again by the chunk writer, reads back the same.
func FuzzChunkReader(f *testing.F) {
	for _, tc := range chunkGolden {
		f.Add(tc.wire)
	}
	for _, tc := range chunkHostile {
		f.Add(mustHex(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		limits := readLimits{maxMessage: 1 << 16, maxStreams: 16}
		cr := newChunkReader(bufio.NewReader(bytes.NewReader(b)), limits)
		var read []Message
		var sizes []uint32 // the chunk size in force when each message completed
		for i := 0; i < 1000; i++ {
			m, err := cr.readMessage()
			if err != nil {
				break
			}
			read, sizes = append(read, m), append(sizes, cr.size)
			if m.Type == TypeSetChunkSize && len(m.Payload) == 4 {
				_ = cr.setChunkSize(uint32(m.Payload[0])<<24 | uint32(m.Payload[1])<<16 | uint32(m.Payload[2])<<8 | uint32(m.Payload[3]))
			}
			if m.Type == TypeCommandAMF0 || m.Type == TypeCommandAMF3 {
				_, _ = parseCommand(m)
			}
		}
		checkChunkRoundTrip(t, read, sizes, limits)
	})
}

// checkChunkRoundTrip writes msgs with the chunk writer, each at its chunk size
// and on the chunk stream Tally would use for its type, and reads them back with
// a fresh reader under the same limits: type, stream ID, timestamp and payload
// must all survive.
func checkChunkRoundTrip(t *testing.T, msgs []Message, sizes []uint32, limits readLimits) {
	t.Helper()
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	cw := newChunkWriter(bw)
	for i := range msgs {
		cw.size = sizes[i]
		if err := cw.writeMessage(csidFor(msgs[i].Type), &msgs[i]); err != nil {
			t.Fatalf("message %d (%v) was read but cannot be written: %v", i, msgs[i], err)
		}
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	wire := append([]byte(nil), buf.Bytes()...)
	cr := newChunkReader(bufio.NewReader(&buf), limits)
	for i, want := range msgs {
		cr.size = sizes[i]
		got, err := cr.readMessage()
		if err != nil {
			t.Fatalf("message %d (%v) written as\n%x\ndoes not read back: %v", i, want, wire, err)
		}
		if !sameMessage(got, want) {
			t.Fatalf("message %d: read %v, written as\n%x\nread back as %v", i, want, wire, got)
		}
	}
	if _, err := cr.readMessage(); !errors.Is(err, io.EOF) {
		t.Fatalf("bytes left after the %d messages written: %v", len(msgs), err)
	}
}

// csidFor is the chunk stream Tally's transport sends a message type on.
func csidFor(typ uint8) uint32 {
	switch typ {
	case TypeAudio:
		return csidAudio
	case TypeVideo:
		return csidVideo
	case TypeDataAMF0, TypeDataAMF3:
		return csidData
	case TypeCommandAMF0, TypeCommandAMF3:
		return csidCommand
	}
	if _, control := maxControlPayload(typ); control {
		return csidControl
	}
	return csidCommand
}

// FuzzClientHandshake feeds a server's S0+S1+S2 to the client side.
func FuzzClientHandshake(f *testing.F) {
	for _, tc := range serverHelloGolden {
		f.Add(append(append([]byte(nil), tc.s0s1...), make([]byte, handshakeSize)...))
	}
	f.Add([]byte{3, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = clientHandshake(readWriter{bytes.NewReader(b), io.Discard}, true)
	})
}

// FuzzServerHandshake feeds a client's C0+C1+C2 to the server side.
func FuzzServerHandshake(f *testing.F) {
	for _, tc := range clientHelloGolden {
		f.Add(append(append([]byte(nil), tc.c0c1...), make([]byte, handshakeSize)...))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = serverHandshake(readWriter{bytes.NewReader(b), io.Discard})
	})
}

// FuzzServerCaps feeds a server's connect _result to what reads its Enhanced
// RTMP capabilities: whatever the server sends, what Tally keeps is bounded
// and well-formed, and asking about it never panics.
func FuzzServerCaps(f *testing.F) {
	for _, tc := range serverCapsGolden {
		// The table's absurd sizes are its own test; as seeds they only make
		// the fuzzer spend its time minimising hundreds of kilobytes.
		if len(tc.body) <= 4<<10 {
			f.Add(tc.body)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := parseCommand(Message{Type: TypeCommandAMF0, Payload: b})
		if err != nil {
			return
		}
		c := serverCapsFrom(res)
		if len(c.FourCCList) > maxFourCCs || len(c.VideoFourCCInfo) > maxFourCCs || len(c.AudioFourCCInfo) > maxFourCCs {
			t.Fatalf("kept %d, %d and %d FourCCs, more than %d", len(c.FourCCList), len(c.VideoFourCCInfo), len(c.AudioFourCCInfo), maxFourCCs)
		}
		names := slices.Clone(c.FourCCList)
		for k := range c.VideoFourCCInfo {
			names = append(names, k)
		}
		for k := range c.AudioFourCCInfo {
			names = append(names, k)
		}
		for _, n := range names {
			if !validFourCC(n) && n != fourCCWildcard {
				t.Fatalf("kept %q, which is not a FourCC", n)
			}
		}
		if !c.Stated && (c.FourCCList != nil || c.VideoFourCCInfo != nil || c.AudioFourCCInfo != nil || c.CapsEx != 0) {
			t.Fatalf("capabilities %+v kept from a server that stated none", c)
		}
		for _, n := range append(names, "hvc1", "") {
			if ok, stated := c.Video(n); ok && !stated {
				t.Fatalf("Video(%q) takes a codec nobody listed", n)
			}
		}
		_ = c.Multitrack()
	})
}

// FuzzVideoHeader feeds video tag bodies to the server's sequence-header
// finder: it never panics, and a header always belongs to some track.
func FuzzVideoHeader(f *testing.F) {
	for _, tc := range videoHeaderCases {
		f.Add(tc.body)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := parseVideoHeader(b)
		if ok == (h == videoTracks{}) {
			t.Fatalf("header %v with tracks %v", ok, h)
		}
	})
}

type readWriter struct {
	io.Reader
	io.Writer
}
