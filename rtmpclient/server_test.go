package rtmpclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// nopSink accepts everything and reports its Close on closed.
type nopSink struct {
	once   sync.Once
	closed chan struct{}
}

func newNopSink() *nopSink                    { return &nopSink{closed: make(chan struct{})} }
func (s *nopSink) WriteMessage(Message) error { return nil }
func (s *nopSink) Close() error               { s.once.Do(func() { close(s.closed) }); return nil }

// startTestServer serves srv on a loopback port until the test ends and returns
// the URL of application "live".
func startTestServer(t *testing.T, srv *Server) Endpoint {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	ep, err := ParseURL("rtmp://"+ln.Addr().String()+"/live", testKey)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// dialStream connects and creates a message stream, everything a publisher
// does before the publish command itself.
func dialStream(ctx context.Context, ep Endpoint) (*ClientConn, uint32, error) {
	c, err := Dial(ctx, ep, Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, 0, err
	}
	id, err := c.createStream(ctx)
	if err != nil {
		c.Close()
		return nil, 0, err
	}
	return c, id, nil
}

// publishOn sends publish and returns the server's verdict: nil on
// NetStream.Publish.Start, a *StatusError on a refusal.
func publishOn(ctx context.Context, c *ClientConn, streamID uint32, name string) error {
	if err := c.sendCommand(streamID, "publish", 0, nil, name, "live"); err != nil {
		return fmt.Errorf("send publish: %w", err)
	}
	_, err := c.waitStatus(ctx, "publish", "NetStream.Publish.Start")
	return err
}

func isBadName(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == "NetStream.Publish.BadName"
}

// Two publishers of one name arriving together: one gets the name, the other is
// told it is taken. The OnPublish delay stands for what a real sink does first
// (the ingest creates a recording file); it is the window in which a check made
// apart from the claim lets both through.
func TestServerGivesANameToOnlyOneOfTwoSimultaneousPublishers(t *testing.T) {
	srv := &Server{OnPublish: func(PublishRequest) (StreamSink, error) {
		time.Sleep(2 * time.Millisecond)
		return newNopSink(), nil
	}}
	ep := startTestServer(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	const iterations = 40
	for i := range iterations {
		name := fmt.Sprintf("race-%d", i)
		var conns [2]*ClientConn
		var ids [2]uint32
		for j := range conns {
			c, id, err := dialStream(ctx, ep)
			if err != nil {
				t.Fatalf("iteration %d: %v", i, err)
			}
			conns[j], ids[j] = c, id
		}
		barrier := make(chan struct{})
		var results [2]error
		var wg sync.WaitGroup
		for j := range conns {
			wg.Go(func() {
				<-barrier
				results[j] = publishOn(ctx, conns[j], ids[j], name)
			})
		}
		close(barrier)
		wg.Wait()
		started, refused := 0, 0
		for _, err := range results {
			switch {
			case err == nil:
				started++
			case isBadName(err):
				refused++
			default:
				t.Fatalf("iteration %d: publish: %v", i, err)
			}
		}
		for _, c := range conns {
			c.Close()
		}
		if started != 1 || refused != 1 {
			t.Fatalf("iteration %d: %d publishers started and %d were refused, want 1 and 1", i, started, refused)
		}
	}
}

// A publisher that ends must not free a name another publisher now holds: the
// name would then be given out twice and players could not find the live one.
// OnPublish is held for each caller so that the second publisher's publish is
// handled while the first one's is still being accepted, deterministically.
func TestServerFirstPublisherEndingKeepsLaterPublishersName(t *testing.T) {
	type call struct {
		gate chan struct{}
		sink *nopSink
	}
	calls := make(chan call)
	srv := &Server{OnPublish: func(PublishRequest) (StreamSink, error) {
		c := call{gate: make(chan struct{}), sink: newNopSink()}
		calls <- c
		<-c.gate
		return c.sink, nil
	}}
	ep := startTestServer(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const name = "shared"

	first, firstID, err := dialStream(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, secondID, err := dialStream(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()

	firstRes := make(chan error, 1)
	go func() { firstRes <- publishOn(ctx, first, firstID, name) }()
	firstCall := <-calls

	secondRes := make(chan error, 1)
	go func() { secondRes <- publishOn(ctx, second, secondID, name) }()
	var secondErr error
	select {
	case secondCall := <-calls:
		// The server let the second publisher through while the first was being
		// accepted; let the first finish, then the second, so the second's claim
		// is the later one.
		close(firstCall.gate)
		if err := <-firstRes; err != nil {
			t.Fatalf("first publish: %v", err)
		}
		close(secondCall.gate)
		secondErr = <-secondRes
	case secondErr = <-secondRes:
		close(firstCall.gate)
		if err := <-firstRes; err != nil {
			t.Fatalf("first publish: %v", err)
		}
	}
	if secondErr != nil && !isBadName(secondErr) {
		t.Fatalf("second publish: %v", secondErr)
	}

	first.Close()
	select {
	case <-firstCall.sink.closed:
	case <-ctx.Done():
		t.Fatal("the server never ended the first publisher's stream")
	}

	if secondErr != nil {
		// Refused while the name was taken, the second publisher may have it now.
		go func() {
			c := <-calls
			close(c.gate)
		}()
		if err := publishOn(ctx, second, secondID, name); err != nil {
			t.Fatalf("second publish after the first ended: %v", err)
		}
	}

	third, thirdID, err := dialStream(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	go func() {
		// Only reached when the server wrongly lets the third publisher in.
		select {
		case c := <-calls:
			close(c.gate)
		case <-ctx.Done():
		}
	}()
	if err := publishOn(ctx, third, thirdID, name); !isBadName(err) {
		t.Errorf("a third publisher of the name got %v while the second is live, want BadName", err)
	}

	player, err := Dial(ctx, ep, Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer player.Close()
	if _, err := player.Play(ctx, name); err != nil {
		t.Errorf("playing the second publisher's stream: %v", err)
	}
}
