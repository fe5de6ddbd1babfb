package mix

import (
	"math"
	"testing"
)

// Two tones, each source a -6 dBFS sine, one at -12 dB gain and one at
// -6 dB, come out of the mix at -18 and -12 dBFS; muting one takes it out
// entirely.
func TestTwoTonesMixAtTheirGains(t *testing.T) {
	m := newMixer(t)
	a := addStrip(t, m, "a", StripConfig{GainDB: -12})
	b := addStrip(t, m, "b", StripConfig{GainDB: -6})
	fa := toneFeed(a, newTone(440, Rate, 2, -6))
	fb := toneFeed(b, newTone(1000, Rate, 2, -6))
	out := run(t, m, 150, fa, fb)
	for c := range Channels {
		x := last(channel(out, c), 1)
		if got := goertzelDB(x, 440); !near(got, -18, 0.5) {
			t.Errorf("channel %d: 440 Hz at %.2f dBFS, want -18 ±0.5", c, got)
		}
		if got := goertzelDB(x, 1000); !near(got, -12, 0.5) {
			t.Errorf("channel %d: 1000 Hz at %.2f dBFS, want -12 ±0.5", c, got)
		}
	}
	before := goertzelDB(last(channel(out, 0), 1), 1000)

	if err := b.SetConfig(StripConfig{GainDB: -6, Muted: true}); err != nil {
		t.Fatal(err)
	}
	out = run(t, m, 150, fa, fb)
	x := last(channel(out, 0), 1)
	if got := goertzelDB(x, 1000); got > before-60 {
		t.Errorf("muted 1000 Hz at %.1f dBFS, want at least 60 dB under %.1f", got, before)
	}
	if got := goertzelDB(x, 440); !near(got, -18, 0.5) {
		t.Errorf("440 Hz at %.2f dBFS after muting the other, want -18 ±0.5", got)
	}
}

// A 44.1 kHz mono source comes out at 48 kHz in both channels, at its own
// frequency and level.
func TestMono44100SourceMixesIn(t *testing.T) {
	m := newMixer(t)
	s := addStrip(t, m, "mic", StripConfig{})
	out := run(t, m, 200, toneFeed(s, newTone(997, 44100, 1, -6)))
	for c := range Channels {
		x := last(channel(out, c), 1)
		if got := goertzelDB(x, 997); !near(got, -6, 0.5) {
			t.Errorf("channel %d: 997 Hz at %.2f dBFS, want -6 ±0.5", c, got)
		}
		if f := frequency(x); !near(f, 997, 0.5) {
			t.Errorf("channel %d: %.2f Hz, want 997", c, f)
		}
	}
	if st := s.Stats(); st.Underruns != 0 || st.Dropped != 0 {
		t.Errorf("stats %+v: a source at its nominal rate neither underruns nor drops", st)
	}
}

// frequency is x's frequency from its rising zero crossings, interpolated
// between samples.
func frequency(x []float64) float64 {
	first, lastAt, n := -1.0, 0.0, 0
	for i := 1; i < len(x); i++ {
		if x[i-1] < 0 && x[i] >= 0 {
			at := float64(i-1) + x[i-1]/(x[i-1]-x[i])
			if first < 0 {
				first = at
			} else {
				n++
			}
			lastAt = at
		}
	}
	if n == 0 {
		return 0
	}
	return float64(n) * Rate / (lastAt - first)
}

// Two full-scale sources in phase sum to +6 dBFS; the master limiter holds
// the program under its -1 dBFS ceiling in true peak (4× oversampled), also
// for a tone at a quarter of the sample rate sampled 45° off its peaks,
// whose samples all sit 3 dB under them: a sample-peak limiter would let
// its true peak through 3 dB over.
func TestLimiterHoldsTruePeakUnderCeiling(t *testing.T) {
	for _, c := range []struct {
		freq, phase float64
	}{{1000, 0}, {11025 + 3, 0}, {Rate / 4, math.Pi / 4}} {
		m := newMixer(t)
		a := addStrip(t, m, "a", StripConfig{})
		b := addStrip(t, m, "b", StripConfig{})
		ta, tb := newTone(c.freq, Rate, 2, 0), newTone(c.freq, Rate, 2, 0)
		ta.phase, tb.phase = c.phase, c.phase
		out := run(t, m, 200, toneFeed(a, ta), toneFeed(b, tb))
		for ch := range Channels {
			x := channel(out, ch)
			tp, sp := truePeakDB(x), samplePeakDB(x)
			if tp >= MasterCeilingDB {
				t.Errorf("%g Hz, channel %d: true peak %.3f dBFS, want under %g", c.freq, ch, tp, MasterCeilingDB)
			}
			if tp < MasterCeilingDB-1 {
				t.Errorf("%g Hz, channel %d: true peak %.3f dBFS: the limiter took off more than it needed", c.freq, ch, tp)
			}
			if c.phase != 0 && sp > tp-2.5 {
				t.Errorf("%g Hz at 45°: sample peak %.2f dBFS, true peak %.2f: the case does not test peaks between samples", c.freq, sp, tp)
			}
			t.Logf("%g Hz, channel %d: true peak %.3f dBFS, sample peak %.3f", c.freq, ch, tp, sp)
		}
	}
}

func samplePeakDB(x []float64) float64 {
	var p float64
	for _, v := range x {
		p = max(p, math.Abs(v))
	}
	return gainToDB(p)
}
