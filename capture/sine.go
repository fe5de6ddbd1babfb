package capture

import (
	"fmt"
	"io"
	"math"
	"sync"
	"time"
)

// Synth is a synthetic microphone: a sound that exists in wall-clock time (a
// steady sine, or the test tone with its beep on every wall-clock second)
// recorded by a device whose clock may run fast or slow, and delivered in
// real time in 10 ms chunks. A source every machine has, that a test can find
// again in what it mixes, and a stand-in for a drifting device: a clock of
// 1.001 records 48 048 samples of every wall-clock second while claiming
// 48 kHz, as a cheap USB microphone does, so a clap (a beep) on each second
// lands 48 048 samples after the last.
type Synth struct {
	level          float64 // full scale of the sound's ±1, in int16 steps
	sound          func(t float64) float64
	rate, channels int
	// clock scales the sample count against wall time: 1 is honest, 1.001
	// a device whose clock runs 0.1 % fast (it delivers more samples a
	// second than its rate says).
	clock float64

	sent      int64     // frames delivered
	started   time.Time // when the first frame was recorded
	startFrac float64   // how far into its wall-clock second that was, s
	quit      chan struct{}
	once      sync.Once
}

// NewSine is a tone of freq Hz at levelDB dBFS peak, at rate and channels.
func NewSine(freq, levelDB float64, rate, channels int) (*Synth, error) {
	return NewDriftingSine(freq, levelDB, rate, channels, 1)
}

// NewDriftingSine is NewSine from a device whose clock runs clock times
// as fast as the wall's (1.001: 0.1 % fast). The tone is freq Hz in wall
// time, as a real device would hear it: its samples hold freq/clock cycles
// per rate frames, and a mix that corrects the drift plays it at freq.
func NewDriftingSine(freq, levelDB float64, rate, channels int, clock float64) (*Synth, error) {
	if !(freq > 0 && freq < float64(rate)/2) {
		return nil, fmt.Errorf("sine: %g Hz is not below half the sample rate %d", freq, rate)
	}
	w := 2 * math.Pi * freq
	return newSynth("sine", math.Pow(10, levelDB/20), func(t float64) float64 { return math.Sin(w * t) }, rate, channels, clock)
}

// NewDriftingTestTone is the test tone (440 Hz with a 1 kHz beep starting on
// every wall-clock second, in step with the test pattern's flash) recorded
// by a device whose clock runs clock times as fast as the wall's. The beeps
// stay on wall-clock seconds, so they are rate×clock samples apart: what a
// mix must correct to keep them on the flashes.
func NewDriftingTestTone(rate, channels int, clock float64) (*Synth, error) {
	return newSynth("test tone", 1, testTone, rate, channels, clock)
}

func newSynth(what string, level float64, sound func(float64) float64, rate, channels int, clock float64) (*Synth, error) {
	switch {
	case rate < 8000 || rate > 192000:
		return nil, fmt.Errorf("%s: sample rate %d is out of range 8000..192000", what, rate)
	case channels < 1 || channels > 8:
		return nil, fmt.Errorf("%s: %d channels is out of range 1..8", what, channels)
	case !(clock > 0.9 && clock < 1.1):
		return nil, fmt.Errorf("%s: clock %g is not within 10 %% of the wall's", what, clock)
	}
	return &Synth{level: level * math.MaxInt16, sound: sound, rate: rate, channels: channels,
		clock: clock, quit: make(chan struct{})}, nil
}

// wall is how long the device takes to record frames: the one place its
// clock scales the sample count against wall time, for when a chunk is due
// and for when each sample was heard.
func (s *Synth) wall(frames int64) float64 {
	return float64(frames) / (float64(s.rate) * s.clock)
}

// Read waits for the next 10 ms of the device's clock and returns it.
func (s *Synth) Read(dst []int16) ([]int16, error) {
	if s.started.IsZero() {
		s.start(time.Now())
	}
	frames := s.rate / 100
	// The chunk is due when the wall clock has reached its last frame: a
	// fast clock delivers the same chunks sooner.
	due := s.started.Add(time.Duration(s.wall(s.sent+int64(frames)) * float64(time.Second)))
	t := time.NewTimer(time.Until(due))
	defer t.Stop()
	select {
	case <-s.quit:
		return dst, io.EOF
	case <-t.C:
	}
	return s.record(dst[:0], frames), nil
}

// start sets when the first frame is recorded.
func (s *Synth) start(at time.Time) {
	s.started, s.startFrac = at, float64(at.UnixNano()%1e9)/1e9
}

// record appends the next frames, each the sound at the wall time the device
// recorded it, to dst.
func (s *Synth) record(dst []int16, frames int) []int16 {
	for i := range frames {
		v := int16(math.Round(s.level * s.sound(s.startFrac+s.wall(s.sent+int64(i)))))
		for range s.channels {
			dst = append(dst, v)
		}
	}
	s.sent += int64(frames)
	return dst
}

// Format is the rate and channel count the device claims.
func (s *Synth) Format() (int, int) { return s.rate, s.channels }

// Close ends a pending Read with io.EOF.
func (s *Synth) Close() error {
	s.once.Do(func() { close(s.quit) })
	return nil
}
