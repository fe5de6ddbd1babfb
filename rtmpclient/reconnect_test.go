package rtmpclient

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// liveFeed writes a 30 fps stream with a keyframe every 10 frames, plus audio,
// until ctx ends, in real time (compressed 2×, to keep the test short).
func liveFeed(ctx context.Context, p *Publisher) {
	p.Write(Packet{Type: TypeVideo, Header: true, Payload: []byte{0x17, 0, 0, 0, 0, 1, 2, 3}})
	p.Write(Packet{Type: TypeAudio, Header: true, Payload: []byte{0xaf, 0, 0x11, 0x90}})
	t := time.NewTicker(33 * time.Millisecond / 2)
	defer t.Stop()
	for n := int64(0); ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		key := n%10 == 0
		b := byte(0x27)
		if key {
			b = 0x17
		}
		p.Write(Packet{Type: TypeVideo, DTS: n * 33, Keyframe: key, Payload: []byte{b, 1, 0, 0, 0, byte(n)}})
		p.Write(Packet{Type: TypeAudio, DTS: n * 33, Payload: []byte{0xaf, 1, byte(n)}})
	}
}

// After the server drops a live connection, the Publisher says "reconnecting"
// with the attempt and the time of the next try, comes back with the full
// publish sequence, sends the sequence headers again, resumes video at a
// keyframe, asks for a keyframe, and keeps timestamps moving forward.
func TestPublisherReconnectsAndResumesAtKeyframe(t *testing.T) {
	var conns atomic.Int32
	type seen struct {
		headers   int
		firstKind byte // first non-header video frame's FLV frame type
		firstDTS  uint32
	}
	second := make(chan seen, 1)
	addr := fakeServer(t, func(nc net.Conn, tr *transport) {
		n := conns.Add(1)
		if !acceptPublish(tr) {
			return
		}
		if n == 1 { // live for a moment, then the server goes away
			deadline := time.Now().Add(400 * time.Millisecond)
			for time.Now().Before(deadline) {
				if _, err := tr.readMessage(); err != nil {
					return
				}
			}
			nc.Close()
			return
		}
		var s seen
		for {
			m, err := tr.readMessage()
			if err != nil {
				return
			}
			if m.Type != TypeVideo || len(m.Payload) < 2 {
				continue
			}
			if m.Payload[1] == 0 { // AVC sequence header
				s.headers++
				continue
			}
			s.firstKind, s.firstDTS = m.Payload[0]>>4, m.Timestamp
			second <- s
			return
		}
	})
	var keyframes atomic.Int32
	p := NewPublisher(PublisherConfig{Endpoint: endpointAt(t, addr),
		Reconnect:   ReconnectPolicy{Enabled: true, First: 300 * time.Millisecond, EstablishedAfter: 200 * time.Millisecond},
		OnReconnect: func() { keyframes.Add(1) }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); liveFeed(ctx, p) }()
	runErr := make(chan error, 1)
	go func() { defer wg.Done(); runErr <- p.Run(ctx) }()

	deadline := time.Now().Add(5 * time.Second)
	for p.Stats().State != StateReconnecting {
		if time.Now().After(deadline) {
			t.Fatalf("never reconnecting; state %v", p.Stats().State)
		}
		time.Sleep(5 * time.Millisecond)
	}
	st := p.Stats()
	if st.Attempt != 1 || time.Until(st.NextRetry) > 400*time.Millisecond || st.LastError == "" {
		t.Errorf("while reconnecting: attempt %d, next retry in %v, last error %q", st.Attempt, time.Until(st.NextRetry), st.LastError)
	}
	var s seen
	select {
	case s = <-second:
	case <-time.After(5 * time.Second):
		t.Fatal("no video on the second connection")
	}
	if s.headers < 1 || s.firstKind != 1 {
		t.Errorf("second connection: %d sequence headers, first frame of type %d; want the header again and a keyframe (1)", s.headers, s.firstKind)
	}
	if s.firstDTS < 400/2 {
		t.Errorf("timestamps went back: first frame after the outage at %d ms", s.firstDTS)
	}
	if keyframes.Load() != 1 || p.Stats().Reconnects != 1 {
		t.Errorf("OnReconnect called %d times, %d reconnects", keyframes.Load(), p.Stats().Reconnects)
	}
	cancel()
	wg.Wait()
	if err := <-runErr; err != nil {
		t.Errorf("Run after a stop: %v", err)
	}
}

// A key that stays refused stops the retries with the server's reason, once
// the server can no longer be holding the dead connection's name; a first
// connection that never worked is not retried at all.
func TestPublisherDoesNotRetryWhatCannotHeal(t *testing.T) {
	var conns atomic.Int32
	addr := fakeServer(t, func(nc net.Conn, tr *transport) {
		n := conns.Add(1)
		if n == 1 {
			if acceptPublish(tr) {
				time.Sleep(200 * time.Millisecond)
				nc.Close()
			}
			return
		}
		if _, ok := answerUntil(tr, "publish"); ok {
			replyCmd(tr, 1, "onStatus", 0, nil, status("error", "NetStream.Publish.BadName", "Stream key is not valid."))
			time.Sleep(100 * time.Millisecond)
		}
	})
	p := NewPublisher(PublisherConfig{Endpoint: endpointAt(t, addr), Reconnect: ReconnectPolicy{Enabled: true,
		First: 50 * time.Millisecond, Max: 100 * time.Millisecond, NameHeldFor: 500 * time.Millisecond,
		EstablishedAfter: 100 * time.Millisecond}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	err := p.Run(ctx)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != "NetStream.Publish.BadName" {
		t.Fatalf("Run: %v, want the BadName refusal", err)
	}
	// Retried while the name may be the old connection's, then final: the
	// refusal ends Run long before the 10 s context would.
	if n := conns.Load(); n < 3 || time.Since(start) > 3*time.Second {
		t.Errorf("%d connections in %v; want a few retries within the half second the name may be held, then the refusal", n, time.Since(start))
	}

	dead := NewPublisher(PublisherConfig{Endpoint: endpointAt(t, "127.0.0.1:1"), Reconnect: ReconnectPolicy{Enabled: true}})
	start = time.Now()
	if err := dead.Run(ctx); err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("first connection to nothing: %v after %v; want an error at once", err, time.Since(start))
	}
}

func TestReconnectDelaysGrowWithJitterUpToTheCap(t *testing.T) {
	r := ReconnectPolicy{Max: 10 * time.Second}.withDefaults()
	for n, want := range map[int]time.Duration{1: 2 * time.Second, 2: 3 * time.Second, 3: 4500 * time.Millisecond, 10: 10 * time.Second} {
		lo, mid, hi := r.delay(n, 0), r.delay(n, 0.5), r.delay(n, 1)
		if mid != want || lo != want*8/10 || hi != want*12/10 {
			t.Errorf("attempt %d: %v..%v..%v, want %v ±20%%", n, lo, mid, hi, want)
		}
	}
}

// nginx-rtmp refuses a reconnect with "Already publishing" until it notices
// the old connection died; the Publisher tries again and gets back on air.
func TestPublisherReconnectsPastTheServersGhostOfItsOldConnection(t *testing.T) {
	var conns atomic.Int32
	live := make(chan struct{}, 4)
	addr := fakeServer(t, func(nc net.Conn, tr *transport) {
		switch conns.Add(1) {
		case 1:
			if acceptPublish(tr) {
				time.Sleep(200 * time.Millisecond)
				nc.Close()
			}
		case 2:
			if _, ok := answerUntil(tr, "publish"); ok {
				replyCmd(tr, 1, "onStatus", 0, nil, status("error", "NetStream.Publish.BadName", "Already publishing"))
				time.Sleep(100 * time.Millisecond)
			}
		default:
			if acceptPublish(tr) {
				live <- struct{}{}
				time.Sleep(time.Second)
			}
		}
	})
	p := NewPublisher(PublisherConfig{Endpoint: endpointAt(t, addr),
		Reconnect: ReconnectPolicy{Enabled: true, First: 50 * time.Millisecond, Max: 100 * time.Millisecond,
			EstablishedAfter: 100 * time.Millisecond}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- p.Run(ctx) }()
	select {
	case <-live:
	case err := <-runErr:
		t.Fatalf("Run gave up: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("not live again after the refusal")
	}
	cancel()
	<-runErr
	if n := conns.Load(); n != 3 {
		t.Errorf("%d connections, want 3 (lost, refused, live again)", n)
	}
}

// runFed runs p against its server with a live feed, and returns Run's error.
func runFed(t *testing.T, p *Publisher, limit time.Duration) (time.Duration, error) {
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
	return took, err
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
			took, err := runFed(t, p, 10*time.Second)
			var he *HangUpError
			// The close comes as a FIN, or as a reset when the server hangs up
			// with media still unread in its socket: either way it hung up.
			closed := errors.Is(err, ErrUnexpectedClose) || errors.Is(err, syscall.ECONNRESET)
			if !errors.Is(err, ErrHungUp) || !errors.As(err, &he) || !closed {
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
	took, err := runFed(t, p, 20*time.Second)
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
	// (Reconnects is not judged: a hang-up can reset the connection before
	// the client reads Publish.Start, and then nothing resumed.)
	if st := p.Stats(); st.State != StateFailed {
		t.Errorf("state %v after the hang-ups", st.State)
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
