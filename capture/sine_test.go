package capture

import (
	"errors"
	"io"
	"math"
	"testing"
	"time"
)

// A sine is what it says: its level and frequency come back from the
// samples (zero crossings), in 10 ms chunks of the claimed format.
func TestSineHasItsLevelAndFrequency(t *testing.T) {
	s, err := NewSine(1000, -6, 48000, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var all []int16
	for range 10 {
		chunk, err := s.Read(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(chunk) != 480*2 {
			t.Fatalf("chunk of %d samples, want 960", len(chunk))
		}
		all = append(all, chunk...)
	}
	peak, crossings := 0.0, 0
	for i := 2; i < len(all); i += 2 {
		peak = math.Max(peak, math.Abs(float64(all[i])))
		if (all[i-2] < 0) != (all[i] < 0) {
			crossings++
		}
	}
	if db := 20 * math.Log10(peak/32767); math.Abs(db+6) > 0.1 {
		t.Errorf("peak %.2f dBFS, want -6", db)
	}
	if hz := float64(crossings) / 2 / 0.1; math.Abs(hz-1000) > 15 {
		t.Errorf("%.0f Hz, want 1000", hz)
	}
}

// A drifting sine delivers more samples per wall-clock second than its rate,
// as a fast device clock does.
func TestDriftingSineDeliversFasterThanItsRate(t *testing.T) {
	s, err := NewDriftingSine(440, -20, 48000, 1, 1.05)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	n := 0
	for range 50 {
		c, err := s.Read(nil)
		if err != nil {
			t.Fatal(err)
		}
		n += len(c)
	}
	if rate := float64(n) / time.Since(start).Seconds(); rate < 48000*1.02 {
		t.Errorf("%.0f samples a second, want about %d", rate, 48000*105/100)
	}
}

func TestSineCloseEndsARead(t *testing.T) {
	s, err := NewSine(440, -20, 48000, 2)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := s.Read(nil); !errors.Is(err, io.EOF) {
		t.Errorf("read after close: %v, want io.EOF", err)
	}
	if _, err := NewSine(30000, -6, 48000, 2); err == nil {
		t.Error("a tone above half the sample rate was accepted")
	}
}

// A drifting test tone keeps its beeps on wall-clock seconds, as a fast or
// slow microphone records a clap on each: a device 0.1 % fast records them
// 48 048 samples apart while claiming 48 kHz (one 0.1 % slow, 47 952), and
// takes one wall-clock second to deliver those samples.
func TestDriftingTestToneBeepsOnWallSecondsInItsOwnSamples(t *testing.T) {
	for _, tc := range []struct {
		clock   float64
		spacing int
	}{{1, 48000}, {1.001, 48048}, {0.999, 47952}} {
		s, err := NewDriftingTestTone(48000, 1, tc.clock)
		if err != nil {
			t.Fatal(err)
		}
		if d := s.wall(int64(tc.spacing)); math.Abs(d-1) > 1e-9 {
			t.Errorf("clock %g: %d samples take %.9f s of wall time, want 1", tc.clock, tc.spacing, d)
		}
		// The first sample 0.3 s before a wall-clock second: the first beep
		// is 0.3 s of the device's samples in.
		s.start(time.Unix(1_700_000_000, 700_000_000))
		on := beepOnsets(s.record(nil, 4*tc.spacing))
		if len(on) != 4 {
			t.Fatalf("clock %g: beeps at samples %v, want 4", tc.clock, on)
		}
		if first := 0.3 * float64(tc.spacing); float64(on[0]) < first || float64(on[0]) > first+4 {
			t.Errorf("clock %g: the first beep at sample %d, want %.0f (0.3 s in)", tc.clock, on[0], first)
		}
		for i := 1; i < len(on); i++ {
			if d := on[i] - on[i-1]; d != tc.spacing {
				t.Errorf("clock %g: beeps %d samples apart at %d, want %d", tc.clock, d, on[i], tc.spacing)
			}
		}
	}
	s, err := NewDriftingTestTone(48000, 2, 1.001)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if c, err := s.Read(nil); err != nil || len(c) != 480*2 {
		t.Errorf("a read of %d samples (%v), want 10 ms of 2 channels", len(c), err)
	}
}

// beepOnsets are the samples (mono) where the test tone's beep starts: the
// first above the 440 Hz tone's level after half a second without one.
func beepOnsets(samples []int16) []int {
	var on []int
	last := -48000
	for i, v := range samples {
		if math.Abs(float64(v)) > toneLevel*math.MaxInt16+2 {
			if i-last > 24000 {
				on = append(on, i)
			}
			last = i
		}
	}
	return on
}
