package mix

import (
	"math"
	"testing"
)

// A -6 dBFS sine reads -6 dBFS peak and -9 dBFS RMS on its strip's meter
// and the master's; after silence the peak falls at once, the peak hold
// stays about 1.5 s, then falls too.
func TestLevelsOfSineAndPeakHold(t *testing.T) {
	m := newMixer(t)
	s := addStrip(t, m, "a", StripConfig{})
	q := addStrip(t, m, "quiet", StripConfig{GainDB: -20})
	f := toneFeed(s, newTone(997, Rate, 2, -6))
	fq := toneFeed(q, newTone(440, Rate, 2, -6))
	run(t, m, 100, f, fq)
	for name, l := range map[string]Level{"strip": s.Level(), "master": m.MasterLevel()} {
		want := -6.0
		if name == "master" { // the -26 dBFS tone adds a little
			want = gainToDB(dbToGain(-6) + dbToGain(-26))
		}
		if !near(l.PeakDB, want, 0.2) || !near(l.PeakHoldDB, l.PeakDB, 0.01) {
			t.Errorf("%s: peak %.2f, hold %.2f dBFS, want %.2f", name, l.PeakDB, l.PeakHoldDB, want)
		}
	}
	if l := s.Level(); !near(l.RMSDB, -9.03, 0.2) {
		t.Errorf("strip RMS %.2f dBFS, want -9.03", l.RMSDB)
	}
	if l := q.Level(); !near(l.PeakDB, -26, 0.2) || !near(l.RMSDB, -29.03, 0.2) {
		t.Errorf("strip at -20 dB gain: peak %.2f, RMS %.2f dBFS, want -26 and -29 (the meter is after the gain)", l.PeakDB, l.RMSDB)
	}

	silence := func(n int) []int16 { return make([]int16, 2*n) }
	f.noise, fq.noise = silence, silence
	run(t, m, 50, f, fq)
	l := s.Level()
	if !math.IsInf(l.PeakDB, -1) || !math.IsInf(l.RMSDB, -1) || !near(l.PeakHoldDB, -6, 0.2) {
		t.Errorf("0.5 s into silence: %+v, want peak and RMS -inf, hold still -6", l)
	}
	run(t, m, 50, f, fq)
	if l := s.Level(); !near(l.PeakHoldDB, -6, 0.2) {
		t.Errorf("1 s into silence: hold %.2f, want still -6", l.PeakHoldDB)
	}
	run(t, m, 70, f, fq)
	if l := s.Level(); !math.IsInf(l.PeakHoldDB, -1) {
		t.Errorf("1.7 s into silence: hold %.2f, want -inf", l.PeakHoldDB)
	}
	if l := m.MasterLevel(); !math.IsInf(l.PeakHoldDB, -1) || !math.IsInf(l.RMSDB, -1) {
		t.Errorf("master 1.7 s into silence: %+v, want -inf", l)
	}
}
