package mix

import (
	"math"
	"testing"
	"time"
)

// tone is a sine source at its own rate and channel count, continuous from
// one chunk to the next.
type tone struct {
	freq, rate float64
	amp        float64 // peak, full scale = 1
	channels   int
	phase      float64
}

func newTone(freq float64, rate, channels int, dbfs float64) *tone {
	return &tone{freq: freq, rate: float64(rate), amp: dbToGain(dbfs), channels: channels}
}

// next is the tone's next frames, interleaved int16.
func (t *tone) next(frames int) []int16 {
	pcm := make([]int16, frames*t.channels)
	step := 2 * math.Pi * t.freq / t.rate
	for i := range frames {
		v := int16(math.Round(t.amp * 32767 * math.Sin(t.phase)))
		for c := range t.channels {
			pcm[i*t.channels+c] = v
		}
		t.phase = math.Mod(t.phase+step, 2*math.Pi)
	}
	return pcm
}

// newMixer is a Mixer closed when the test ends.
func newMixer(t testing.TB) *Mixer {
	t.Helper()
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	// The tests pace Mix and Push by counting, not in real time: every
	// Push comes as if at the start of a block period, whatever the
	// machine's scheduling, so their results do not depend on it.
	stopped := time.Unix(100, 0)
	m.clk.now = func() time.Time { return stopped }
	return m
}

func addStrip(t testing.TB, m *Mixer, id string, cfg StripConfig) *Strip {
	t.Helper()
	s, err := m.AddStrip(id, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// feed is one source pushing into a strip, chunk frames per Mix at rate
// (48 kHz sources push one block).
type feed struct {
	s     *Strip
	t     *tone
	frac  float64 // frames per Mix: rate/100, or more for a fast clock
	acc   float64
	noise func(n int) []int16
}

// run mixes blocks blocks, every feed pushing its share before each Mix, and
// returns the program, interleaved.
func run(t testing.TB, m *Mixer, blocks int, feeds ...*feed) []int16 {
	t.Helper()
	out := make([]int16, 0, blocks*Channels*BlockFrames)
	block := make([]int16, Channels*BlockFrames)
	for range blocks {
		for _, f := range feeds {
			before := math.Floor(f.acc)
			f.acc += f.frac
			n := int(math.Floor(f.acc) - before)
			var pcm []int16
			if f.noise != nil {
				pcm = f.noise(n)
			} else {
				pcm = f.t.next(n)
			}
			if err := f.s.Push(pcm, int(f.t.rate), f.t.channels); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.Mix(block); err != nil {
			t.Fatal(err)
		}
		out = append(out, block...)
	}
	return out
}

func toneFeed(s *Strip, t *tone) *feed { return &feed{s: s, t: t, frac: t.rate / 100} }

// channel is one channel of interleaved int16, as floats (full scale 1).
func channel(pcm []int16, c int) []float64 {
	x := make([]float64, len(pcm)/Channels)
	for i := range x {
		x[i] = float64(pcm[Channels*i+c]) / 32768
	}
	return x
}

// goertzelDB is the level (peak amplitude, dBFS) of the component of x at
// freq: a Hann-windowed Goertzel, so that a neighbouring tone's leakage is
// far below what the tests compare.
func goertzelDB(x []float64, freq float64) float64 {
	n := len(x)
	w := 2 * math.Pi * freq / Rate
	coef := 2 * math.Cos(w)
	var s1, s2, wsum float64
	for i, v := range x {
		h := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1))
		wsum += h
		s := v*h + coef*s1 - s2
		s2, s1 = s1, s
	}
	re := s1 - s2*math.Cos(w)
	im := s2 * math.Sin(w)
	return gainToDB(2 * math.Hypot(re, im) / wsum)
}

// rmsDB is the RMS of x in dBFS.
func rmsDB(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return gainToDB(math.Sqrt(s / float64(len(x))))
}

// truePeakDB is the highest peak of x oversampled 4× (dBFS): a 4× windowed
// sinc interpolator, 16 taps a phase, written for the test so that it does
// not share the limiter's detection (libswresample).
func truePeakDB(x []float64) float64 {
	const taps, up = 16, 4
	var h [up][taps]float64
	for p := range up {
		var sum float64
		for k := range taps {
			// tap k sits at sample offset k-taps/2+1, the point at p/up.
			d := float64(k-taps/2+1) - float64(p)/up
			v := 1.0
			if d != 0 {
				v = math.Sin(math.Pi*d) / (math.Pi * d)
			}
			// A Blackman window centred on the point.
			v *= 0.42 + 0.5*math.Cos(2*math.Pi*d/taps) + 0.08*math.Cos(4*math.Pi*d/taps)
			h[p][k] = v
			sum += v
		}
		for k := range taps {
			h[p][k] /= sum
		}
	}
	var peak float64
	for i := taps; i+taps < len(x); i++ {
		for p := range up {
			var y float64
			for k := range taps {
				y += h[p][k] * x[i+k-taps/2+1]
			}
			peak = max(peak, math.Abs(y))
		}
	}
	return gainToDB(peak)
}

// maxStep is the largest jump between neighbouring samples of x.
func maxStep(x []float64) float64 {
	var m float64
	for i := 1; i < len(x); i++ {
		m = max(m, math.Abs(x[i]-x[i-1]))
	}
	return m
}

// last is the last d seconds of x.
func last(x []float64, d float64) []float64 { return x[len(x)-int(d*Rate):] }

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }
