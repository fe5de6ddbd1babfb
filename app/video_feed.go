package app

import (
	"image"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tallystudio/tally/capture"
)

// sharedFrame is a captured frame that the preview and a session may hold at
// the same time; the source gets it back when the last holder lets go.
type sharedFrame struct {
	img      image.Image
	release  func()
	captured time.Time
	seq      uint64 // unique to this frame
	refs     atomic.Int32
}

func (f *sharedFrame) unref() {
	if f.refs.Add(-1) == 0 && f.release != nil {
		f.release()
	}
}

// videoFeed is one open video source: the newest frame, for the preview, and
// every frame to the taps.
type videoFeed struct {
	feed[*videoTap]
	newest *sharedFrame // guarded by mu
	// notify, when set before start, is told of each new frame (outside
	// the lock): a compositor composes when its sources deliver.
	notify func()
}

// newVideoFeed makes a feed that has not started; kind names its source in
// logs and in what the window says when it is lost.
func newVideoFeed(kind string, taps map[*videoTap]struct{}, log *slog.Logger) *videoFeed {
	return &videoFeed{feed: newFeed(kind, "a slate", taps, log)}
}

// startVideoFeed reads src until it ends; a device that fails is replaced by
// a slate at the settings' size and rate. Without a src the feed has failed, for why.
func startVideoFeed(src capture.VideoReader, why error, v VideoSettings, taps map[*videoTap]struct{}, log *slog.Logger) *videoFeed {
	f := newVideoFeed("video", taps, log)
	if src == nil {
		f.failed(why)
		return f
	}
	f.start(src, v)
	return f
}

// start reads src on the feed's goroutine until it ends or the feed stops.
func (f *videoFeed) start(src capture.VideoReader, v VideoSettings) {
	read := func() (image.Image, func(), time.Time, error) {
		img, release, err := src.Read()
		return img, release, time.Now(), err
	}
	if cr, ok := src.(capturedReader); ok {
		read = cr.readCaptured
	}
	f.run(src.Close, func() error {
		img, release, at, err := read()
		if err != nil {
			return err
		}
		if !f.publish(img, release, at) {
			return errFeedStopped
		}
		return nil
	}, func() { f.slate(v) })
}

// capturedReader is a source whose pictures were captured before it read
// them: the compositor's frame is as old as the newest source frame in it,
// which is what capture-to-server latency counts from.
type capturedReader interface {
	readCaptured() (image.Image, func(), time.Time, error)
}

// frameSeq numbers frames across every feed, so that a frame's number alone
// tells a cache whether it has seen it.
var frameSeq atomic.Uint64

// publish makes a frame the newest and hands it to every tap. It returns
// false, giving the frame back, once the feed is stopped.
func (f *videoFeed) publish(img image.Image, release func(), captured time.Time) bool {
	fr := &sharedFrame{img: img, release: release, captured: captured, seq: frameSeq.Add(1)}
	fr.refs.Store(1) // the feed's own reference, as newest
	var old *sharedFrame
	if !f.locked(func() {
		old, f.newest = f.newest, fr
		for t := range f.taps {
			fr.refs.Add(1)
			t.offer(fr)
		}
	}) {
		fr.unref()
		return false
	}
	if old != nil {
		old.unref()
	}
	if f.notify != nil {
		f.notify()
	}
	return true
}

// slate sends a dark frame at the stream's rate until the feed is stopped.
func (f *videoFeed) slate(v VideoSettings) {
	w, h, fps := max(v.Width, 16), max(v.Height, 16), max(v.FPS, 1)
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = 40
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = 128, 128
	}
	f.every(time.Second/time.Duration(fps), func() bool { return f.publish(img, nil, time.Now()) })
}

// latest returns the newest frame with a reference the caller must drop. A
// lost source shows as no signal in the preview, whatever the slate sends.
func (f *videoFeed) latest() *sharedFrame {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.newest == nil || f.err != nil || f.lost != nil {
		return nil
	}
	f.newest.refs.Add(1)
	return f.newest
}

// current is latest for a layer of a scene: it is the slate while the
// device is lost, since the slate is what the layer shows then.
func (f *videoFeed) current() *sharedFrame {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.newest == nil {
		return nil
	}
	f.newest.refs.Add(1)
	return f.newest
}

// stop stops the source and returns its taps for the next one; the newest
// frame goes back to the source.
func (f *videoFeed) stop() map[*videoTap]struct{} {
	var old *sharedFrame
	taps := f.feed.stop(func() { old, f.newest = f.newest, nil })
	if old != nil {
		old.unref()
	}
	return taps
}

// videoTap is a session's view of the program's video: every frame from now
// on. The session samples it at its own clock (take) rather than blocking in
// Read on a goroutine of its own: one goroutine hand-off less per frame.
type videoTap struct {
	mu      sync.Mutex
	pending *sharedFrame
	dropped uint64 // frames replaced before anyone took them
	err     error
	closed  bool
	detach  func(*videoTap)
	// arrived holds a token after each offer or failure, for a reader that
	// waits a moment for a frame that is due.
	arrived chan struct{}
}

func newVideoTap(detach func(*videoTap)) *videoTap {
	return &videoTap{detach: detach, arrived: make(chan struct{}, 1)}
}

func (t *videoTap) signal() {
	select {
	case t.arrived <- struct{}{}:
	default:
	}
}

func (t *videoTap) offer(f *sharedFrame) {
	t.mu.Lock()
	old := t.pending
	t.pending = f
	if old != nil {
		t.dropped++
	}
	t.mu.Unlock()
	t.signal()
	if old != nil {
		old.unref()
	}
}

func (t *videoTap) fail(err error) {
	t.mu.Lock()
	t.err = err
	t.mu.Unlock()
	t.signal()
}

func (t *videoTap) forget() {
	t.mu.Lock()
	t.err = nil
	t.mu.Unlock()
}

// freshSince says whether the pending frame was captured at or after at, or
// the feed has failed: either way, there is no point waiting longer.
func (t *videoTap) freshSince(at time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return (t.pending != nil && !t.pending.captured.Before(at)) || t.err != nil || t.closed
}

// take returns the frame offered since the last take, if any (the caller owns
// its reference), how many were dropped unseen since, and once no frame is
// pending, why the feed ended (io.EOF when the tap was closed or the source
// ran out).
func (t *videoTap) take() (*sharedFrame, uint64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, dropped := t.pending, t.dropped
	t.pending, t.dropped = nil, 0
	switch {
	case f != nil:
		return f, dropped, nil
	case t.closed:
		return nil, dropped, io.EOF
	}
	return nil, dropped, t.err
}

// Close detaches the tap; the source keeps running for the preview.
func (t *videoTap) Close() error {
	if t.detach != nil {
		t.detach(t)
	}
	t.mu.Lock()
	t.closed = true
	old := t.pending
	t.pending = nil
	t.mu.Unlock()
	t.signal()
	if old != nil {
		old.unref()
	}
	return nil
}
