package rtmpclient

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RTMPT is RTMP tunnelled in HTTP, for networks that let only web traffic
// out. The client opens a session with POST /open/1, which answers its ID
// as a line; then every request is POST /CMD/ID/SEQ, SEQ growing by one per
// request: /send carries the client's RTMP bytes as its body, /idle polls,
// /close ends the session. Every answer but open's starts with one byte, the
// polling interval, then carries the server's RTMP bytes. Both ends here
// keep the RTMP connection as a net.Conn (tunnelConn), so the handshake,
// chunking, Publisher and Server run on it unchanged.

// ErrTunnel matches every RTMPT failure that is the tunnel's own, not RTMP's:
// an answer that is not RTMPT, a session the server does not know, a
// sequence number out of order.
var ErrTunnel = errors.New("rtmpt tunnel")

func tunnelErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrTunnel, fmt.Sprintf(format, args...))
}

// tunnelContentType is what every RTMPT request and answer is labelled.
const tunnelContentType = "application/x-fcs"

// The polling intervals a server answers, in FFmpeg's and librtmp's
// convention: 0x01 while data flows, growing as the session stays idle.
var pollIntervals = [...]byte{0x01, 0x03, 0x05, 0x09, 0x11, 0x21}

// pollUnit is how long the client waits per unit of the interval byte before
// polling a quiet server again: 10 ms at 0x01, a third of a second at 0x21.
const pollUnit = 10 * time.Millisecond

// Tunnel commands, the first element of a request's path.
const (
	tunnelIdent = "fcs"
	tunnelOpen  = "open"
	tunnelSend  = "send"
	tunnelIdle  = "idle"
	tunnelClose = "close"
)

// maxSessionID bounds a session ID: FFmpeg's client keeps it in 64 bytes.
const maxSessionID = 63

// tunnelRequest is a parsed RTMPT request path.
type tunnelRequest struct {
	cmd    string
	id     string // empty for open and ident2
	seq    uint64
	hasSeq bool // /close/ID may come without one
}

// parseTunnelPath reads /fcs/ident2, /open/1, /send/ID/SEQ, /idle/ID/SEQ
// and /close/ID[/SEQ]. It is where hostile paths meet the server, so every
// shape it does not know is an error naming what is wrong.
func parseTunnelPath(path string) (tunnelRequest, error) {
	if len(path) > 256 {
		return tunnelRequest{}, tunnelErr("request path of %d bytes", len(path))
	}
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	switch parts[0] {
	case tunnelIdent:
		if len(parts) == 2 && parts[1] == "ident2" {
			return tunnelRequest{cmd: tunnelIdent}, nil
		}
	case tunnelOpen:
		if len(parts) == 2 && parts[1] == "1" {
			return tunnelRequest{cmd: tunnelOpen}, nil
		}
	case tunnelSend, tunnelIdle, tunnelClose:
		if len(parts) < 2 || len(parts) > 3 || (len(parts) == 2 && parts[0] != tunnelClose) {
			return tunnelRequest{}, tunnelErr("%s wants /%s/ID/SEQ", parts[0], parts[0])
		}
		if !validSessionID(parts[1]) {
			return tunnelRequest{}, tunnelErr("malformed session ID in %s", parts[0])
		}
		r := tunnelRequest{cmd: parts[0], id: parts[1]}
		if len(parts) == 3 {
			seq, err := strconv.ParseUint(parts[2], 10, 63)
			if err != nil {
				return tunnelRequest{}, tunnelErr("sequence number %.20q is not a number", parts[2])
			}
			r.seq, r.hasSeq = seq, true
		}
		return r, nil
	}
	return tunnelRequest{}, tunnelErr("unknown request %.40q", path)
}

// validSessionID accepts what servers hand out (digits, hex, letters and a
// few separators) and nothing that could not sit in a path element.
func validSessionID(id string) bool {
	if id == "" || len(id) > maxSessionID {
		return false
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// tunnelBuf is one direction of a tunnelled connection: bytes one side
// writes and the other reads, bounded like a socket buffer so that a side
// that stops reading pushes back on the writer instead of growing memory.
type tunnelBuf struct {
	mu    sync.Mutex
	buf   []byte
	limit int
	err   error         // once set, reads drain what is left and then get it; writes get it at once
	wake  chan struct{} // closed and replaced whenever buf or err changes
}

func newTunnelBuf(limit int) *tunnelBuf {
	return &tunnelBuf{limit: limit, wake: make(chan struct{})}
}

// signal wakes every waiter; call it with mu held.
func (b *tunnelBuf) signal() {
	close(b.wake)
	b.wake = make(chan struct{})
}

// waitFor blocks until wake closes or a stop channel does, whose error it returns.
func waitFor(wake <-chan struct{}, stops []stopper) error {
	// At most three stops: unrolled, since reflect.Select would cost more
	// than the copy it guards.
	var c [3]<-chan struct{}
	for i, s := range stops {
		c[i] = s.ch
	}
	select {
	case <-wake:
		return nil
	case <-c[0]:
		return stops[0].err
	case <-c[1]:
		return stops[1].err
	case <-c[2]:
		return stops[2].err
	}
}

// stopper is a channel that ends a wait, and the error the wait then returns.
type stopper struct {
	ch  <-chan struct{}
	err error
}

// write appends all of p, waiting for room as it is read.
func (b *tunnelBuf) write(p []byte, stops ...stopper) (int, error) {
	n := 0
	for {
		b.mu.Lock()
		if b.err != nil {
			b.mu.Unlock()
			return n, b.err
		}
		if room := b.limit - len(b.buf); room > 0 {
			k := min(room, len(p)-n)
			b.buf = append(b.buf, p[n:n+k]...)
			n += k
			b.signal()
		}
		if n == len(p) {
			b.mu.Unlock()
			return n, nil
		}
		wake := b.wake
		b.mu.Unlock()
		if err := waitFor(wake, stops); err != nil {
			return n, err
		}
	}
}

// read copies what there is into p, waiting until there is some.
func (b *tunnelBuf) read(p []byte, stops ...stopper) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		b.mu.Lock()
		if len(b.buf) > 0 {
			n := copy(p, b.buf)
			b.buf = b.buf[n:]
			if len(b.buf) == 0 {
				b.buf = b.buf[:0:0] // let the drained array go
			}
			b.signal()
			b.mu.Unlock()
			return n, nil
		}
		if b.err != nil {
			b.mu.Unlock()
			return 0, b.err
		}
		wake := b.wake
		b.mu.Unlock()
		if err := waitFor(wake, stops); err != nil {
			return 0, err
		}
	}
}

// take removes up to max bytes without waiting: nil when there are none.
func (b *tunnelBuf) take(max int) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf) == 0 {
		return nil
	}
	n := min(max, len(b.buf))
	out := b.buf[:n:n]
	b.buf = b.buf[n:]
	if len(b.buf) == 0 {
		b.buf = nil
	}
	b.signal()
	return out
}

// state is how many bytes wait, a channel closed at the next change, and
// the error if the buffer is closed.
func (b *tunnelBuf) state() (int, <-chan struct{}, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.buf), b.wake, b.err
}

// closeWith ends the buffer: readers get err once it is drained, writers at once.
// The first error stays.
func (b *tunnelBuf) closeWith(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil {
		b.err = err
		b.signal()
	}
}

// deadline is a net.Conn deadline as a channel that closes when it passes.
type deadline struct {
	mu    sync.Mutex
	timer *time.Timer
	ch    chan struct{}
}

func newDeadline() *deadline { return &deadline{ch: make(chan struct{})} }

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.ch // the timer fired: wait for it to have closed the channel
	}
	d.timer = nil
	expired := false
	select {
	case <-d.ch:
		expired = true
	default:
	}
	if t.IsZero() {
		if expired {
			d.ch = make(chan struct{})
		}
		return
	}
	if wait := time.Until(t); wait > 0 {
		if expired {
			d.ch = make(chan struct{})
		}
		ch := d.ch
		d.timer = time.AfterFunc(wait, func() { close(ch) })
		return
	}
	if !expired {
		close(d.ch)
	}
}

func (d *deadline) wait() stopper {
	d.mu.Lock()
	defer d.mu.Unlock()
	return stopper{ch: d.ch, err: os.ErrDeadlineExceeded}
}

// tunnelConn is the RTMP side of a tunnel, at either end: reads come from in,
// writes go to out, and whatever speaks HTTP moves bytes between those and
// the requests.
type tunnelConn struct {
	in, out       *tunnelBuf
	rd, wd        *deadline
	local, remote net.Addr
	closeOnce     sync.Once
	closed        chan struct{} // closed by Close
	onClose       func()
}

func newTunnelConn(inLimit, outLimit int, local, remote net.Addr) *tunnelConn {
	return &tunnelConn{
		in: newTunnelBuf(inLimit), out: newTunnelBuf(outLimit),
		rd: newDeadline(), wd: newDeadline(),
		local: local, remote: remote,
		closed: make(chan struct{}),
	}
}

func (c *tunnelConn) closedStop() stopper { return stopper{ch: c.closed, err: net.ErrClosed} }

func (c *tunnelConn) Read(p []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	return c.in.read(p, c.rd.wait(), c.closedStop())
}

func (c *tunnelConn) Write(p []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	return c.out.write(p, c.wd.wait(), c.closedStop())
}

// Close ends the RTMP side. What was written before stays in out for the
// HTTP side to deliver, as a socket's send buffer is flushed after close.
func (c *tunnelConn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.in.closeWith(net.ErrClosed)
		if c.onClose != nil {
			c.onClose()
		}
	})
	return nil
}

func (c *tunnelConn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// fail ends the tunnel under the RTMP side: reads get err after what has
// arrived, writes get it at once.
func (c *tunnelConn) fail(err error) {
	c.in.closeWith(err)
	c.out.closeWith(err)
}

func (c *tunnelConn) LocalAddr() net.Addr  { return c.local }
func (c *tunnelConn) RemoteAddr() net.Addr { return c.remote }

func (c *tunnelConn) SetDeadline(t time.Time) error {
	c.rd.set(t)
	c.wd.set(t)
	return nil
}
func (c *tunnelConn) SetReadDeadline(t time.Time) error  { c.rd.set(t); return nil }
func (c *tunnelConn) SetWriteDeadline(t time.Time) error { c.wd.set(t); return nil }

// tunnelAddr is an address at the far side of a tunnel: the HTTP server's.
type tunnelAddr string

func (a tunnelAddr) Network() string { return "rtmpt" }
func (a tunnelAddr) String() string  { return string(a) }

// errNoProgress is why an exchange gave up: the peer stopped answering.
var errNoProgress = fmt.Errorf("no answer in time: %w", os.ErrDeadlineExceeded)

var _ net.Conn = (*tunnelConn)(nil)

// Default ports: HTTP's and HTTPS's, the ports a web-only network lets out.
const (
	defaultRTMPTPort  = 80
	defaultRTMPTSPort = 443
)
