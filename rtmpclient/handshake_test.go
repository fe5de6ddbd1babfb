package rtmpclient

import (
	"bytes"
	"crypto/hmac"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func pipeHandshake(t *testing.T, digest bool, tamper func([]byte)) (bool, error) {
	t.Helper()
	c, s := tcpPair(t)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_ = s.SetDeadline(time.Now().Add(5 * time.Second))
	var srv io.ReadWriter = s
	if tamper != nil {
		srv = tamperWriter{s, tamper}
	}
	errc := make(chan error, 1)
	go func() { errc <- serverHandshake(srv) }()
	ok, err := clientHandshake(c, digest)
	if err != nil {
		s.Close()
	}
	<-errc
	return ok, err
}

type tamperWriter struct {
	net.Conn
	fn func([]byte)
}

func (w tamperWriter) Write(p []byte) (int, error) {
	q := append([]byte(nil), p...)
	w.fn(q)
	return w.Conn.Write(q)
}

func TestHandshakeDigestSchemeVerifiesBothWays(t *testing.T) {
	ok, err := pipeHandshake(t, true, nil)
	if err != nil || !ok {
		t.Fatalf("digest handshake: verified=%v err=%v", ok, err)
	}
}

func TestHandshakePlainSchemeEchoes(t *testing.T) {
	ok, err := pipeHandshake(t, false, nil)
	if err != nil || ok {
		t.Fatalf("plain handshake: verified digest=%v err=%v", ok, err)
	}
}

func TestHandshakeRejectsForgedS2(t *testing.T) {
	for _, digest := range []bool{true, false} {
		_, err := pipeHandshake(t, digest, func(p []byte) {
			if len(p) == 1+2*handshakeSize {
				p[len(p)-1] ^= 0xff // corrupt the last byte of S2
			}
		})
		if err == nil || !strings.Contains(err.Error(), "S2 neither echoes C1") {
			t.Errorf("digest=%v: got %v", digest, err)
		}
	}
}

func TestHandshakeRejectsWrongVersion(t *testing.T) {
	_, err := pipeHandshake(t, true, func(p []byte) { p[0] = 6 })
	if err == nil || !strings.Contains(err.Error(), "version 6") {
		t.Fatalf("got %v", err)
	}
}

// The digest offset of scheme 0 is the sum of bytes 8..11 mod 728, plus 12.
func TestDigestOffsetFollowsScheme(t *testing.T) {
	p := make([]byte, handshakeSize)
	p[8], p[9], p[10], p[11] = 200, 200, 200, 200 // 800 % 728 = 72
	if got := digestOffset(p, 0); got != 84 {
		t.Errorf("scheme 0 offset %d, want 84", got)
	}
	p[772], p[773] = 255, 1 // 256
	if got := digestOffset(p, 1); got != 256+776 {
		t.Errorf("scheme 1 offset %d, want %d", got, 256+776)
	}
}

func TestHandshakeGivesUpOnSilentServer(t *testing.T) {
	c, s := tcpPair(t)
	go io.Copy(io.Discard, s) // reads C0+C1, never answers
	_ = c.SetDeadline(time.Now().Add(200 * time.Millisecond))
	start := time.Now()
	_, err := clientHandshake(c, true)
	if err == nil || !strings.Contains(err.Error(), "read S0+S1") {
		t.Fatalf("got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("handshake ignored its deadline")
	}
}

// tcpPair is a connected loopback TCP pair: unlike net.Pipe it buffers, as the
// handshake's overlapping writes need.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		acc <- c
	}()
	client, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-acc
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// The handshake's golden packets. Each one's random part is a fixed pattern, so
// the bytes are the same on every run; FuzzServerHandshake and
// FuzzClientHandshake start from every one of them.

// goldenHello builds C0+C1 or S0+S1: version 3, time 0, the given version field,
// a fixed pattern in place of the random bytes, and, when key is set, a digest
// signed with key at the scheme-0 offset.
func goldenHello(version [4]byte, key []byte) []byte {
	p := make([]byte, 1+handshakeSize)
	p[0] = handshakeVersion
	hello := p[1:]
	copy(hello[4:8], version[:])
	for i := 8; i < handshakeSize; i++ {
		hello[i] = byte(i*7 + 1)
	}
	if key != nil {
		off := digestOffset(hello, 0)
		copy(hello[off:], packetDigest(hello, off, key))
	}
	return p
}

// clientHelloGolden holds the C0+C1 a client may open with, and whether the
// server must answer in the digest scheme.
var clientHelloGolden = []struct {
	name   string
	c0c1   []byte
	digest bool
}{
	{"Tally's C0+C1, signed for the digest scheme", goldenHello(clientC1Version, playerKey[:playerKeyText]), true},
	{"a plain C0+C1 (version field 0)", goldenHello([4]byte{}, nil), false},
	{"a version field but no digest", goldenHello(clientC1Version, nil), false},
}

// serverHelloGolden holds the S0+S1 a server may answer with, and whether the
// client must answer in the digest scheme.
var serverHelloGolden = []struct {
	name   string
	s0s1   []byte
	digest bool
}{
	{"an S0+S1 signed for the digest scheme, as Tally's server sends", goldenHello([4]byte{4, 5, 0, 1}, serverKey[:serverKeyText]), true},
	{"a plain S0+S1", goldenHello([4]byte{}, nil), false},
}

// C0 and the start of C1 as Tally sends them: version 3, time 0, the Flash
// Player 10 version field that asks for the digest scheme, and a digest at the
// scheme-0 offset that verifies with the player key.
func TestClientC0C1GoldenLayout(t *testing.T) {
	c, s := tcpPair(t)
	go func() { _, _ = clientHandshake(c, true) }()
	_ = s.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1+handshakeSize)
	if _, err := io.ReadFull(s, buf); err != nil {
		t.Fatal(err)
	}
	if got, want := buf[:9], clientHelloGolden[0].c0c1[:9]; !bytes.Equal(got, want) {
		t.Fatalf("C0+C1 start % x, want % x", got, want)
	}
	c1 := buf[1:]
	off := digestOffset(c1, 0)
	if !hmac.Equal(c1[off:off+digestSize], packetDigest(c1, off, playerKey[:playerKeyText])) {
		t.Fatal("C1 digest does not verify")
	}
	if findDigest(c1, playerKey[:playerKeyText]) != off {
		t.Fatal("findDigest disagrees with scheme 0")
	}
}

// A signed C1 gets a signed S1 and an S2 carrying the digest answer; any other
// C1 gets the plain scheme, where S2 echoes C1.
func TestServerHandshakeAnswersEachGoldenC1InItsScheme(t *testing.T) {
	for _, tc := range clientHelloGolden {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			in := append(append([]byte(nil), tc.c0c1...), make([]byte, handshakeSize)...) // C2 is not checked
			if err := serverHandshake(readWriter{bytes.NewReader(in), &out}); err != nil {
				t.Fatal(err)
			}
			b := out.Bytes()
			if len(b) != 1+2*handshakeSize || b[0] != handshakeVersion {
				t.Fatalf("S0+S1+S2 of %d bytes, version %d", len(b), b[0])
			}
			c1, s1, s2 := tc.c0c1[1:], b[1:1+handshakeSize], b[1+handshakeSize:]
			if !tc.digest {
				if !bytes.Equal(s2, c1) {
					t.Fatal("plain S2 does not echo C1")
				}
				return
			}
			if findDigest(s1, serverKey[:serverKeyText]) < 0 {
				t.Fatal("S1 carries no server digest")
			}
			off := digestOffset(c1, 0)
			if !hmac.Equal(s2[handshakeSize-digestSize:], responseDigest(s2, c1[off:off+digestSize], serverKey)) {
				t.Fatal("S2 does not answer C1's digest")
			}
		})
	}
}

// A signed S1 gets a C2 carrying the digest answer; a plain one a C2 that echoes
// S1. The S2 given here answers nothing, so the handshake must then fail.
func TestClientHandshakeAnswersEachGoldenS1InItsScheme(t *testing.T) {
	for _, tc := range serverHelloGolden {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			in := append(append([]byte(nil), tc.s0s1...), make([]byte, handshakeSize)...)
			verified, err := clientHandshake(readWriter{bytes.NewReader(in), &out}, true)
			if err == nil || verified || !strings.Contains(err.Error(), "S2 neither echoes C1") {
				t.Fatalf("an S2 of zeros: verified=%v err=%v", verified, err)
			}
			b := out.Bytes()
			if len(b) != 1+2*handshakeSize {
				t.Fatalf("client wrote %d bytes, want C0+C1+C2", len(b))
			}
			s1, c2 := tc.s0s1[1:], b[1+handshakeSize:]
			if !tc.digest {
				if !bytes.Equal(c2, s1) {
					t.Fatal("plain C2 does not echo S1")
				}
				return
			}
			off := digestOffset(s1, 0)
			if !hmac.Equal(c2[handshakeSize-digestSize:], responseDigest(c2, s1[off:off+digestSize], playerKey)) {
				t.Fatal("C2 does not answer S1's digest")
			}
		})
	}
}
