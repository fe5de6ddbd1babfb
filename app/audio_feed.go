package app

import (
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tallystudio/tally/capture"
)

// audioFeed is one open audio source: its level, for the meter, and each
// chunk copied to the taps.
type audioFeed struct {
	feed[*audioTap]
	level levelMeter
	// sink, when set before start, takes every chunk as it is read (a
	// mixer's strip), under the feed's lock so none arrives once stopped.
	sink func(pcm []int16, rate, channels int)
}

func newAudioFeed(kind string, taps map[*audioTap]struct{}, log *slog.Logger) *audioFeed {
	return &audioFeed{feed: newFeed(kind, "silence", taps, log)}
}

type audioChunk struct {
	samples        []int16
	rate, channels int
	latency        time.Duration // see soundLatency
}

// soundLatency is a source whose sound reaches Read some time after it was
// heard, beyond the chunk itself: the scene collection's mix, whose strips
// queue their sound (see mix.Latency). The session stamps the sound that
// much earlier, so that it stays in step with the pictures captured with it.
type soundLatency interface {
	Latency() time.Duration
}

// startAudioFeed reads src until it ends; a device that fails is replaced by
// silence in the settings' format. Without a src the feed has failed, for why.
func startAudioFeed(src capture.AudioReader, why error, a AudioSettings, taps map[*audioTap]struct{}, log *slog.Logger) *audioFeed {
	f := newAudioFeed("audio", taps, log)
	if src == nil {
		f.failed(why)
		return f
	}
	f.start(src, a)
	return f
}

// start reads src on the feed's goroutine until it ends or the feed stops.
func (f *audioFeed) start(src capture.AudioReader, a AudioSettings) {
	var buf []int16
	var latency time.Duration
	if l, ok := src.(soundLatency); ok {
		latency = l.Latency()
	}
	f.run(src.Close, func() error {
		var err error
		if buf, err = src.Read(buf); err != nil {
			return err
		}
		rate, channels := src.Format()
		if !f.locked(func() {
			f.level.add(buf, rate, channels)
			f.offer(buf, rate, channels, latency)
		}) {
			return errFeedStopped
		}
		return nil
	}, func() { f.silence(a) })
}

// offer copies a chunk to every tap, and to the sink; the caller holds mu.
func (f *audioFeed) offer(s []int16, rate, channels int, latency time.Duration) {
	for t := range f.taps {
		t.offer(s, rate, channels, latency)
	}
	if f.sink != nil {
		f.sink(s, rate, channels)
	}
}

// silence sends 10 ms chunks of silence in real time until the feed is stopped.
func (f *audioFeed) silence(a AudioSettings) {
	rate, channels := max(a.SampleRate, 8000), max(a.Channels, 1)
	chunk := make([]int16, rate/100*channels)
	f.every(audioChunkPeriod, func() bool {
		return f.locked(func() { f.offer(chunk, rate, channels, 0) })
	})
}

const audioChunkPeriod = 10 * time.Millisecond

// stop stops the source and returns its taps for the next one; the meter
// falls silent.
func (f *audioFeed) stop() map[*audioTap]struct{} {
	taps := f.feed.stop(nil)
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
	latency atomic.Int64  // of the last chunk read, as its source reported it
	detach  func(*audioTap)
	closed  chan struct{}
	once    sync.Once
}

const audioTapDepth = 200 // chunks; about 2 s of 10 ms chunks

func newAudioTap(detach func(*audioTap)) *audioTap {
	return &audioTap{ch: make(chan audioChunk, audioTapDepth), free: make(chan []int16, audioTapDepth),
		errc: make(chan error, 1), detach: detach, closed: make(chan struct{})}
}

func (t *audioTap) offer(s []int16, rate, channels int, latency time.Duration) {
	var buf []int16
	select {
	case buf = <-t.free:
	default:
	}
	select {
	case t.ch <- audioChunk{append(buf[:0], s...), rate, channels, latency}:
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

func (t *audioTap) forget() {
	select {
	case <-t.errc:
	default:
	}
}

func (t *audioTap) Read(dst []int16) ([]int16, error) {
	select {
	case c := <-t.ch:
		dst = append(dst[:0], c.samples...)
		t.format.Store(uint64(c.rate)<<8 | uint64(c.channels))
		t.latency.Store(int64(c.latency))
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

// Latency is how long before it was read the last chunk's sound was heard,
// beyond the chunk itself (see soundLatency).
func (t *audioTap) Latency() time.Duration { return time.Duration(t.latency.Load()) }

func (t *audioTap) Close() error {
	t.once.Do(func() {
		t.detach(t)
		close(t.closed)
	})
	return nil
}
