package rtmpclient

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// scriptedConn is a net.Conn whose peer is a script: reads come from r,
// writes are kept. Handshakes run on it without a socket.
type scriptedConn struct {
	net.Conn // nil: only Read and Write are called
	r        io.Reader
	wrote    bytes.Buffer
}

func (c *scriptedConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *scriptedConn) Write(p []byte) (int, error) { return c.wrote.Write(p) }

func script(parts ...[]byte) *scriptedConn {
	return &scriptedConn{r: bytes.NewReader(bytes.Join(parts, nil))}
}

// rtmpeHelloWith builds a C0+C1 (key playerKey) or S0+S1 (serverKey) carrying
// pub, signed with scheme's digest unless tamper spoils it afterwards.
func rtmpeHelloWith(t testing.TB, pub []byte, scheme int, key []byte, tamper func(p []byte)) []byte {
	t.Helper()
	b := make([]byte, 1+handshakeSize)
	b[0] = rtmpeVersion
	if _, err := rand.Read(b[9:]); err != nil {
		t.Fatal(err)
	}
	rtmpeHello(b[1:], clientC1Version, scheme, pub, key)
	if tamper != nil {
		tamper(b[1:])
	}
	return b
}

func validPub(t testing.TB) []byte {
	t.Helper()
	kp, err := newDHKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	return kp.pub
}

// pub128 is n as a 128-byte public key.
func pub128(n *big.Int) []byte { return n.FillBytes(make([]byte, dhKeySize)) }

// The two ends derive matching keys: what each writes after the handshake,
// the other reads back unchanged, in both directions and in either digest
// scheme of the client's C1.
func TestRTMPEHandshakeGivesBothEndsMatchingRC4Streams(t *testing.T) {
	a, b := tcpPair(t)
	_ = a.SetDeadline(time.Now().Add(10 * time.Second))
	_ = b.SetDeadline(time.Now().Add(10 * time.Second))
	type res struct {
		c   net.Conn
		err error
	}
	srv := make(chan res, 1)
	go func() {
		c, isE, err := acceptSession(b)
		if err == nil && !isE {
			err = errors.New("the server took C0 6 for plain RTMP")
		}
		srv <- res{c, err}
	}()
	cc, err := rtmpeClientHandshake(a)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	s := <-srv
	if s.err != nil {
		t.Fatalf("server: %v", s.err)
	}
	for i, dir := range []struct{ w, r net.Conn }{{cc, s.c}, {s.c, cc}, {cc, s.c}} {
		msg := bytes.Repeat([]byte("rtmpe round trip "), 5000) // past rc4WriteChunk
		sent := bytes.Clone(msg)
		go func() { _, _ = dir.w.Write(msg) }()
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(dir.r, got); err != nil {
			t.Fatalf("round %d: read: %v", i, err)
		}
		if !bytes.Equal(got, sent) {
			t.Fatalf("round %d: the reader decrypted something else than was written", i)
		}
		if !bytes.Equal(msg, sent) {
			t.Fatalf("round %d: Write changed the caller's buffer", i)
		}
	}
}

// A client that signs C1 with either scheme is understood: librtmp and FFmpeg
// use scheme 1, others scheme 0.
func TestRTMPEServerReadsTheKeyOfEitherDigestScheme(t *testing.T) {
	for scheme := 0; scheme < 2; scheme++ {
		c := script(rtmpeHelloWith(t, validPub(t), scheme, playerKey[:playerKeyText], nil), make([]byte, handshakeSize))
		if _, _, err := acceptSession(c); err != nil {
			t.Errorf("scheme %d: %v", scheme, err)
		}
		if got := c.wrote.Bytes(); len(got) != 1+2*handshakeSize || got[0] != rtmpeVersion {
			t.Errorf("scheme %d: answered %d bytes starting %#x, want S0 6, S1 and S2", scheme, len(got), got[:1])
		}
	}
}

func TestRTMPEServerRefusesHostileHandshakesClearly(t *testing.T) {
	p := new(big.Int).Set(dhPrime)
	key := playerKey[:playerKeyText]
	for _, tc := range []struct {
		name  string
		hello []byte
		is    error
		want  string
	}{
		{"bad digest", rtmpeHelloWith(t, validPub(t), 1, key, func(c1 []byte) { c1[digestOffset(c1, 1)] ^= 1 }), ErrBadDigest, "C1"},
		{"unsigned", rtmpeHelloWith(t, validPub(t), 1, []byte("not the player key"), nil), ErrBadDigest, "C1"},
		{"key 0", rtmpeHelloWith(t, pub128(big.NewInt(0)), 1, key, nil), ErrDHKey, "it is 0"},
		{"key 1", rtmpeHelloWith(t, pub128(big.NewInt(1)), 1, key, nil), ErrDHKey, "it is 1"},
		{"key p-1", rtmpeHelloWith(t, pub128(new(big.Int).Sub(p, big.NewInt(1))), 0, key, nil), ErrDHKey, "p-1"},
		{"key p", rtmpeHelloWith(t, pub128(p), 1, key, nil), ErrDHKey, "not below"},
		{"key 2^1024-1", rtmpeHelloWith(t, bytes.Repeat([]byte{0xff}, dhKeySize), 1, key, nil), ErrDHKey, "not below"},
		{"key outside the subgroup", rtmpeHelloWith(t, pub128(new(big.Int).Sub(p, big.NewInt(2))), 1, key, nil), ErrDHKey, "subgroup"},
		{"short C1", append([]byte{rtmpeVersion}, make([]byte, 700)...), io.ErrUnexpectedEOF, "read C1"},
		{"C0 only", []byte{rtmpeVersion}, io.EOF, "read C1"},
		{"unknown version", []byte{9, 1, 2, 3}, ErrHandshake, "version 9"},
	} {
		c := script(tc.hello)
		if len(tc.hello) == 1+handshakeSize {
			c = script(tc.hello, make([]byte, handshakeSize)) // and a C2
		}
		_, _, err := acceptSession(c)
		if !errors.Is(err, tc.is) || !errors.Is(err, ErrHandshake) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %v mentioning %q", tc.name, err, tc.is, tc.want)
		}
		if c.wrote.Len() != 0 {
			t.Errorf("%s: the server answered %d bytes to a handshake it refused", tc.name, c.wrote.Len())
		}
	}
}

// The server's answer is S0+S1 as built and an S2 of zeros, which signs
// nothing: the client refuses a bad S1 before it looks at S2.
func TestRTMPEClientRefusesHostileServersClearly(t *testing.T) {
	key := serverKey[:serverKeyText]
	for _, tc := range []struct {
		name   string
		answer []byte
		is     error
		want   string
	}{
		{"bad S1 digest", rtmpeHelloWith(t, validPub(t), 0, key, func(s1 []byte) { s1[digestOffset(s1, 0)+5] ^= 0x80 }), ErrBadDigest, "S1"},
		{"key 0", rtmpeHelloWith(t, pub128(big.NewInt(0)), 0, key, nil), ErrDHKey, "it is 0"},
		{"key p-1", rtmpeHelloWith(t, pub128(new(big.Int).Sub(dhPrime, big.NewInt(1))), 1, key, nil), ErrDHKey, "p-1"},
		{"key p+1", rtmpeHelloWith(t, pub128(new(big.Int).Add(dhPrime, big.NewInt(1))), 0, key, nil), ErrDHKey, "not below"},
		{"unsigned S2", rtmpeHelloWith(t, validPub(t), 0, key, nil), ErrBadDigest, "S2"},
		{"plain RTMP server", append([]byte{handshakeVersion}, make([]byte, handshakeSize)...), ErrHandshake, "does not offer RTMPE"},
		{"short S1", []byte{rtmpeVersion, 1, 2, 3}, io.ErrUnexpectedEOF, "read S0+S1"},
	} {
		c := script(tc.answer)
		if len(tc.answer) == 1+handshakeSize {
			c = script(tc.answer, make([]byte, handshakeSize)) // and an S2
		}
		_, err := rtmpeClientHandshake(c)
		if !errors.Is(err, tc.is) || !errors.Is(err, ErrHandshake) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %v mentioning %q", tc.name, err, tc.is, tc.want)
		}
	}
}

// wireTap keeps the bytes a client writes on its socket.
type wireTap struct {
	net.Conn
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w wireTap) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(p)
	w.mu.Unlock()
	return w.Conn.Write(p)
}

// recordingSink keeps what a publisher sent the Server.
type recordingSink struct {
	mu   sync.Mutex
	msgs []Message
	done chan struct{}
	once sync.Once
}

func (s *recordingSink) WriteMessage(m Message) error {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
	return nil
}

func (s *recordingSink) Close() error { s.once.Do(func() { close(s.done) }); return nil }

// A Publisher given an rtmpe:// URL publishes to Tally's own server through
// RC4: every frame arrives byte for byte, the Publisher's stats count them as
// over plain RTMP, and the wire shows neither the commands nor the key.
func TestPublisherOverRTMPEToTallysServerDeliversEveryFrame(t *testing.T) {
	sink := &recordingSink{done: make(chan struct{})}
	srv := &Server{OnPublish: func(PublishRequest) (StreamSink, error) { return sink, nil }}
	ep := startTestServer(t, srv)
	ep, err := ParseURL("rtmpe://"+ep.Address()+"/live", testKey)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var wire bytes.Buffer
	opts := Options{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return wireTap{Conn: nc, mu: &mu, buf: &wire}, nil
	}}
	pkts := synthStream(3, 30, true, 4000)
	st := publishAll(t, ep, opts, pkts)
	select {
	case <-sink.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the server never saw the publisher stop")
	}
	if want := uint64(countVideo(pkts)); st.VideoFramesSent != want {
		t.Errorf("stats: %d video frames sent, want %d", st.VideoFramesSent, want)
	}
	var want, got [][]byte
	for _, p := range pkts {
		if p.Type == TypeVideo {
			want = append(want, p.Payload)
		}
	}
	sink.mu.Lock()
	for _, m := range sink.msgs {
		if m.Type == TypeVideo {
			got = append(got, m.Payload)
		}
	}
	sink.mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("the server received %d video messages, sent %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("video message %d differs: %d bytes received, %d sent", i, len(got[i]), len(want[i]))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	w := wire.Bytes()
	if len(w) == 0 || w[0] != rtmpeVersion {
		t.Fatalf("the first byte on the wire is not C0 = 6")
	}
	for _, plain := range []string{"connect", "publish", testKey} {
		if bytes.Contains(w, []byte(plain)) {
			t.Errorf("%q appears in clear on the wire", plain)
		}
	}
}

// The same Server still speaks plain RTMP on the same port.
func TestServerTellsRTMPFromRTMPEByTheFirstByte(t *testing.T) {
	srv := &Server{OnPublish: func(PublishRequest) (StreamSink, error) { return newNopSink(), nil }}
	ep := startTestServer(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, scheme := range []string{"rtmp", "rtmpe", "rtmp"} {
		e := ep
		e.Scheme = scheme
		c, err := Dial(ctx, e, Options{Timeout: 5 * time.Second})
		if err != nil {
			t.Fatalf("%s: %v", scheme, err)
		}
		if _, err := c.createStream(ctx); err != nil {
			t.Errorf("%s: createStream: %v", scheme, err)
		}
		c.Close()
	}
}

func TestParseURLTakesRTMPEOnRTMPsPort(t *testing.T) {
	ep, err := ParseURL("rtmpe://example.com/live", testKey)
	if err != nil {
		t.Fatal(err)
	}
	if ep.Scheme != "rtmpe" || ep.Port != 1935 || ep.TCURL() != "rtmpe://example.com:1935/live" {
		t.Errorf("got scheme %s port %d tcUrl %s", ep.Scheme, ep.Port, ep.TCURL())
	}
}

// FuzzRTMPEServerHandshake feeds a client's C0+C1+C2 to the server side:
// whatever arrives, it ends with a connection or an error, never a panic.
func FuzzRTMPEServerHandshake(f *testing.F) {
	for scheme := 0; scheme < 2; scheme++ {
		f.Add(append(rtmpeHelloWith(f, validPub(f), scheme, playerKey[:playerKeyText], nil), make([]byte, handshakeSize)...))
	}
	f.Add(append(rtmpeHelloWith(f, pub128(big.NewInt(1)), 1, playerKey[:playerKeyText], nil), make([]byte, handshakeSize)...))
	f.Add([]byte{rtmpeVersion, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, _, err := acceptSession(script(b))
		if err == nil && c == nil {
			t.Fatal("no error and no connection")
		}
	})
}

// FuzzRTMPEClientHandshake feeds a server's S0+S1+S2 to the client side.
func FuzzRTMPEClientHandshake(f *testing.F) {
	for scheme := 0; scheme < 2; scheme++ {
		f.Add(append(rtmpeHelloWith(f, validPub(f), scheme, serverKey[:serverKeyText], nil), make([]byte, handshakeSize)...))
	}
	f.Add(append(rtmpeHelloWith(f, pub128(dhPrime), 0, serverKey[:serverKeyText], nil), make([]byte, handshakeSize)...))
	f.Add([]byte{rtmpeVersion, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := rtmpeClientHandshake(script(b))
		if err == nil && c == nil {
			t.Fatal("no error and no connection")
		}
	})
}

// discardConn swallows writes, as fast as memory goes.
type discardConn struct{ net.Conn }

func (discardConn) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkRTMPERC4PerGB is what RC4 adds to each end of an RTMPE stream:
// encrypting a stream's bytes, written in the transport's 64 KiB batches.
// The peer spends the same again decrypting.
func BenchmarkRTMPERC4PerGB(b *testing.B) {
	kp, err := newDHKeyPair()
	if err != nil {
		b.Fatal(err)
	}
	peer, err := newDHKeyPair()
	if err != nil {
		b.Fatal(err)
	}
	y, err := checkDHKey(peer.pub)
	if err != nil {
		b.Fatal(err)
	}
	in, out, err := rtmpeKeys(kp, y, peer.pub)
	if err != nil {
		b.Fatal(err)
	}
	c := newRC4Conn(discardConn{}, in, out)
	buf := make([]byte, ioBufferSize)
	if _, err := rand.Read(buf); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(time.Since(start).Seconds()/(float64(b.N)*float64(len(buf))/1e9), "s/GB")
}

// BenchmarkRTMPEHandshake is the cost of one handshake on the server side
// (a key pair, the check of the client's key, the shared secret).
func BenchmarkRTMPEHandshake(b *testing.B) {
	hello := append(rtmpeHelloWith(b, validPub(b), 1, playerKey[:playerKeyText], nil), make([]byte, handshakeSize)...)
	for b.Loop() {
		if _, _, err := acceptSession(script(hello)); err != nil {
			b.Fatal(err)
		}
	}
}

// RTMPTE is RTMPE inside the RTMPT tunnel: the tunnel carries the RTMPE
// handshake and the RC4 stream as it carries plain RTMP, and the Server's
// tunnel sessions tell RTMPE by C0 as its TCP connections do.
func TestPublisherOverRTMPTEToTallysServerDeliversEveryFrame(t *testing.T) {
	sink := &recordingSink{done: make(chan struct{})}
	srv := &Server{OnPublish: func(PublishRequest) (StreamSink, error) { return sink, nil }}
	ep := startRTMPTServer(t, srv, RTMPTConfig{})
	ep, err := ParseURL("rtmpte://"+ep.Address()+"/live", testKey)
	if err != nil {
		t.Fatal(err)
	}
	pkts := synthStream(2, 30, true, 4000)
	st := publishAll(t, ep, Options{}, pkts)
	select {
	case <-sink.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the server never saw the publisher stop")
	}
	var want, got [][]byte
	for _, p := range pkts {
		if p.Type == TypeVideo {
			want = append(want, p.Payload)
		}
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for _, m := range sink.msgs {
		if m.Type == TypeVideo {
			got = append(got, m.Payload)
		}
	}
	if len(got) != len(want) || st.VideoFramesSent != uint64(len(want)) {
		t.Fatalf("the server received %d video messages, the Publisher sent %d, of %d", len(got), st.VideoFramesSent, len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("video message %d differs", i)
		}
	}
}

func TestParseURLTakesRTMPTEOnRTMPTsPort(t *testing.T) {
	ep, err := ParseURL("rtmpte://example.com/live", testKey)
	if err != nil {
		t.Fatal(err)
	}
	if ep.Scheme != "rtmpte" || ep.Port != 80 {
		t.Errorf("got scheme %s port %d, want rtmpte on 80", ep.Scheme, ep.Port)
	}
}

// FuzzRTMPEPeerKey is the Diffie–Hellman key a peer sends, past the digest
// (which random input would almost never pass, so the whole-handshake
// targets above rarely reach it): every key is accepted only inside
// 1 < y < p-1 and otherwise refused as ErrDHKey, whatever its bytes.
func FuzzRTMPEPeerKey(f *testing.F) {
	f.Add(validPub(f))
	for _, y := range []*big.Int{big.NewInt(0), big.NewInt(1), big.NewInt(2), dhPrimeLess1, dhPrime} {
		f.Add(pub128(y))
	}
	f.Add(bytes.Repeat([]byte{0xff}, dhKeySize))
	f.Fuzz(func(t *testing.T, b []byte) {
		pub := make([]byte, dhKeySize)
		copy(pub[max(dhKeySize-len(b), 0):], b[max(len(b)-dhKeySize, 0):])
		y, err := checkDHKey(pub)
		switch {
		case err == nil && (y.Cmp(big.NewInt(1)) <= 0 || y.Cmp(dhPrimeLess1) >= 0):
			t.Fatalf("accepted the key %x", pub)
		case err != nil && !errors.Is(err, ErrDHKey):
			t.Fatalf("refused %x with %v, not ErrDHKey", pub, err)
		}
	})
}
