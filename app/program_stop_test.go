package app

import (
	"image"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tallystudio/tally/capture"
)

// shortStopTimeout makes a stuck source cost the test milliseconds, not the
// seconds a real device is given.
func shortStopTimeout(t *testing.T) {
	t.Helper()
	was := feedStopTimeout
	feedStopTimeout = 50 * time.Millisecond
	t.Cleanup(func() { feedStopTimeout = was })
}

// stuckVideo is a device whose pending Read ignores Close (a driver stuck in
// an ioctl): it returns one frame when the test lets it, long after the
// program gave up waiting, and then ends.
type stuckVideo struct {
	late     chan struct{}
	img      image.Image
	reads    atomic.Int32
	released atomic.Bool
}

func (s *stuckVideo) Read() (image.Image, func(), error) {
	if s.reads.Add(1) > 1 {
		return nil, nil, io.EOF
	}
	<-s.late
	return s.img, func() { s.released.Store(true) }, nil
}

func (s *stuckVideo) Close() error { return nil }

// idleVideo is a device that delivers nothing until it is closed.
type idleVideo struct {
	once   sync.Once
	closed chan struct{}
}

func (s *idleVideo) Read() (image.Image, func(), error) {
	<-s.closed
	return nil, nil, io.EOF
}

func (s *idleVideo) Close() error { s.once.Do(func() { close(s.closed) }); return nil }

type stuckAudio struct {
	late  chan struct{}
	reads atomic.Int32
}

func (s *stuckAudio) Read(dst []int16) ([]int16, error) {
	if s.reads.Add(1) > 1 {
		return dst, io.EOF
	}
	<-s.late
	return append(dst[:0], 1, 2, 3, 4), nil
}

func (s *stuckAudio) Format() (int, int) { return 48000, 2 }
func (s *stuckAudio) Close() error       { return nil }

type idleAudio struct{ idleVideo }

func (s *idleAudio) Read(dst []int16) ([]int16, error) {
	<-s.closed
	return dst, io.EOF
}

func (s *idleAudio) Format() (int, int) { return 48000, 2 }

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// programOf is a program whose sources are the named readers; any other name
// opens nothing.
func programOf(t *testing.T, video map[string]capture.VideoReader, audio map[string]capture.AudioReader) *program {
	p := newProgram(quietLog())
	p.open = func(v VideoSettings, a AudioSettings) (capture.VideoReader, capture.AudioReader, func(), error) {
		return video[v.Source], audio[a.Source], func() {}, nil
	}
	t.Cleanup(p.close)
	return p
}

// replaceStuckSource sets the source "stuck", attaches a session's taps,
// replaces it with "next", lets the stuck reader deliver late, and waits for
// it to end. It returns the taps' reader for the check.
func replaceStuckSource(t *testing.T, p *program, set func(name string) error, late chan struct{}, wantVideo bool) (*videoTap, capture.AudioReader) {
	t.Helper()
	if err := set("stuck"); err != nil {
		t.Fatal(err)
	}
	vt, ar, closeTaps, err := p.taps(wantVideo, !wantVideo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeTaps)
	p.mu.Lock()
	var done <-chan struct{}
	if wantVideo {
		done = p.video.done
	} else {
		done = p.audio.done
	}
	p.mu.Unlock()
	if err := set("next"); err != nil {
		t.Fatal(err)
	}
	close(late)
	if !waitFor(done, 5*time.Second) {
		t.Fatal("the stopped source's reader never ended")
	}
	return vt, ar
}

// A source whose reader outlives the stop timeout must not reach the taps the
// next source now feeds: its late frame goes nowhere and its memory comes back.
func TestStoppedVideoFeedNeverDeliversALateFrameToTheNextSourcesTaps(t *testing.T) {
	shortStopTimeout(t)
	stuck := &stuckVideo{late: make(chan struct{}), img: image.NewGray(image.Rect(0, 0, 2, 2))}
	next := &idleVideo{closed: make(chan struct{})}
	p := programOf(t, map[string]capture.VideoReader{"stuck": stuck, "next": next}, nil)
	tap, _ := replaceStuckSource(t, p, func(name string) error {
		return p.set(VideoSettings{Source: name}, AudioSettings{Source: "none"})
	}, stuck.late, true)
	if fr, _, _ := tap.take(); fr != nil {
		fr.unref()
		t.Fatal("the next source's tap received a frame from the source it replaced")
	}
	if !stuck.released.Load() {
		t.Error("the late frame's memory was never given back to its source")
	}
}

// The same for sound: a late chunk from a replaced microphone is not mixed
// into the next one's taps.
func TestStoppedAudioFeedNeverDeliversALateChunkToTheNextSourcesTaps(t *testing.T) {
	shortStopTimeout(t)
	stuck := &stuckAudio{late: make(chan struct{})}
	next := &idleAudio{idleVideo{closed: make(chan struct{})}}
	p := programOf(t, nil, map[string]capture.AudioReader{"stuck": stuck, "next": next})
	_, ar := replaceStuckSource(t, p, func(name string) error {
		return p.set(VideoSettings{Source: "none"}, AudioSettings{Source: name, SampleRate: 48000, Channels: 2})
	}, stuck.late, false)
	select {
	case c := <-ar.(*audioTap).ch:
		t.Fatalf("the next source's tap received %v from the source it replaced", c.samples)
	default:
	}
}
