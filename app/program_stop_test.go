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

// A source whose reader outlives the stop timeout must not reach the taps the
// next source now feeds: its late frame goes nowhere and its memory comes back.
func TestStoppedVideoFeedNeverDeliversALateFrameToTheNextSourcesTaps(t *testing.T) {
	shortStopTimeout(t)
	stuck := &stuckVideo{late: make(chan struct{}), img: image.NewGray(image.Rect(0, 0, 2, 2))}
	next := &idleVideo{closed: make(chan struct{})}
	p := newProgram(quietLog())
	p.open = func(v VideoSettings, _ AudioSettings) (capture.VideoReader, capture.AudioReader, func(), error) {
		switch v.Source {
		case "stuck":
			return stuck, nil, func() {}, nil
		case "next":
			return next, nil, func() {}, nil
		}
		return nil, nil, func() {}, nil
	}
	defer p.close()
	none := AudioSettings{Source: "none"}
	if err := p.set(VideoSettings{Source: "stuck"}, none); err != nil {
		t.Fatal(err)
	}
	tap, _, closeTaps, err := p.taps(true, false)
	if err != nil {
		t.Fatal(err)
	}
	defer closeTaps()
	p.mu.Lock()
	old := p.video
	p.mu.Unlock()

	if err := p.set(VideoSettings{Source: "next"}, none); err != nil {
		t.Fatal(err)
	}
	close(stuck.late)
	select {
	case <-old.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the stopped source's reader never ended")
	}
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
	p := newProgram(quietLog())
	p.open = func(_ VideoSettings, a AudioSettings) (capture.VideoReader, capture.AudioReader, func(), error) {
		switch a.Source {
		case "stuck":
			return nil, stuck, func() {}, nil
		case "next":
			return nil, next, func() {}, nil
		}
		return nil, nil, func() {}, nil
	}
	defer p.close()
	none := VideoSettings{Source: "none"}
	if err := p.set(none, AudioSettings{Source: "stuck", SampleRate: 48000, Channels: 2}); err != nil {
		t.Fatal(err)
	}
	_, ar, closeTaps, err := p.taps(false, true)
	if err != nil {
		t.Fatal(err)
	}
	defer closeTaps()
	tap := ar.(*audioTap)
	p.mu.Lock()
	old := p.audio
	p.mu.Unlock()

	if err := p.set(none, AudioSettings{Source: "next", SampleRate: 48000, Channels: 2}); err != nil {
		t.Fatal(err)
	}
	close(stuck.late)
	select {
	case <-old.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the stopped source's reader never ended")
	}
	select {
	case c := <-tap.ch:
		t.Fatalf("the next source's tap received %v from the source it replaced", c.samples)
	default:
	}
}
