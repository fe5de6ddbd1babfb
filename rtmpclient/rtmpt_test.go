package rtmpclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
)

// countingSink counts what a publisher delivered.
type countingSink struct {
	video, audio atomic.Int64
	closed       chan struct{}
	once         sync.Once
}

func newCountingSink() *countingSink { return &countingSink{closed: make(chan struct{})} }

func (s *countingSink) WriteMessage(m Message) error {
	switch {
	case m.Type == TypeVideo && !isVideoHeader(m.Payload):
		s.video.Add(1)
	case m.Type == TypeAudio:
		s.audio.Add(1)
	}
	return nil
}
func (s *countingSink) Close() error { s.once.Do(func() { close(s.closed) }); return nil }

// startRTMPTServer serves srv over RTMPT on loopback until the test ends and
// returns the rtmpt:// URL of application "live".
func startRTMPTServer(t testing.TB, srv *Server, cfg RTMPTConfig) Endpoint {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeRTMPT(ln, cfg) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("serve rtmpt: %v", err)
		}
	})
	ep, err := ParseURL("rtmpt://"+ln.Addr().String()+"/live", testKey)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func TestRTMPTURLsDefaultToTheWebPorts(t *testing.T) {
	for _, c := range []struct {
		url, scheme string
		port        int
	}{{"rtmpt://example.com/live", "rtmpt", 80}, {"RTMPTS://example.com/live", "rtmpts", 443}, {"rtmpt://example.com:8080/live", "rtmpt", 8080}} {
		ep, err := ParseURL(c.url, testKey)
		if err != nil || ep.Scheme != c.scheme || ep.Port != c.port {
			t.Errorf("%s: got %s port %d (%v), want %s port %d", c.url, ep.Scheme, ep.Port, err, c.scheme, c.port)
		}
	}
}

// The Publisher runs unchanged on the tunnel: every frame arrives, nothing
// is dropped, and its stats count the bytes as over TCP.
func TestPublisherPublishesThroughTheRTMPTTunnel(t *testing.T) {
	sink := newCountingSink()
	srv := &Server{OnPublish: func(PublishRequest) (StreamSink, error) { return sink, nil }}
	ep := startRTMPTServer(t, srv, RTMPTConfig{})
	pkts := fixturePackets(t, peers.FixtureFLV(t, 4))
	st := publishAll(t, ep, Options{Timeout: 5 * time.Second}, pkts)
	select {
	case <-sink.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the server never saw the publish end")
	}
	want := countVideo(pkts)
	if got := sink.video.Load(); got != int64(want) {
		t.Errorf("server received %d video frames, sent %d", got, want)
	}
	if st.VideoFramesSent != uint64(want) || st.DroppedVideo != 0 || st.BytesSent < 100_000 {
		t.Errorf("stats: %+v", st)
	}
}

// rtmpts is the same tunnel in HTTPS.
func TestPublisherPublishesThroughRTMPTSOverHTTPS(t *testing.T) {
	sink := newCountingSink()
	srv := &Server{OnPublish: func(PublishRequest) (StreamSink, error) { return sink, nil }}
	h := NewRTMPTHandler(tunnelAddr("test"), RTMPTConfig{})
	hs := httptest.NewTLSServer(h)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(h) }()
	defer func() { srv.Close(); hs.Close(); <-done }()
	ep, err := ParseURL("rtmpts://"+hs.Listener.Addr().String()+"/live", testKey)
	if err != nil {
		t.Fatal(err)
	}
	pkts := fixturePackets(t, peers.FixtureFLV(t, 4))
	st := publishAll(t, ep, Options{Timeout: 5 * time.Second, InsecureSkipVerify: true}, pkts)
	<-sink.closed
	if got := sink.video.Load(); got != int64(countVideo(pkts)) || st.DroppedVideo != 0 {
		t.Errorf("server received %d video frames of %d; stats %+v", got, countVideo(pkts), st)
	}
	// Without the flag the test certificate is refused, as for rtmps.
	if _, err := Dial(context.Background(), ep, Options{Timeout: 5 * time.Second}); !errors.Is(err, ErrCertificate) {
		t.Errorf("untrusted certificate: got %v, want ErrCertificate", err)
	}
}

// A player gets a live stream through the tunnel too: reads come from the
// answers to its polls.
func TestPlayerPlaysThroughTheRTMPTTunnel(t *testing.T) {
	srv := &Server{OnPublish: func(PublishRequest) (StreamSink, error) { return newNopSink(), nil }}
	ep := startRTMPTServer(t, srv, RTMPTConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pub, id, err := dialStream(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := publishOn(ctx, pub, id, testKey); err != nil {
		t.Fatal(err)
	}
	player, err := Dial(ctx, ep, Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer player.Close()
	if _, err := player.Play(ctx, testKey); err != nil {
		t.Fatal(err)
	}
	go func() {
		for i := 0; ctx.Err() == nil; i++ {
			p := make([]byte, 5000)
			p[0] = 0x27 // an AVC inter frame
			if pub.t.send(csidVideo, &Message{Type: TypeVideo, StreamID: id, Timestamp: uint32(i * 33), Payload: p}) != nil {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	got := 0
	for got < 50 {
		select {
		case m, ok := <-player.Media():
			if !ok {
				t.Fatalf("player ended after %d frames: %v", got, player.Err())
			}
			if m.Type == TypeVideo && len(m.Payload) == 5000 {
				got++
			}
		case <-ctx.Done():
			t.Fatalf("player got %d frames", got)
		}
	}
}

// rtmptPost makes one tunnel request to a handler under test.
func rtmptPost(t testing.TB, base, path string, body []byte) (int, []byte) {
	t.Helper()
	resp, err := http.Post(base+path, tunnelContentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// bareHandler serves a handler whose tunnels are accepted and handed to
// onConn (or left alone when nil) instead of an RTMP server.
func bareHandler(t testing.TB, cfg RTMPTConfig, onConn func(net.Conn)) (*RTMPTHandler, string) {
	t.Helper()
	h := NewRTMPTHandler(tunnelAddr("test"), cfg)
	hs := httptest.NewServer(h)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := h.Accept()
			if err != nil {
				return
			}
			if onConn != nil {
				wg.Go(func() { onConn(c) })
			}
		}
	})
	// The handler closes first: that ends requests waiting on sessions,
	// which hs.Close would otherwise wait for.
	t.Cleanup(func() { h.Close(); hs.Close(); wg.Wait() })
	return h, hs.URL
}

func openSession(t testing.TB, base string) string {
	t.Helper()
	code, b := rtmptPost(t, base, "/open/1", []byte{0})
	id := strings.TrimSpace(string(b))
	if code != 200 || !validSessionID(id) {
		t.Fatalf("open: %d %q", code, b)
	}
	return id
}

func TestRTMPTSessionIDsAreLongAndDistinct(t *testing.T) {
	_, base := bareHandler(t, RTMPTConfig{}, nil)
	seen := map[string]bool{}
	for range 20 {
		id := openSession(t, base)
		if len(id) < 32 || seen[id] {
			t.Fatalf("session ID %q is short or repeated", id)
		}
		seen[id] = true
	}
}

// Every answer starts with the polling interval: 1 while data flows, growing
// while the session is idle, back to 1 when data comes.
func TestRTMPTPollingIntervalGrowsWhileIdleAndResetsOnData(t *testing.T) {
	_, base := bareHandler(t, RTMPTConfig{}, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	id := openSession(t, base)
	var got []byte
	seq := 0
	post := func(cmd string, body []byte) {
		code, b := rtmptPost(t, base, "/"+cmd+"/"+id+"/"+strconv.Itoa(seq), body)
		seq++
		if code != 200 || len(b) < 1 {
			t.Fatalf("%s: %d %q", cmd, code, b)
		}
		got = append(got, b[0])
	}
	for range 7 {
		post("idle", []byte{0})
	}
	post("send", []byte("rtmp bytes"))
	post("idle", []byte{0})
	want := []byte{0x03, 0x05, 0x09, 0x11, 0x21, 0x21, 0x21, 0x01, 0x03}
	if !bytes.Equal(got, want) {
		t.Errorf("intervals %x, want %x", got, want)
	}
}

// Sequence numbers must grow by one: a jump (lost bytes) or a replay ends
// the session with a 404 saying so, at once.
func TestRTMPTSequenceJumpOrReplayEndsTheSessionClearly(t *testing.T) {
	h, base := bareHandler(t, RTMPTConfig{}, nil)
	for _, c := range []struct {
		name string
		seqs []int
	}{{"jump", []int{0, 1, 5}}, {"replay", []int{1, 2, 2}}, {"first too high", []int{7}}} {
		id := openSession(t, base)
		for i, seq := range c.seqs {
			start := time.Now()
			code, b := rtmptPost(t, base, "/idle/"+id+"/"+strconv.Itoa(seq), []byte{0})
			last := i == len(c.seqs)-1
			if !last && code != 200 {
				t.Fatalf("%s: request %d: %d %s", c.name, seq, code, b)
			}
			if last {
				if code != 404 || !strings.Contains(string(b), "sequence number") || time.Since(start) > time.Second {
					t.Errorf("%s: got %d %q, want a prompt 404 about the sequence number", c.name, code, b)
				}
				if code, _ := rtmptPost(t, base, "/idle/"+id+"/"+strconv.Itoa(seq+1), []byte{0}); code != 404 {
					t.Errorf("%s: the session lives on after the error (%d)", c.name, code)
				}
			}
		}
	}
	if n := h.Sessions(); n != 0 {
		t.Errorf("%d sessions left", n)
	}
}

func TestRTMPTRefusesGarbageRequests(t *testing.T) {
	_, base := bareHandler(t, RTMPTConfig{}, nil)
	id := openSession(t, base)
	for _, path := range []string{"/", "/open/2", "/send", "/send/" + id, "/send/" + id + "/x",
		"/send/" + id + "/-1", "/send/" + id + "/0/1", "/idle/no$such/0", "/idle/unknownsession/0",
		"/fcs/ident2", "/" + strings.Repeat("a", 5000)} {
		if code, b := rtmptPost(t, base, path, []byte{0}); code != 404 {
			t.Errorf("%.60s: %d %q, want 404", path, code, b)
		}
	}
	resp, err := http.Get(base + "/open/1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", resp.StatusCode)
	}
}

// A body over the limit is refused and ends the session; memory held is the
// session's buffer, never the body.
func TestRTMPTRefusesOversizeBodies(t *testing.T) {
	h, base := bareHandler(t, RTMPTConfig{MaxBody: 64 << 10}, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	id := openSession(t, base)
	code, b := rtmptPost(t, base, "/send/"+id+"/0", make([]byte, 1<<20))
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "over 65536 bytes") {
		t.Errorf("got %d %q, want 413 naming the limit", code, b)
	}
	if h.Sessions() != 0 {
		t.Error("the session survived an oversize body")
	}
}

// Whatever the client sends, the server holds at most SessionBuffer of it
// while RTMP does not read: the request waits (the client's own timeout ends
// it) instead of the server buffering it all.
func TestRTMPTBuffersAtMostTheSessionLimitWhenRTMPDoesNotRead(t *testing.T) {
	const limit = 64 << 10
	conns := make(chan net.Conn, 1)
	h, base := bareHandler(t, RTMPTConfig{SessionBuffer: limit, IdleTimeout: time.Second}, func(c net.Conn) { conns <- c })
	id := openSession(t, base)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/send/"+id+"/0", bytes.NewReader(make([]byte, 4<<20)))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("a 4 MiB send to a session nobody reads answered %s", resp.Status)
	}
	c := (<-conns).(*tunnelConn)
	if n, _, _ := c.in.state(); n > limit {
		t.Errorf("the session holds %d bytes, over its %d limit", n, limit)
	}
	_ = h
}

// A client that opens a session and never polls is reaped: it holds no slot.
func TestRTMPTReapsAClientThatNeverPolls(t *testing.T) {
	ended := make(chan error, 1)
	h, base := bareHandler(t, RTMPTConfig{IdleTimeout: 200 * time.Millisecond}, func(c net.Conn) {
		_, err := c.Read(make([]byte, 1))
		ended <- err
	})
	openSession(t, base)
	select {
	case err := <-ended:
		if !errors.Is(err, io.EOF) {
			t.Errorf("the RTMP side read %v, want EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the idle session was never reaped")
	}
	if h.Sessions() != 0 {
		t.Errorf("%d sessions after the reap", h.Sessions())
	}
}

func TestRTMPTCapsSessions(t *testing.T) {
	_, base := bareHandler(t, RTMPTConfig{MaxSessions: 2}, nil)
	openSession(t, base)
	openSession(t, base)
	if code, b := rtmptPost(t, base, "/open/1", []byte{0}); code != http.StatusServiceUnavailable {
		t.Errorf("third open: %d %q, want 503", code, b)
	}
}

// fakeTunnelServer answers every request with handle.
func fakeTunnelServer(t *testing.T, handle http.HandlerFunc) Endpoint {
	t.Helper()
	hs := httptest.NewServer(handle)
	t.Cleanup(hs.Close)
	ep, err := ParseURL("rtmpt://"+hs.Listener.Addr().String()+"/live", testKey)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func TestRTMPTClientRefusesAWebPageClearly(t *testing.T) {
	ep := fakeTunnelServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html>captive portal</html>")
	})
	_, err := Dial(context.Background(), ep, Options{Timeout: 5 * time.Second})
	if !errors.Is(err, ErrTunnel) || !strings.Contains(err.Error(), "text/html") || strings.Contains(err.Error(), testKey) {
		t.Fatalf("got %v, want a tunnel error naming text/html", err)
	}
}

func TestRTMPTClientFailsClearlyOnGarbageAnswers(t *testing.T) {
	for _, c := range []struct {
		name  string
		open  string
		after func(w http.ResponseWriter)
		want  string
	}{
		{"bad session ID", "not/an id\n", nil, "not a session ID"},
		{"no interval byte", "s1\n", func(w http.ResponseWriter) {}, "polling-interval"},
		{"server error", "s1\n", func(w http.ResponseWriter) { w.WriteHeader(500) }, "500"},
		{"garbage RTMP", "s1\n", func(w http.ResponseWriter) { _, _ = w.Write(bytes.Repeat([]byte{1, 0xff}, 2000)) }, "handshake"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ep := fakeTunnelServer(t, func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", tunnelContentType)
				switch {
				case r.URL.Path == "/open/1":
					_, _ = io.WriteString(w, c.open)
				case strings.HasPrefix(r.URL.Path, "/fcs/"):
					http.NotFound(w, r)
				default:
					c.after(w)
				}
			})
			start := time.Now()
			_, err := Dial(context.Background(), ep, Options{Timeout: 3 * time.Second})
			if err == nil || !strings.Contains(err.Error(), c.want) || time.Since(start) > 4*time.Second {
				t.Fatalf("got %v after %v, want an error about %q", err, time.Since(start), c.want)
			}
		})
	}
}

// A server that takes the request and never answers is bounded by the
// dial's timeout, with the usual "did not answer in time".
func TestRTMPTServerThatNeverAnswersTimesOut(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	ep := fakeTunnelServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	start := time.Now()
	_, err := Dial(context.Background(), ep, Options{Timeout: 500 * time.Millisecond})
	if err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("got %v after %v", err, time.Since(start))
	}
}

// A server that answers open and then goes silent mid-stream fails the
// connection within the timeout, and Publisher writes do not hang.
func TestRTMPTServerGoingSilentFailsTheConnection(t *testing.T) {
	var silent atomic.Bool
	release := make(chan struct{})
	srv := &Server{OnPublish: func(PublishRequest) (StreamSink, error) { return newNopSink(), nil }}
	h := NewRTMPTHandler(tunnelAddr("test"), RTMPTConfig{})
	go func() { _ = srv.Serve(h) }()
	defer srv.Close()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if silent.Load() {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer hs.Close()
	defer close(release) // before hs.Close, which waits for the silent handlers
	ep, _ := ParseURL("rtmpt://"+hs.Listener.Addr().String()+"/live", testKey)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, ep, Options{Timeout: 500 * time.Millisecond, WriteTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	silent.Store(true)
	select {
	case <-c.Done():
		if !errors.Is(c.Err(), os.ErrDeadlineExceeded) {
			t.Errorf("ended with %v, want a timeout", c.Err())
		}
	case <-ctx.Done():
		t.Fatal("the connection outlived a silent server")
	}
}

// FuzzRTMPTRequest feeds the server hostile paths and bodies, on a live
// session and off it: it must answer every one without panicking or
// hanging, and never hold more than its buffers.
func FuzzRTMPTRequest(f *testing.F) {
	for _, s := range []string{"/open/1", "/fcs/ident2", "/send/ID/0", "/idle/ID/1", "/close/ID/2", "/close/ID",
		"/send/ID/18446744073709551615", "/send/ID/99999999999999999999", "/send//0", "/send/ID/0/0", "/idle/../0",
		"//", "/send/ID/+1", "/send/ID/0x10", "/SEND/ID/0"} {
		f.Add(s, []byte{0})
		f.Add(s, []byte("\x03 rtmp handshake"))
	}
	f.Fuzz(func(t *testing.T, path string, body []byte) {
		if len(body) > 1<<16 {
			return
		}
		if r, err := parseTunnelPath(path); err == nil {
			if r.cmd != tunnelIdent && r.cmd != tunnelOpen && !validSessionID(r.id) {
				t.Fatalf("%q parsed with a bad session ID %q", path, r.id)
			}
		}
		h := NewRTMPTHandler(tunnelAddr("fuzz"), RTMPTConfig{SessionBuffer: 4096, MaxBody: 8192})
		defer h.Close()
		go func() {
			for {
				c, err := h.Accept()
				if err != nil {
					return
				}
				go func() { _, _ = io.Copy(io.Discard, c) }()
			}
		}()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/open/1", bytes.NewReader([]byte{0})))
		id := strings.TrimSpace(rec.Body.String())
		u := strings.ReplaceAll(path, "ID", id)
		req, err := http.NewRequest(http.MethodPost, "http://fuzz.invalid/", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Path = u
		rec = httptest.NewRecorder()
		done := make(chan struct{})
		go func() { h.ServeHTTP(rec, req); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%q hangs", u)
		}
		if rec.Code == 200 && (rec.Body.Len() < 1 || rec.Body.Len() > 4096+64) {
			t.Fatalf("%q answered %d bytes", u, rec.Body.Len())
		}
	})
}

// rtmptSinkServer is sinkServer's tunnel: an RTMPT server on loopback whose
// sessions complete the publish and discard the media.
func rtmptSinkServer(tb testing.TB) Endpoint {
	h := NewRTMPTHandler(tunnelAddr("bench"), RTMPTConfig{})
	hs := httptest.NewServer(h)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			nc, err := h.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer nc.Close()
				if serverHandshake(nc) != nil {
					return
				}
				tr := newTransport(nc, defaultReadLimits)
				if acceptPublish(tr) {
					_, _ = io.Copy(io.Discard, tr.br)
				}
			})
		}
	})
	tb.Cleanup(func() { hs.Close(); h.Close(); wg.Wait() })
	ep, err := ParseURL("rtmpt://"+hs.Listener.Addr().String()+"/live", testKey)
	if err != nil {
		tb.Fatal(err)
	}
	return ep
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRTMPTPublishLoopback is BenchmarkPublisherLoopback's send path
// (6 Mb/s-sized frames, as fast as the link takes them) over RTMPT, with
// plain RTMP beside it: throughput, and CPU seconds per GB for both ends
// (client and server run in this process).
func BenchmarkRTMPTPublishLoopback(b *testing.B) {
	for _, c := range []struct {
		name string
		ep   func(testing.TB) Endpoint
	}{{"rtmp", sinkServer}, {"rtmpt", rtmptSinkServer}} {
		b.Run(c.name, func(b *testing.B) {
			ep := c.ep(b)
			pkts := synthStream(60, 60, true, 6_000_000/8/30)
			var bytes int64
			for _, p := range pkts {
				bytes += int64(len(p.Payload))
			}
			b.SetBytes(bytes)
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				st := publishAll(b, ep, Options{}, pkts)
				if st.DroppedVideo != 0 {
					b.Fatalf("dropped %d frames", st.DroppedVideo)
				}
			}
			b.ReportMetric((cpuTime()-cpu).Seconds()/(float64(bytes)*float64(b.N)/1e9), "cpu-s/GB")
		})
	}
}

// FFmpeg's rtmpt:// client, written elsewhere, publishes through the tunnel
// into the Server and plays the stream back through it.
func TestFFmpegPublishesAndPlaysOverRTMPT(t *testing.T) {
	ffmpeg := peers.Require(t, "ffmpeg")
	sink := newCountingSink()
	srv := &Server{OnPublish: func(PublishRequest) (StreamSink, error) { return sink, nil }}
	ep := startRTMPTServer(t, srv, RTMPTConfig{})
	url := "rtmpt://" + ep.Address() + "/live/" + testKey
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pub := exec.CommandContext(ctx, ffmpeg, "-v", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", "5", "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac",
		"-f", "flv", url)
	var pubErr bytes.Buffer
	pub.Stderr = &pubErr
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	pubDone := make(chan error, 1)
	go func() { pubDone <- pub.Wait() }()
	// Play once the stream is live, through the tunnel too.
	deadline := time.Now().Add(10 * time.Second)
	for sink.video.Load() < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("no video arrived from FFmpeg's rtmpt publish: %s", pubErr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	out := filepath.Join(t.TempDir(), "played.flv")
	play, err := exec.CommandContext(ctx, ffmpeg, "-v", "error", "-i", url, "-t", "2", "-c", "copy", "-f", "flv", out).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg play over rtmpt: %v\n%s", err, play)
	}
	if err := <-pubDone; err != nil {
		t.Fatalf("ffmpeg publish over rtmpt: %v\n%s", err, pubErr.String())
	}
	<-sink.closed
	if v := sink.video.Load(); v < 140 {
		t.Errorf("server received %d video frames of 5 s at 30 fps", v)
	}
	pr := peers.ProbeFile(t, out)
	if v := pr.Stream("video"); v == nil || v.Frames() < 30 || v.Width != 640 {
		t.Errorf("played back: %+v", pr.Streams)
	}
}
