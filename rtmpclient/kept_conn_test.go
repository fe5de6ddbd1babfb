package rtmpclient

import (
	"context"
	"net"
	"testing"
	"time"
)

// oneConnListener serves the first connection and closes every later one at
// once, as FFmpeg's `ffmpeg -listen 1` takes a single client.
type oneConnListener struct {
	net.Listener
	served bool
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || !l.served {
			l.served = err == nil
			return c, err
		}
		c.Close()
	}
}

// publishesWithKeptConn runs a Publisher given conn until the server,
// which signals on published, has its publish; then stops it cleanly.
func publishesWithKeptConn(t *testing.T, ep Endpoint, conn *ClientConn, published <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := NewPublisher(PublisherConfig{Endpoint: ep, Options: Options{Timeout: 5 * time.Second}, Conn: conn})
	ran := make(chan error, 1)
	go func() { ran <- p.Run(ctx) }()
	select {
	case <-published:
	case err := <-ran:
		cancel()
		t.Fatalf("Run ended before publishing: %v", err)
	case <-time.After(10 * time.Second):
		t.Error("no publish within 10 s")
	}
	cancel()
	if err := <-ran; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func publishSignal() (*Server, <-chan struct{}) {
	published := make(chan struct{}, 4)
	return &Server{OnPublish: func(PublishRequest) (StreamSink, error) {
		published <- struct{}{}
		return newNopSink(), nil
	}}, published
}

// The connection that asked the server what it takes is the one that
// publishes: a server that takes a single connection still gets the stream.
func TestPublisherPublishesOnTheConnectionThatAskedTheServer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, published := publishSignal()
	ep := serveTest(t, srv, &oneConnListener{Listener: ln})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, ep, Options{Timeout: 5 * time.Second, VideoFourCCs: []string{"hvc1"}})
	if err != nil {
		t.Fatal(err)
	}
	if !c.ServerCaps().Stated {
		t.Error("the server stated no capabilities to an Enhanced RTMP connect")
	}
	publishesWithKeptConn(t, ep, c, published)
}

// A kept connection that died before the Publisher ran is replaced by a new
// one, not reported as the destination failing.
func TestPublisherDialsAgainWhenTheKeptConnectionIsGone(t *testing.T) {
	t.Parallel()
	srv, published := publishSignal()
	ep := startTestServer(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, ep, Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	publishesWithKeptConn(t, ep, c, published)
}
