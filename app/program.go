package app

import (
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tallystudio/tally/capture"
)

// program holds the studio's open sources. They run from the moment they are
// picked, so the preview and the level meter work before going live; a session
// reads them through taps, which the program keeps fed across source changes.
type program struct {
	log   *slog.Logger
	mu    sync.Mutex // guards everything below; taps detach through it
	video *videoFeed
	audio *audioFeed
	// what is open, so that re-applying the same settings does not reopen devices
	vkey, akey string
	closeFile  func() // a media file that feeds both tracks
	// open opens sources; openSources unless a test stands in a faulty device
	open func(VideoSettings, AudioSettings) (capture.VideoReader, capture.AudioReader, func(), error)
	// closed: the engine is gone; a late set (a window applying sources as
	// it closes) must not open devices nobody will close.
	closed bool
}

// sharedFrame is a captured frame that the preview and a session may hold at
// the same time; the source gets it back when the last holder lets go.
type sharedFrame struct {
	img      image.Image
	release  func()
	captured time.Time
	refs     atomic.Int32
}

func (f *sharedFrame) unref() {
	if f.refs.Add(-1) == 0 && f.release != nil {
		f.release()
	}
}

// videoFeed reads one video source on its own goroutine.
type videoFeed struct {
	mu     sync.Mutex
	newest *sharedFrame
	err    error // why the source stopped, once it has
	taps   map[*videoTap]struct{}
	done   chan struct{}
	src    capture.VideoReader
	// stopping: the source is being replaced, and the error its Read returns
	// is not the taps' business. It is set under mu, together with handing
	// the taps over, and publish checks it under mu: a reader that outlives
	// stop's wait must find nobody to deliver to, since by then the taps
	// belong to the next source.
	stopping atomic.Bool
	quit     chan struct{} // closed by stop: ends the slate
	lost     error         // a device that failed; the slate stands in
}

func startVideoFeed(src capture.VideoReader, v VideoSettings, taps map[*videoTap]struct{}, log *slog.Logger) *videoFeed {
	f := &videoFeed{src: src, taps: taps, done: make(chan struct{}), quit: make(chan struct{})}
	go func() {
		defer close(f.done)
		for {
			img, release, err := src.Read()
			if err != nil {
				if f.stopping.Load() {
					return
				}
				if !errors.Is(err, io.EOF) {
					// A device that goes away (unplugged, driver error) must
					// not end the stream: a slate goes out instead until
					// another source is picked.
					log.Warn("video source lost; sending a slate", "err", err)
					f.mu.Lock()
					f.lost = err
					f.mu.Unlock()
					f.slate(v)
					return
				}
				f.mu.Lock()
				f.err = err
				for t := range f.taps {
					t.fail(err)
				}
				f.mu.Unlock()
				return
			}
			if !f.publish(img, release) {
				return
			}
		}
	}()
	return f
}

// publish makes a frame the newest and hands it to every tap. It returns
// false, giving the frame back, once the feed is stopped.
func (f *videoFeed) publish(img image.Image, release func()) bool {
	fr := &sharedFrame{img: img, release: release, captured: time.Now()}
	fr.refs.Store(1) // the feed's own reference, as newest
	f.mu.Lock()
	if f.stopping.Load() {
		f.mu.Unlock()
		fr.unref()
		return false
	}
	old := f.newest
	f.newest = fr
	for t := range f.taps {
		fr.refs.Add(1)
		t.offer(fr)
	}
	f.mu.Unlock()
	if old != nil {
		old.unref()
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
	t := time.NewTicker(time.Second / time.Duration(fps))
	defer t.Stop()
	for {
		select {
		case <-f.quit:
			return
		case <-t.C:
			if !f.publish(img, nil) {
				return
			}
		}
	}
}

// lostErr is why the device failed, nil while it works.
func (f *videoFeed) lostErr() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lost
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

// feedStopTimeout is how long stopping a source waits for its reader; a
// device stuck in a read is left behind after it, cut off from the taps.
var feedStopTimeout = 2 * time.Second

// stop detaches the taps, closes the source and waits a while for the reader
// (the source's Close is what unblocks a pending Read). It returns the taps,
// with any failure of this source cleared, for the next source to feed.
func (f *videoFeed) stop(log *slog.Logger) map[*videoTap]struct{} {
	f.mu.Lock()
	f.stopping.Store(true)
	taps := f.taps
	f.taps = nil
	old := f.newest
	f.newest = nil
	f.mu.Unlock()
	if old != nil {
		old.unref()
	}
	for t := range taps {
		t.mu.Lock()
		t.err = nil // a failure of the old source is not the new one's
		t.mu.Unlock()
	}
	if f.src == nil { // a feed that never opened has no reader
		return taps
	}
	close(f.quit)
	_ = f.src.Close()
	if !waitFor(f.done, feedStopTimeout) {
		log.Warn("video source did not stop in time; leaving its reader behind", "waited", feedStopTimeout)
	}
	return taps
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

// audioFeed reads one audio source, measures its level and copies each chunk
// to the taps.
type audioFeed struct {
	mu    sync.Mutex
	err   error
	taps  map[*audioTap]struct{}
	level levelMeter
	done  chan struct{}
	src   capture.AudioReader
	// stopping, quit and lost: as for videoFeed (stopping is set and checked
	// under mu)
	stopping atomic.Bool
	quit     chan struct{}
	lost     error
}

type audioChunk struct {
	samples        []int16
	rate, channels int
}

func startAudioFeed(src capture.AudioReader, a AudioSettings, taps map[*audioTap]struct{}, log *slog.Logger) *audioFeed {
	f := &audioFeed{src: src, taps: taps, done: make(chan struct{}), quit: make(chan struct{})}
	go func() {
		defer close(f.done)
		var buf []int16
		for {
			var err error
			buf, err = src.Read(buf)
			if err != nil {
				if f.stopping.Load() {
					return
				}
				if !errors.Is(err, io.EOF) {
					log.Warn("audio source lost; sending silence", "err", err)
					f.mu.Lock()
					f.lost = err
					f.mu.Unlock()
					f.silence(a)
					return
				}
				f.mu.Lock()
				f.err = err
				for t := range f.taps {
					t.fail(err)
				}
				f.mu.Unlock()
				return
			}
			rate, channels := src.Format()
			f.mu.Lock()
			if f.stopping.Load() {
				f.mu.Unlock()
				return
			}
			f.level.add(buf, rate, channels)
			for t := range f.taps {
				t.offer(buf, rate, channels)
			}
			f.mu.Unlock()
		}
	}()
	return f
}

// silence sends 10 ms chunks of silence in real time until the feed is stopped.
func (f *audioFeed) silence(a AudioSettings) {
	rate, channels := max(a.SampleRate, 8000), max(a.Channels, 1)
	chunk := make([]int16, rate/100*channels)
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-f.quit:
			return
		case <-t.C:
			f.mu.Lock()
			for tp := range f.taps {
				tp.offer(chunk, rate, channels)
			}
			f.mu.Unlock()
		}
	}
}

func (f *audioFeed) lostErr() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lost
}

// stop is videoFeed.stop for sound.
func (f *audioFeed) stop(log *slog.Logger) map[*audioTap]struct{} {
	f.mu.Lock()
	f.stopping.Store(true)
	taps := f.taps
	f.taps = nil
	f.mu.Unlock()
	for t := range taps {
		select { // a failure of the old source is not the new one's
		case <-t.errc:
		default:
		}
	}
	if f.src == nil {
		return taps
	}
	close(f.quit)
	_ = f.src.Close()
	if !waitFor(f.done, feedStopTimeout) {
		log.Warn("audio source did not stop in time; leaving its reader behind", "waited", feedStopTimeout)
	}
	f.level.reset()
	return taps
}

// audioTap is a session's view of the program's audio. Chunks queue up to a
// bound (a stalled session must not hold memory without end); past it they
// are dropped and counted.
type audioTap struct {
	ch      chan audioChunk
	free    chan []int16
	errc    chan error
	dropped atomic.Uint64
	format  atomic.Uint64 // rate<<8 | channels of the last chunk read
	detach  func(*audioTap)
	closed  chan struct{}
	once    sync.Once
}

const audioTapDepth = 200 // chunks; about 2 s of 10 ms chunks

func newAudioTap(detach func(*audioTap)) *audioTap {
	return &audioTap{ch: make(chan audioChunk, audioTapDepth), free: make(chan []int16, audioTapDepth),
		errc: make(chan error, 1), detach: detach, closed: make(chan struct{})}
}

func (t *audioTap) offer(s []int16, rate, channels int) {
	var buf []int16
	select {
	case buf = <-t.free:
	default:
	}
	select {
	case t.ch <- audioChunk{append(buf[:0], s...), rate, channels}:
	default:
		t.dropped.Add(1)
	}
}

func (t *audioTap) fail(err error) {
	select {
	case t.errc <- err:
	default:
	}
}

func (t *audioTap) Read(dst []int16) ([]int16, error) {
	select {
	case c := <-t.ch:
		dst = append(dst[:0], c.samples...)
		t.format.Store(uint64(c.rate)<<8 | uint64(c.channels))
		select {
		case t.free <- c.samples:
		default:
		}
		return dst, nil
	case err := <-t.errc:
		return dst, err
	case <-t.closed:
		return dst, io.EOF
	}
}

func (t *audioTap) Format() (rate, channels int) {
	f := t.format.Load()
	return int(f >> 8), int(f & 0xff)
}

func (t *audioTap) Close() error {
	t.once.Do(func() {
		t.detach(t)
		close(t.closed)
	})
	return nil
}

func newProgram(log *slog.Logger) *program { return &program{log: log} }

// set opens the sources the settings name, reopening only what changed. Taps
// attached to a source that is replaced carry on with the new one.
func (p *program) set(v VideoSettings, a AudioSettings) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	vkey := fmt.Sprintf("%s|%v|%dx%d@%d", v.Source, v.Loop, v.Width, v.Height, v.FPS)
	akey := fmt.Sprintf("%s|%d|%d", a.Source, a.SampleRate, a.Channels)
	fileBoth := a.Source == "file"
	if fileBoth {
		akey += "|" + vkey // the sound of the video's file moves with it
	}
	if vkey == p.vkey && akey == p.akey {
		return nil
	}
	changeVideo, changeAudio := vkey != p.vkey || fileBoth, akey != p.akey || fileBoth
	if p.closeFile != nil { // a shared file goes as a whole
		changeVideo, changeAudio = true, true
	}
	var vtaps map[*videoTap]struct{}
	var ataps map[*audioTap]struct{}
	if changeVideo {
		vtaps = p.stopVideo()
		p.vkey = ""
	}
	if changeAudio {
		ataps = p.stopAudio()
		p.akey = ""
	}
	if p.closeFile != nil {
		p.closeFile()
		p.closeFile = nil
	}
	if vtaps == nil {
		vtaps = map[*videoTap]struct{}{}
	}
	if ataps == nil {
		ataps = map[*audioTap]struct{}{}
	}
	vv, aa := v, a
	if !changeVideo {
		vv.Source = "none"
	}
	if !changeAudio {
		aa.Source = "none"
	}
	open := p.open
	if open == nil {
		open = openSources
	}
	vsrc, asrc, closeAll, err := open(vv, aa)
	// Keep taps attached even when opening failed: they see the error and the
	// next successful set feeds them again.
	if err != nil {
		if changeVideo {
			p.video = &videoFeed{taps: vtaps, err: err, done: closedChan()}
		}
		if changeAudio {
			p.audio = &audioFeed{taps: ataps, err: err, done: closedChan()}
		}
		return err
	}
	if vsrc != nil && asrc != nil && a.Source == "file" {
		p.closeFile = closeAll
		vsrc, asrc = noClose{vsrc}, noCloseAudio{asrc}
	}
	if changeVideo {
		if vsrc != nil {
			p.video = startVideoFeed(vsrc, v, vtaps, p.log)
		} else {
			p.video = &videoFeed{taps: vtaps, err: errSourceNone, done: closedChan()}
		}
		p.vkey = vkey
	}
	if changeAudio {
		if asrc != nil {
			p.audio = startAudioFeed(asrc, a, ataps, p.log)
		} else {
			p.audio = &audioFeed{taps: ataps, err: errSourceNone, done: closedChan()}
		}
		p.akey = akey
	}
	return nil
}

var errSourceNone = errors.New("no source")

func closedChan() chan struct{} { c := make(chan struct{}); close(c); return c }

// noClose lets a shared media file be closed once, by the program.
type noClose struct{ capture.VideoReader }

func (noClose) Close() error { return nil }

type noCloseAudio struct{ capture.AudioReader }

func (noCloseAudio) Close() error { return nil }

// stopVideo stops the video source and returns its taps for the next one.
func (p *program) stopVideo() map[*videoTap]struct{} {
	f := p.video
	if f == nil {
		return nil
	}
	p.video = nil
	return f.stop(p.log)
}

func (p *program) stopAudio() map[*audioTap]struct{} {
	f := p.audio
	if f == nil {
		return nil
	}
	p.audio = nil
	return f.stop(p.log)
}

// close stops every source; taps see the end of their stream.
func (p *program) close() {
	p.mu.Lock()
	taps := p.detachAll()
	p.mu.Unlock()
	for _, t := range taps {
		_ = t.Close()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.stopVideo()
	p.stopAudio()
	if p.closeFile != nil {
		p.closeFile()
		p.closeFile = nil
	}
	p.vkey, p.akey = "", ""
}

func (p *program) detachAll() []io.Closer {
	var out []io.Closer
	if f := p.video; f != nil {
		f.mu.Lock()
		for t := range f.taps {
			out = append(out, t)
		}
		f.mu.Unlock()
	}
	if f := p.audio; f != nil {
		f.mu.Lock()
		for t := range f.taps {
			out = append(out, t)
		}
		f.mu.Unlock()
	}
	return out
}

// taps gives a session readers for the current sources. A track whose source
// failed to open returns that error.
func (p *program) taps(wantVideo, wantAudio bool) (*videoTap, capture.AudioReader, func(), error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var vt *videoTap
	var at *audioTap
	if wantVideo {
		f := p.video
		if f == nil {
			return nil, nil, nil, fmt.Errorf("%w: no video source is open", ErrNoSource)
		}
		f.mu.Lock()
		err := f.err
		if err == nil {
			vt = newVideoTap(func(t *videoTap) { p.detachVideo(t) })
			f.taps[vt] = struct{}{}
		}
		f.mu.Unlock()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%w: video: %v", ErrNoSource, err)
		}
	}
	if wantAudio {
		f := p.audio
		var err error
		if f == nil {
			err = errors.New("no audio source is open")
		} else {
			f.mu.Lock()
			if err = f.err; err == nil {
				at = newAudioTap(func(t *audioTap) { p.detachAudio(t) })
				f.taps[at] = struct{}{}
			}
			f.mu.Unlock()
		}
		if err != nil {
			if vt != nil {
				p.video.mu.Lock()
				delete(p.video.taps, vt)
				p.video.mu.Unlock()
			}
			return nil, nil, nil, fmt.Errorf("%w: audio: %v", ErrNoSource, err)
		}
	}
	closeAll := func() {
		if vt != nil {
			_ = vt.Close()
		}
		if at != nil {
			_ = at.Close()
		}
	}
	var ar capture.AudioReader
	if at != nil {
		ar = at
	}
	return vt, ar, closeAll, nil
}

func (p *program) detachVideo(t *videoTap) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f := p.video; f != nil {
		f.mu.Lock()
		delete(f.taps, t)
		f.mu.Unlock()
	}
}

func (p *program) detachAudio(t *audioTap) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f := p.audio; f != nil {
		f.mu.Lock()
		delete(f.taps, t)
		f.mu.Unlock()
	}
}

// latestFrame returns the newest video frame, or nil when there is no signal;
// the caller must unref it.
func (p *program) latestFrame() *sharedFrame {
	p.mu.Lock()
	f := p.video
	p.mu.Unlock()
	if f == nil {
		return nil
	}
	return f.latest()
}

// level is the audio meter's reading.
func (p *program) level() Level {
	p.mu.Lock()
	f := p.audio
	p.mu.Unlock()
	if f == nil {
		return silence
	}
	return f.level.read()
}

// lastFrameTime is when the video source last delivered a frame, zero if never.
func (p *program) lastFrameTime() time.Time {
	f := p.latestFrame()
	if f == nil {
		return time.Time{}
	}
	defer f.unref()
	return f.captured
}

// sourceErrors says which sources were lost (and are replaced by a slate or
// silence), for the window.
func (p *program) sourceErrors() []string {
	p.mu.Lock()
	v, a := p.video, p.audio
	p.mu.Unlock()
	var out []string
	if v != nil {
		if err := v.lostErr(); err != nil {
			out = append(out, "video source lost ("+err.Error()+"): sending a slate; pick a source to carry on")
		}
	}
	if a != nil {
		if err := a.lostErr(); err != nil {
			out = append(out, "audio source lost ("+err.Error()+"): sending silence; pick a source to carry on")
		}
	}
	return out
}
