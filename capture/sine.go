package capture

import (
	"fmt"
	"io"
	"math"
	"sync"
	"time"
)

// Sine is a steady tone, delivered in real time in 10 ms chunks: a sound
// source every machine has, at a frequency a test can find again in what it
// mixes. (The test tone, by contrast, beeps once a second for A/V sync.)
type Sine struct {
	freq, amp      float64
	rate, channels int
	// clock scales the sample count against wall time: 1 is honest, 1.001
	// a device whose clock runs 0.1 % fast (it delivers more samples a
	// second than its rate says), as cheap USB microphones do.
	clock float64

	phase   float64
	sent    int64 // frames delivered
	started time.Time
	quit    chan struct{}
	once    sync.Once
}

// NewSine is a tone of freq Hz at levelDB dBFS peak, at rate and channels.
func NewSine(freq, levelDB float64, rate, channels int) (*Sine, error) {
	return NewDriftingSine(freq, levelDB, rate, channels, 1)
}

// NewDriftingSine is NewSine from a device whose clock runs clock times
// as fast as the wall's (1.001: 0.1 % fast).
func NewDriftingSine(freq, levelDB float64, rate, channels int, clock float64) (*Sine, error) {
	switch {
	case rate < 8000 || rate > 192000:
		return nil, fmt.Errorf("sine: sample rate %d is out of range 8000..192000", rate)
	case channels < 1 || channels > 8:
		return nil, fmt.Errorf("sine: %d channels is out of range 1..8", channels)
	case !(freq > 0 && freq < float64(rate)/2):
		return nil, fmt.Errorf("sine: %g Hz is not below half the sample rate %d", freq, rate)
	case !(clock > 0.9 && clock < 1.1):
		return nil, fmt.Errorf("sine: clock %g is not within 10 %% of the wall's", clock)
	}
	return &Sine{freq: freq, amp: math.Pow(10, levelDB/20) * 32767, rate: rate, channels: channels,
		clock: clock, quit: make(chan struct{})}, nil
}

// Read waits for the next 10 ms of the device's clock and returns it.
func (s *Sine) Read(dst []int16) ([]int16, error) {
	if s.started.IsZero() {
		s.started = time.Now()
	}
	frames := s.rate / 100
	// The chunk is due when the wall clock, scaled by the device's, has
	// reached its end: a fast clock delivers the same chunks sooner.
	due := s.started.Add(time.Duration(float64(s.sent+int64(frames)) / float64(s.rate) / s.clock * float64(time.Second)))
	t := time.NewTimer(time.Until(due))
	defer t.Stop()
	select {
	case <-s.quit:
		return dst, io.EOF
	case <-t.C:
	}
	dst = dst[:0]
	step := 2 * math.Pi * s.freq / float64(s.rate)
	for range frames {
		v := int16(math.Round(s.amp * math.Sin(s.phase)))
		for range s.channels {
			dst = append(dst, v)
		}
		s.phase = math.Mod(s.phase+step, 2*math.Pi)
	}
	s.sent += int64(frames)
	return dst, nil
}

// Format is the rate and channel count the tone claims.
func (s *Sine) Format() (int, int) { return s.rate, s.channels }

// Close ends a pending Read with io.EOF.
func (s *Sine) Close() error {
	s.once.Do(func() { close(s.quit) })
	return nil
}
