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
	if got := buf[:9]; !bytes.Equal(got, []byte{3, 0, 0, 0, 0, 0x80, 0x00, 0x07, 0x02}) {
		t.Fatalf("C0+C1 start % x", got)
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
