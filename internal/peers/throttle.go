package peers

import (
	"context"
	"io"
	"net"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Throttle is a TCP proxy that shapes the client → server direction: a rate
// limit, added latency, a stall (stops reading, as a dead link does) and a
// reset. The server → client direction passes untouched.
type Throttle struct {
	ln       net.Listener
	upstream string

	mu      sync.Mutex
	rate    int // bytes per second; 0: unlimited
	latency time.Duration
	stalled bool
	conns   map[net.Conn]struct{}
	wake    chan struct{}
}

// StartThrottle proxies a free loopback port to upstream ("host:port").
func StartThrottle(t testing.TB, upstream string) *Throttle {
	t.Helper()
	// Segments of an Ethernet path, not loopback's 64 KiB: with a receive
	// buffer smaller than one segment, the receiver holds back window updates
	// (silly-window avoidance) and the sender waits for its persist timer, so
	// the link would idle for hundreds of milliseconds at random.
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, 1448)
		}); err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	th := &Throttle{ln: ln, upstream: upstream, conns: map[net.Conn]struct{}{}, wake: make(chan struct{})}
	go th.serve()
	t.Cleanup(func() {
		ln.Close()
		th.Reset()
	})
	return th
}

// Addr is where clients connect.
func (th *Throttle) Addr() string { return th.ln.Addr().String() }

// Port is the proxy's port.
func (th *Throttle) Port() int { p, _ := strconv.Atoi(th.Addr()[len("127.0.0.1:"):]); return p }

// SetRate limits the client → server direction to bits per second (0: no limit).
func (th *Throttle) SetRate(bps int) { th.set(func() { th.rate = bps / 8 }) }

// SetLatency delays everything the client sends by d.
func (th *Throttle) SetLatency(d time.Duration) { th.set(func() { th.latency = d }) }

// Stall stops (true) or resumes (false) reading from clients.
func (th *Throttle) Stall(on bool) { th.set(func() { th.stalled = on }) }

func (th *Throttle) set(fn func()) {
	th.mu.Lock()
	fn()
	close(th.wake)
	th.wake = make(chan struct{})
	th.mu.Unlock()
}

// Reset cuts every connection with a TCP reset.
func (th *Throttle) Reset() {
	th.mu.Lock()
	defer th.mu.Unlock()
	for c := range th.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		c.Close()
	}
	clear(th.conns)
}

func (th *Throttle) serve() {
	for {
		c, err := th.ln.Accept()
		if err != nil {
			return
		}
		// A small receive window: a slow link must push back on the sender
		// within a fraction of a second, not after megabytes of buffering.
		_ = c.(*net.TCPConn).SetReadBuffer(16 << 10)
		up, err := net.Dial("tcp", th.upstream)
		if err != nil {
			c.Close()
			continue
		}
		th.mu.Lock()
		th.conns[c], th.conns[up] = struct{}{}, struct{}{}
		th.mu.Unlock()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
		go th.forward(c, up)
	}
}

type chunk struct {
	b   []byte
	due time.Time
}

// forward reads from the client at the allowed rate and hands chunks to a
// writer that releases each at its due time (the added latency).
func (th *Throttle) forward(c, up net.Conn) {
	defer up.Close()
	q := make(chan chunk, 1024)
	go func() {
		defer c.Close()
		for ch := range q {
			time.Sleep(time.Until(ch.due))
			if _, err := up.Write(ch.b); err != nil {
				return
			}
		}
	}()
	defer close(q)
	// next is when the link will have carried everything read so far. Pacing
	// against it, rather than sleeping each chunk's time, keeps the average
	// rate exact on a busy machine, where every sleep overshoots and a late
	// wake-up reads what the link carried meanwhile: a 1050 kb/s link must
	// not carry 900 one run and 1000 the next.
	var next time.Time
	for {
		th.mu.Lock()
		rate, lat, stalled, wake := th.rate, th.latency, th.stalled, th.wake
		th.mu.Unlock()
		if stalled {
			<-wake
			continue
		}
		n := 32 << 10
		if rate > 0 {
			// An idle link banks at most 100 ms, about what a real one's queue
			// lets through at once; each read takes up to 20 ms beyond what is due.
			now := time.Now()
			if lo := now.Add(-100 * time.Millisecond); next.Before(lo) {
				next = lo
			}
			n = max(int(float64(rate)*now.Add(20*time.Millisecond).Sub(next).Seconds()), 512)
		}
		buf := make([]byte, n)
		got, err := c.Read(buf)
		if got > 0 {
			q <- chunk{buf[:got], time.Now().Add(lat)}
			if rate > 0 {
				next = next.Add(time.Duration(got) * time.Second / time.Duration(rate))
				time.Sleep(time.Until(next))
			}
		}
		if err != nil {
			return
		}
	}
}
