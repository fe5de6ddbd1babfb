package rtmpclient

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
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
