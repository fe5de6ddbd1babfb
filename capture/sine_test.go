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
