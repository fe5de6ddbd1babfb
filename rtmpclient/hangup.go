package rtmpclient

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// ErrHungUp is what every *HangUpError matches with errors.Is.
var ErrHungUp = errors.New("the server hung up before taking the stream")

// HangUpError is a server that took the connection and then closed it before
// the stream was established (see ReconnectPolicy). Servers that refuse a key
// this way give no reason, so the message names the likely ones.
type HangUpError struct {
	Server string // the destination, key masked
	Count  int    // hang-ups in a row, this one included
	Err    error  // how the connection ended
}

func (e *HangUpError) Error() string {
	times := ""
	if e.Count > 1 {
		times = fmt.Sprintf(" (%d times in a row)", e.Count)
	}
	return fmt.Sprintf("%s: %v%s: the stream key is probably wrong, expired or already in use, "+
		"or the server refuses this stream (%v)", e.Server, ErrHungUp, times, e.Err)
}

// Unwrap lets errors.Is find both ErrHungUp and the connection's own error.
func (e *HangUpError) Unwrap() []error { return []error{ErrHungUp, e.Err} }

// hungUp tells whether err is the server ending the connection (a close or a
// reset), as opposed to a refusal with a reason, a timeout, or a bad setting.
func hungUp(err error) bool {
	var se *StatusError
	if err == nil || errors.As(err, &se) {
		return false
	}
	return errors.Is(err, ErrUnexpectedClose) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, net.ErrClosed)
}

// establishment watches one connection for the server showing that it takes
// the stream: an acknowledgement of bytes past the preamble, or the
// connection staying up for the holding time.
type establishment struct {
	since    time.Time
	preamble uint64 // bytes out when the media began
	hold     time.Duration
	done     bool
}

func (e *establishment) check(t *transport, now time.Time) bool {
	if !e.done {
		e.done = now.Sub(e.since) >= e.hold || t.peerAcked.Load() > e.preamble
	}
	return e.done
}
