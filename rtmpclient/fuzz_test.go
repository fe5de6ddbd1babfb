package rtmpclient

import (
	"bufio"
	"bytes"
	"io"
	"testing"
)

// Fuzz targets for everything Tally parses from the network. Seeds are below
// and in testdata/fuzz; `make fuzz` runs each for a while.

func FuzzChunkReader(f *testing.F) {
	f.Add(mustHex("03 0003e8 000020 08 39300000" + "aa" + "0000000000000000000000000000000000000000000000000000000000000000"[:62]))
	f.Add(mustHex("02 000000 000004 01 00000000 0000ffff"))
	f.Add(mustHex("06 ffffff 0000c8 09 01000000 01020304"))
	f.Add(mustHex("04 000064 000001 08 01000000 aa  84 00000a bb  c4 cc"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr := &transport{}
		tr.cr = newChunkReader(bufio.NewReader(bytes.NewReader(b)), readLimits{maxMessage: 1 << 16, maxStreams: 16})
		for i := 0; i < 1000; i++ {
			m, err := tr.cr.readMessage()
			if err != nil {
				return
			}
			if m.Type == TypeSetChunkSize && len(m.Payload) == 4 {
				_ = tr.cr.setChunkSize(uint32(m.Payload[0])<<24 | uint32(m.Payload[1])<<16 | uint32(m.Payload[2])<<8 | uint32(m.Payload[3]))
			}
			if m.Type == TypeCommandAMF0 || m.Type == TypeCommandAMF3 {
				_, _ = parseCommand(m)
			}
		}
	})
}

func FuzzAMF0(f *testing.F) {
	for _, v := range []any{1.0, "app", nil, Object{{Key: "a", Value: ECMAArray{{Key: "b", Value: []any{true, "x"}}}}}} {
		b, _ := AppendAMF0(nil, v)
		f.Add(b)
	}
	f.Add(mustHex("11 0a 0b 01 03 61 04 05 01"))
	f.Add(mustHex("11 09 05 01 06 07 616263 06 00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		vals, err := DecodeAMF0(b)
		if err != nil {
			return
		}
		// Plain AMF0 values (no references, no AMF3) must survive a round trip.
		if bytes.IndexByte(b, amf0Reference) >= 0 || bytes.IndexByte(b, amf0AVMPlus) >= 0 {
			return
		}
		again, err := AppendAMF0(nil, vals...)
		if err != nil {
			t.Fatalf("decoded %#v but cannot encode it: %v", vals, err)
		}
		if _, err := DecodeAMF0(again); err != nil {
			t.Fatalf("re-encoded values do not decode: %v", err)
		}
	})
}

func FuzzAMF3Command(f *testing.F) {
	f.Add(append([]byte{0}, mustHex("02 0007 5f726573756c74 00 4000000000000000 05 11 0a 0b 01 03 61 04 05 01")...))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeAMF3Command(b)
	})
}

// FuzzClientHandshake feeds a server's S0+S1+S2 to the client side.
func FuzzClientHandshake(f *testing.F) {
	s := make([]byte, 1+2*handshakeSize)
	s[0] = 3
	f.Add(s)
	f.Add([]byte{3, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = clientHandshake(readWriter{bytes.NewReader(b), io.Discard}, true)
	})
}

// FuzzServerHandshake feeds a client's C0+C1+C2 to the server side.
func FuzzServerHandshake(f *testing.F) {
	c := make([]byte, 1+2*handshakeSize)
	c[0] = 3
	f.Add(c)
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = serverHandshake(readWriter{bytes.NewReader(b), io.Discard})
	})
}

type readWriter struct {
	io.Reader
	io.Writer
}
