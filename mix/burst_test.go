package mix

import (
	"math"
	"testing"
	"time"
)

// A media file hands over its sound a tenth of a second at a time, each
// piece as its first sample falls due. Its queue saws by that much; drift
// control must see a clock in step and leave the pitch alone, or a tone in
// the file would come out bent, and must still find a clock that is not.
func TestBurstySourceIsCorrectedOnlyForItsClock(t *testing.T) {
	for _, c := range []struct {
		burst int
		ppm   float64 // how fast the source's clock runs
	}{{4800, 0}, {4096, 0}, {8192, 0}, {4096, 1000}, {4800, -1000}} {
		m := newMixer(t)
		m.SetMaster(0, false, MasterCeilingDB)
		s := addStrip(t, m, "file", StripConfig{})
		tn := newTone(1000, Rate, 2, -6)
		block := make([]int16, Channels*BlockFrames)
		var now time.Time
		m.clk.now = func() time.Time { return now }
		at := func(frames float64) time.Time {
			return time.Unix(100, 0).Add(time.Duration(frames * float64(time.Second) / Rate))
		}
		speed := 1 + c.ppm/1e6
		var pushed, mixed int
		var lo, hi = math.Inf(1), math.Inf(-1)
		var out []int16
		for b := range 90 * 100 {
			for float64(pushed)/speed <= float64(mixed) { // each piece as its first frame falls due
				now = at(float64(pushed) / speed)
				if err := s.Push(tn.next(c.burst), Rate, 2); err != nil {
					t.Fatal(err)
				}
				pushed += c.burst
			}
			now = at(float64(mixed))
			if err := m.Mix(block); err != nil {
				t.Fatal(err)
			}
			mixed += BlockFrames
			if b >= 60*100 {
				ppm := s.Stats().CorrectionPPM
				lo, hi = min(lo, ppm), max(hi, ppm)
				out = append(out, block...)
			}
		}
		st := s.Stats()
		t.Logf("burst %d, clock %+g ppm: correction %.1f..%.1f ppm after a minute, %+v", c.burst, c.ppm, lo, hi, st)
		if lo < c.ppm-100 || hi > c.ppm+100 {
			t.Errorf("burst %d, clock %+g ppm: correction %.1f..%.1f ppm, want within ±100 of the clock's", c.burst, c.ppm, lo, hi)
		}
		// A fast device plays its tone that much higher, in the program's time.
		if db := goertzelDB(channel(out, 0), 1000*speed); !near(db, -6, 0.5) {
			t.Errorf("burst %d, clock %+g ppm: the tone at %.2f dBFS, want -6 ±0.5", c.burst, c.ppm, db)
		}
	}
}
