package interop

import (
	"bytes"
	"context"
	"crypto/rc4"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/gortmplib/pkg/handshake"

	"github.com/tallystudio/tally/app"
	"github.com/tallystudio/tally/rtmpclient"
)

// TestGortmplibReadsTallysRTMPEStream proves Tally's RTMPE client against
// gortmplib's server, which takes RTMPE when C0 is 6: the handshake (digests
// and Diffie–Hellman) verifies on gortmplib's side, including C2's digest,
// and the stream it decrypts is every H.264 frame and the AAC.
func TestGortmplibReadsTallysRTMPEStream(t *testing.T) {
	r := publishOver(t, "rtmpe", []app.Rendition{{Width: 640, Height: 360}})
	r.ended(t)
	if r.c0 != 6 {
		t.Fatalf("the handshake began with %d, want 6 (RTMPE)", r.c0)
	}
	if len(r.video) != 1 {
		t.Fatalf("gortmplib's Reader found %d video tracks, want 1", len(r.video))
	}
	if _, ok := r.video[0].codec.(*codecs.H264); !ok {
		t.Fatalf("the video track is %T, want H.264", r.video[0].codec)
	}
	checkAAC(t, r)
	frames := h264Frames(r.video[0].frames)
	checkCount(t, "H.264 over RTMPE", len(frames), 30)
	checkRate(t, "H.264 over RTMPE", frames, 30)
}

// rtmpeBridge is how gortmplib v1.0.1's Client publishes over RTMPE: its
// Client has no RTMPE option (initialize3 calls handshake.DoClient with
// encrypted false), but its handshake package does the client side of
// RTMPE. The bridge runs that against the server, wraps the socket in RC4
// keyed as gortmplib's own rc4ReadWriter is (unexported), and hands the
// Client a pipe whose plain handshake gortmplib's server side answers
// locally. Everything after the handshakes passes through unchanged: the
// server sees gortmplib's RTMPE handshake and then gortmplib's Client's
// messages, encrypted.
type rtmpeBridge struct {
	t    *testing.T
	wg   sync.WaitGroup
	mu   sync.Mutex
	open []net.Conn
}

func (b *rtmpeBridge) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	keyIn, keyOut, err := handshake.DoClient(nc, true, false)
	if err != nil {
		nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	if keyIn == nil {
		nc.Close()
		return nil, errors.New("gortmplib's encrypted handshake gave no keys")
	}
	in, out := rc4Skip(b.t, keyIn), rc4Skip(b.t, keyOut)
	client, local := net.Pipe()
	b.mu.Lock()
	b.open = append(b.open, nc, local, client)
	b.mu.Unlock()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer nc.Close()
		defer local.Close()
		if _, _, err := handshake.DoServer(local, false); err != nil {
			b.t.Errorf("bridge: the Client's plain handshake: %v", err)
			return
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = io.Copy(local, cipherReader{nc, in})
			local.Close()
		}()
		_, _ = io.Copy(cipherWriter{nc, out}, local)
		nc.Close()
		<-done
	}()
	return client, nil
}

func (b *rtmpeBridge) close() {
	b.mu.Lock()
	for _, c := range b.open {
		c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// rc4Skip is gortmplib's newRC4ReadWriter's cipher: RC4 keyed by key, with
// the first 1536 bytes of keystream discarded.
func rc4Skip(t *testing.T, key []byte) *rc4.Cipher {
	c, err := rc4.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	skip := make([]byte, 1536)
	c.XORKeyStream(skip, skip)
	return c
}

type cipherReader struct {
	r io.Reader
	c *rc4.Cipher
}

func (r cipherReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.c.XORKeyStream(p[:n], p[:n])
	return n, err
}

type cipherWriter struct {
	w io.Writer
	c *rc4.Cipher
}

func (w cipherWriter) Write(p []byte) (int, error) {
	buf := make([]byte, len(p))
	w.c.XORKeyStream(buf, p)
	return w.w.Write(buf)
}

// sinkOf keeps what Tally's server received from one publisher.
type sinkOf struct {
	mu     sync.Mutex
	video  [][]byte
	closed chan struct{}
	once   sync.Once
}

func (s *sinkOf) WriteMessage(m rtmpclient.Message) error {
	if m.Type == rtmpclient.TypeVideo {
		s.mu.Lock()
		s.video = append(s.video, m.Payload)
		s.mu.Unlock()
	}
	return nil
}

func (s *sinkOf) Close() error { s.once.Do(func() { close(s.closed) }); return nil }

// TestGortmplibPublishesOverRTMPEToTallysServer proves Tally's RTMPE server
// side against gortmplib's client side: gortmplib's handshake (C0 6, its
// digest scheme and key placement), then its Client's connect and publish
// and its Writer's H.264, which Tally's server decrypts frame for frame.
func TestGortmplibPublishesOverRTMPEToTallysServer(t *testing.T) {
	var req rtmpclient.PublishRequest
	sink := &sinkOf{closed: make(chan struct{})}
	srv := &rtmpclient.Server{OnPublish: func(r rtmpclient.PublishRequest) (rtmpclient.StreamSink, error) {
		req = r
		return sink, nil
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		srv.Close()
		if err := <-served; !errors.Is(err, rtmpclient.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()
	bridge := &rtmpeBridge{t: t}
	defer bridge.close()

	u, err := url.Parse("rtmp://" + ln.Addr().String() + "/live#gortmplib")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := &gortmplib.Client{URL: u, Publish: true, DialContext: bridge.dial}
	if err := c.Initialize(ctx); err != nil {
		t.Fatalf("gortmplib's Client over RTMPE: %v", err)
	}
	track := &gortmplib.Track{Codec: &codecs.H264{}}
	w := &gortmplib.Writer{Conn: c, Tracks: []*gortmplib.Track{track}}
	if err := w.Initialize(); err != nil {
		t.Fatalf("gortmplib's Writer: %v", err)
	}
	const frames = 60
	var sent [][]byte
	for i := range frames {
		idr := append([]byte{0x65, 0x88, byte(i)}, bytes.Repeat([]byte{byte(i)}, 3000+i)...)
		sent = append(sent, idr)
		pts := time.Duration(i) * time.Second / 30
		if err := w.WriteH264(track, pts, pts, [][]byte{idr}); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	c.Close()
	select {
	case <-sink.closed:
	case <-ctx.Done():
		t.Fatal("Tally's server never saw gortmplib's publisher go")
	}
	if req.App != "live" || req.Name.Reveal() != "gortmplib" {
		t.Errorf("publish request for %q/%v, want live/gortmplib", req.App, req.Name)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	// The first message is the AVC sequence header the Writer sends.
	var got [][]byte
	for _, p := range sink.video {
		if len(p) > 9 && p[1] == 1 { // an AVC NALU packet: 5 bytes of header, a 4-byte length
			got = append(got, p[9:])
		}
	}
	if len(got) != frames {
		t.Fatalf("Tally's server received %d H.264 frames of %d messages, want %d", len(got), len(sink.video), frames)
	}
	for i := range sent {
		if !bytes.Equal(got[i], sent[i]) {
			t.Fatalf("frame %d: %d bytes received differ from the %d sent", i, len(got[i]), len(sent[i]))
		}
	}
}
