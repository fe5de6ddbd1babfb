package app

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// tap is what a feed hands its source's output to: a session's reader, or
// (with scenes) a compositor's. Offering is track-specific; the lifecycle
// below is not.
type tap interface {
	comparable
	// fail tells the reader that the source ended and why.
	fail(error)
	// forget drops a failure, when the taps move on to a new source.
	forget()
	io.Closer
}

// feed is the lifecycle that a video and an audio source share: one source,
// read on one goroutine, the taps it feeds, and what happens when it runs
// out, breaks, or is replaced. A track holds one feed per open source, so a
// track of several sources (scenes, the mixer) holds several of these.
type feed[T tap] struct {
	kind    string // "video" or "audio", for logs and messages
	standIn string // what goes out while a lost device is away: "a slate"
	log     *slog.Logger

	mu   sync.Mutex // guards taps, err, lost; a feed is stopped under it
	taps map[T]struct{}
	err  error // why the source ended, once it has; taps see it
	// lost is a device that failed. The stand-in goes out instead, so the
	// stream carries on until another source is picked.
	lost error
	// stopping: the source is being replaced, so the error its Read returns
	// is not the taps' business. It is set under mu, together with handing
	// the taps over, and whoever delivers checks it under mu: a reader that
	// outlives stop's wait must find nobody to deliver to, since by then the
	// taps belong to the next source.
	stopping atomic.Bool

	closeSrc func() error  // unblocks a pending read; nil for a feed that never opened
	quit     chan struct{} // closed by stop: ends the stand-in
	done     chan struct{} // closed when the reader has returned
}

func newFeed[T tap](kind, standIn string, taps map[T]struct{}, log *slog.Logger) feed[T] {
	if taps == nil {
		taps = map[T]struct{}{}
	}
	return feed[T]{kind: kind, standIn: standIn, log: log, taps: taps,
		quit: make(chan struct{}), done: make(chan struct{})}
}

// failed makes a feed for a source that could not be opened: its taps stay
// attached and see err, and the next source feeds them again.
func (f *feed[T]) failed(err error) {
	f.err = err
	close(f.done)
}

// run reads the source on its own goroutine until it ends. read delivers one
// unit to the taps; standIn sends a placeholder until quit once a device is
// lost. A source that runs out (io.EOF) ends the taps' stream instead.
func (f *feed[T]) run(closeSrc func() error, read func() error, standIn func()) {
	f.closeSrc = closeSrc
	go func() {
		defer close(f.done)
		for {
			err := read()
			if err == nil {
				continue
			}
			switch {
			case f.stopping.Load() || errors.Is(err, errFeedStopped):
			case errors.Is(err, io.EOF):
				f.mu.Lock()
				f.err = err
				for t := range f.taps {
					t.fail(err)
				}
				f.mu.Unlock()
			default:
				// A device that goes away (unplugged, driver error) must not
				// end the stream.
				f.log.Warn(f.kind+" source lost; sending "+f.standIn, "err", err)
				f.mu.Lock()
				f.lost = err
				f.mu.Unlock()
				standIn()
			}
			return
		}
	}()
}

// errFeedStopped is how a read says it found the feed stopped while it had
// something to deliver.
var errFeedStopped = errors.New("feed stopped")

// every calls send at each tick until the feed is stopped or send reports
// it; stand-ins run on it.
func (f *feed[T]) every(d time.Duration, send func() bool) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-f.quit:
			return
		case <-t.C:
			if !send() {
				return
			}
		}
	}
}

// locked runs deliver under the feed's lock, where it may hand something to
// f.taps, unless the feed has been stopped: then it returns false and nobody
// is given anything.
func (f *feed[T]) locked(deliver func()) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopping.Load() {
		return false
	}
	deliver()
	return true
}

// appendLost adds to msgs what the window says about a lost device.
func (f *feed[T]) appendLost(msgs []string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lost == nil {
		return msgs
	}
	return append(msgs, fmt.Sprintf("%s source lost (%v): sending %s; pick a source to carry on", f.kind, f.lost, f.standIn))
}

// feedStopTimeout is how long stopping a source waits for its reader; a
// device stuck in a read is left behind after it, cut off from the taps.
var feedStopTimeout = 2 * time.Second

// stop detaches the taps, closes the source and waits a while for the reader
// (the source's Close is what unblocks a pending read). It returns the taps,
// with any failure of this source forgotten, for the next source to feed.
// detached runs under the lock as the taps are handed over.
func (f *feed[T]) stop(detached func()) map[T]struct{} {
	f.mu.Lock()
	f.stopping.Store(true)
	taps := f.taps
	f.taps = nil
	if detached != nil {
		detached()
	}
	f.mu.Unlock()
	for t := range taps {
		t.forget()
	}
	if f.closeSrc == nil {
		return taps
	}
	close(f.quit)
	_ = f.closeSrc()
	if !waitFor(f.done, feedStopTimeout) {
		f.log.Warn(f.kind+" source did not stop in time; leaving its reader behind", "waited", feedStopTimeout)
	}
	return taps
}

// attach adds a tap made by newTap, unless the source failed to open or ran
// out: then the error says why.
func (f *feed[T]) attach(newTap func() T) (T, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var zero T
	if f.err != nil {
		return zero, f.err
	}
	t := newTap()
	f.taps[t] = struct{}{}
	return t, nil
}

// detach removes a tap; the source keeps running for the others.
func (f *feed[T]) detach(t T) {
	f.mu.Lock()
	delete(f.taps, t)
	f.mu.Unlock()
}

// tapList is every attached tap, for closing them all.
func (f *feed[T]) tapList() []io.Closer {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]io.Closer, 0, len(f.taps))
	for t := range f.taps {
		out = append(out, t)
	}
	return out
}

// waitFor says whether done closed within d.
func waitFor(done <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
