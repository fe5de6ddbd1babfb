package rtmpclient

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// runFed runs p against its server with a live feed, and returns Run's error.
func runFed(t *testing.T, p *Publisher, limit time.Duration) (error, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	feedCtx, stopFeed := context.WithCancel(ctx)
	go func() { defer wg.Done(); liveFeed(feedCtx, p) }()
	start := time.Now()
	err := p.Run(ctx)
	took := time.Since(start)
	stopFeed()
	wg.Wait()
	return err, took
}

// A server that takes the publish (with or without saying
// NetStream.Publish.Start) and then closes the connection is refusing the
// key: on the first connection Run ends at once with a message in a
// streamer's words, the key masked, and no retry, reconnect enabled or not.
func TestPublisherStopsAtOnceWhenTheServerHangsUpOnTheFirstConnection(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start bool // say NetStream.Publish.Start before hanging up
	}{{"silent", false}, {"after Publish.Start", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var conns atomic.Int32
			addr := fakeServer(t, func(nc net.Conn, tr *transport) {
				conns.Add(1)
				if _, ok := answerUntil(tr, "publish"); !ok {
					return
				}
				if tc.start {
					replyCmd(tr, 1, "onStatus", 0, nil, status("status", "NetStream.Publish.Start", ""))
					// Take some media first, as a server checking the key
					// asynchronously does.
					deadline := time.Now().Add(150 * time.Millisecond)
					for time.Now().Before(deadline) {
						if _, err := tr.readMessage(); err != nil {
							return
						}
					}
				}
			})
			p := NewPublisher(PublisherConfig{Endpoint: endpointAt(t, addr), Options: quick,
				Reconnect: ReconnectPolicy{Enabled: true, First: 50 * time.Millisecond, EstablishedAfter: time.Second}})
			err, took := runFed(t, p, 10*time.Second)
			var he *HangUpError
			if !errors.Is(err, ErrHungUp) || !errors.As(err, &he) || !errors.Is(err, ErrUnexpectedClose) {
				t.Fatalf("Run: %v; want a HangUpError wrapping the close", err)
			}
			if n := conns.Load(); n != 1 || took > 3*time.Second {
				t.Errorf("%d connections in %v; want one, and Run ended at once", n, took)
			}
			msg := err.Error()
			for _, want := range []string{"stream key is probably wrong, expired or already in use", "refuses this stream", "127.0.0.1"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
			if strings.Contains(msg, testKey) {
				t.Errorf("message %q shows the key", msg)
			}
			if st := p.Stats(); st.State != StateFailed || st.Reconnects != 0 || st.LastError != msg {
				t.Errorf("stats after the refusal: state %v, %d reconnects, last error %q", st.State, st.Reconnects, st.LastError)
			}
		})
	}
}

// After a healthy stream, connections the server closes before they are
// established count as failures in a row: the attempt number and the wait
// grow across them, and after MaxHangUps the Publisher stops with the
// refusal, even though MaxAttempts is 0 (never give up).
func TestPublisherGivesUpAfterRepeatedHangUpsFollowingAHealthyStream(t *testing.T) {
	var conns atomic.Int32
	addr := fakeServer(t, func(nc net.Conn, tr *transport) {
		first := conns.Add(1) == 1
		if !acceptPublish(tr) {
			return
		}
		if first { // healthy past the holding time, then lost
			deadline := time.Now().Add(600 * time.Millisecond)
			for time.Now().Before(deadline) {
				if _, err := tr.readMessage(); err != nil {
					return
				}
			}
		}
	})
	p := NewPublisher(PublisherConfig{Endpoint: endpointAt(t, addr), Options: quick,
		Reconnect: ReconnectPolicy{Enabled: true, First: 100 * time.Millisecond, Factor: 2, Max: 5 * time.Second,
			EstablishedAfter: 300 * time.Millisecond, MaxHangUps: 3}})

	// Watch the attempts and their waits while it runs.
	var mu sync.Mutex
	waits := map[int]time.Duration{}
	watchCtx, stopWatch := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for watchCtx.Err() == nil {
			if st := p.Stats(); st.State == StateReconnecting && st.Attempt > 0 {
				mu.Lock()
				if _, ok := waits[st.Attempt]; !ok {
					waits[st.Attempt] = time.Until(st.NextRetry)
				}
				mu.Unlock()
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	err, took := runFed(t, p, 20*time.Second)
	stopWatch()
	<-watched

	var he *HangUpError
	if !errors.As(err, &he) || he.Count != 3 {
		t.Fatalf("Run after %v: %v; want the refusal after 3 hang-ups", took, err)
	}
	if n := conns.Load(); n != 4 {
		t.Errorf("%d connections, want 4 (healthy, then 3 hang-ups)", n)
	}
	mu.Lock()
	defer mu.Unlock()
	// Attempt 1 is the healthy connection's loss, 2 and 3 follow hang-ups;
	// the third hang-up ends it. Waits of 100, 200, 400 ms ±20 %.
	if len(waits) != 3 || !(waits[1] < waits[2] && waits[2] < waits[3]) || waits[3] < 250*time.Millisecond {
		t.Errorf("waits by attempt %v; want attempts 1, 2, 3 with growing waits", waits)
	}
	if st := p.Stats(); st.State != StateFailed || st.Reconnects != 3 {
		t.Errorf("state %v after %d reconnects", st.State, st.Reconnects)
	}
}

// An acknowledgement covering media bytes establishes a connection before
// the holding time: a server that acknowledges and then drops the
// connection lost a live stream, which is retried, not a refusal.
func TestPublisherTakesAnAcknowledgementOfMediaAsEstablished(t *testing.T) {
	var conns atomic.Int32
	back := make(chan struct{}, 1)
	addr := fakeServer(t, func(nc net.Conn, tr *transport) {
		if conns.Add(1) > 1 {
			if acceptPublish(tr) {
				back <- struct{}{}
				time.Sleep(time.Second)
			}
			return
		}
		if !acceptPublish(tr) {
			return
		}
		for {
			m, err := tr.readMessage()
			if err != nil {
				return
			}
			if m.Type == TypeVideo && len(m.Payload) > 1 && m.Payload[1] == 1 { // a coded frame
				_ = tr.sendControl(TypeAck, binary.BigEndian.AppendUint32(nil, uint32(tr.bytesIn.Load())))
				time.Sleep(100 * time.Millisecond)
				return
			}
		}
	})
	p := NewPublisher(PublisherConfig{Endpoint: endpointAt(t, addr), Options: quick,
		Reconnect: ReconnectPolicy{Enabled: true, First: 50 * time.Millisecond, EstablishedAfter: time.Hour}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { liveFeed(ctx, p) }()
	go func() { runErr <- p.Run(ctx) }()
	select {
	case <-back:
	case err := <-runErr:
		t.Fatalf("Run ended: %v; want a reconnect after the acknowledged connection was lost", err)
	case <-ctx.Done():
		t.Fatal("no second connection")
	}
	cancel()
	if err := <-runErr; err != nil {
		t.Errorf("Run after a stop: %v", err)
	}
}
