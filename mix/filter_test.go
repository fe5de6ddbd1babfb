package mix

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// levelThrough is the level (dBFS, left channel, last second) of a 997 Hz
// tone at dbfs after two seconds through a strip with filters fs.
func levelThrough(t *testing.T, fs []Filter, dbfs float64) float64 {
	t.Helper()
	m := newMixer(t)
	s := addStrip(t, m, "a", StripConfig{Filters: fs})
	out := run(t, m, 200, toneFeed(s, newTone(997, Rate, 2, dbfs)))
	return goertzelDB(last(channel(out, 0), 1), 997)
}

// A noise gate at its default threshold (-40 dBFS) silences a -60 dBFS tone
// and passes a -10 dBFS one as it is.
func TestNoiseGateSilencesQuietAndPassesLoud(t *testing.T) {
	gate := []Filter{{Kind: NoiseGate}}
	if got := levelThrough(t, gate, -60); got > -110 {
		t.Errorf("-60 dBFS tone through the gate: %.1f dBFS, want silence", got)
	}
	if got := levelThrough(t, gate, -10); !near(got, -10, 0.5) {
		t.Errorf("-10 dBFS tone through the gate: %.2f dBFS, want -10 ±0.5", got)
	}
}

// A compressor at its defaults (-18 dBFS, 4:1, RMS detection, soft knee)
// turns a -6 dBFS tone (-9 dBFS RMS) down to about -14 dBFS, and a limiter
// holds one at its ceiling.
func TestCompressorAndLimiterReduceLoudTone(t *testing.T) {
	got := levelThrough(t, []Filter{{Kind: Compressor}}, -6)
	if !near(got, -14.4, 1.5) {
		t.Errorf("-6 dBFS tone through a -18 dBFS 4:1 compressor: %.2f dBFS, want about -14.4", got)
	}
	got = levelThrough(t, []Filter{{Kind: Limiter, CeilingDB: -12}}, -6)
	if got > -11.5 || got < -14 {
		t.Errorf("-6 dBFS tone through a -12 dBFS limiter: %.2f dBFS, want about -12", got)
	}
}

// Noise suppression takes several dB off steady white noise at its noise
// floor: the default (-50 dBFS), or one set to match a noisier source.
func TestNoiseSuppressionLowersWhiteNoise(t *testing.T) {
	noiseLevel := func(rms float64, fs []Filter) float64 {
		m := newMixer(t)
		s := addStrip(t, m, "a", StripConfig{Filters: fs})
		r := rand.New(rand.NewPCG(1, 2))
		f := toneFeed(s, newTone(0, Rate, 2, 0))
		f.noise = func(n int) []int16 {
			pcm := make([]int16, 2*n)
			for i := range pcm {
				pcm[i] = int16(r.NormFloat64() * dbToGain(rms) * 32767)
			}
			return pcm
		}
		out := run(t, m, 300, f)
		return rmsDB(last(channel(out, 0), 1))
	}
	for _, c := range []struct {
		rms float64
		f   Filter
	}{
		{-50, Filter{Kind: NoiseSuppression}},
		{-30, Filter{Kind: NoiseSuppression, NoiseFloorDB: -30, ReductionDB: 20}},
	} {
		plain := noiseLevel(c.rms, nil)
		cleaned := noiseLevel(c.rms, []Filter{c.f})
		t.Logf("white noise: %.1f dBFS, %.1f with %+v", plain, cleaned, c.f)
		if cleaned > plain-6 {
			t.Errorf("noise suppression %+v: %.1f dBFS from %.1f, want at least 6 dB less", c.f, cleaned, plain)
		}
	}
}

// An unknown filter kind, or a setting out of range, is an error that names
// it, from AddStrip and from SetConfig, and leaves the strip as it was.
func TestInvalidFilterIsNamed(t *testing.T) {
	m := newMixer(t)
	_, err := m.AddStrip("a", StripConfig{Filters: []Filter{{Kind: NoiseGate}, {Kind: "reverb"}}})
	if err == nil || !strings.Contains(err.Error(), `"reverb"`) || !strings.Contains(err.Error(), "filter 2") {
		t.Errorf("AddStrip with a reverb: %v, want an error naming filter 2's kind", err)
	}
	s := addStrip(t, m, "a", StripConfig{Filters: []Filter{{Kind: Compressor}}})
	for _, c := range []struct {
		f    Filter
		want string
	}{
		{Filter{Kind: "Compressor"}, `"Compressor"`},
		{Filter{Kind: Compressor, Ratio: 50}, "ratio 50"},
		{Filter{Kind: Limiter, CeilingDB: 3}, "limit 3"},
		{Filter{Kind: NoiseGate, ThresholdDB: -100}, "threshold -100"},
		{Filter{Kind: NoiseSuppression, ReductionDB: 200}, "nr 200"},
	} {
		err := s.SetConfig(StripConfig{Filters: []Filter{c.f}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("SetConfig %+v: %v, want an error naming %s", c.f, err, c.want)
		}
	}
	if !strings.HasPrefix(s.chain, "acompressor=threshold=0.1258") {
		t.Errorf("after the failed changes the strip runs %q", s.chain)
	}
}

// Adding noise suppression live costs the strip no sync: afftdn holds a
// window of sound inside, the queue drains by as much, and drift control
// takes that as the new target rather than bend the pitch to refill it.
func TestFilterChangeKeepsLatency(t *testing.T) {
	m := newMixer(t)
	s := addStrip(t, m, "a", StripConfig{})
	f := toneFeed(s, newTone(997, Rate, 2, -12))
	run(t, m, 100, f)
	before := s.Stats()
	if err := s.SetConfig(StripConfig{Filters: []Filter{{Kind: NoiseSuppression}}}); err != nil {
		t.Fatal(err)
	}
	var worst float64
	for range 300 {
		run(t, m, 1, f)
		worst = max(worst, math.Abs(s.Stats().CorrectionPPM))
	}
	st := s.Stats()
	t.Logf("queue %.1f ms before, %.1f after; correction at most %.0f ppm", before.QueueMS, st.QueueMS, worst)
	if worst > 100 || st.Underruns != before.Underruns || st.Dropped != before.Dropped {
		t.Errorf("after adding a filter: correction up to %.0f ppm, %+v (before %+v); want no steering, no underrun or drop", worst, st, before)
	}
}
