package mix

import (
	"fmt"
	"testing"

	"github.com/tallystudio/tally/internal/cputime"
	"github.com/tallystudio/tally/internal/raceflag"
)

// program is a studio's worth of sources for the benchmarks and the
// allocation test: n sources, each pushing 10 ms chunks of its own tone,
// prepared in advance so that making them costs nothing in the loop.
type program struct {
	m      *Mixer
	strips []*Strip
	chunks [][][]int16 // per source, a second of chunks
	rates  []int
	chans  []int
	out    []int16
	i      int
}

type source struct {
	rate, channels int
	cfg            StripConfig
}

// gateCompressor is the benchmarks' strip: a gate and a compressor.
var gateCompressor = StripConfig{Filters: []Filter{{Kind: NoiseGate}, {Kind: Compressor}}}

func newProgram(t testing.TB, sources []source) *program {
	p := &program{m: newMixer(t), out: make([]int16, Channels*BlockFrames)}
	for i, src := range sources {
		p.strips = append(p.strips, addStrip(t, p.m, fmt.Sprint("src", i), src.cfg))
		// -12 dBFS each: over the compressors' threshold, so they work;
		// four reach full scale together, so without them the master
		// limiter does.
		tn := newTone(300+float64(i)*217, src.rate, src.channels, -12)
		var c [][]int16
		for range 100 {
			c = append(c, tn.next(src.rate/100))
		}
		p.chunks = append(p.chunks, c)
		p.rates = append(p.rates, src.rate)
		p.chans = append(p.chans, src.channels)
	}
	for range 200 { // past the start, the queues at their targets
		p.block(t)
	}
	return p
}

// block is one 10 ms of the program: every source pushes, then Mix.
func (p *program) block(t testing.TB) {
	for j, s := range p.strips {
		if err := s.Push(p.chunks[j][p.i%100], p.rates[j], p.chans[j]); err != nil {
			t.Fatal(err)
		}
	}
	p.i++
	if err := p.m.Mix(p.out); err != nil {
		t.Fatal(err)
	}
}

func stereo48k(n int, cfg StripConfig) []source {
	s := make([]source, n)
	for i := range s {
		s[i] = source{Rate, 2, cfg}
	}
	return s
}

// benchProgram runs blocks of p and reports them per 10 ms of program: the
// share of one core they take, from the wall clock and from the CPU time
// the process used (which a busy machine inflates less).
func benchProgram(b *testing.B, sources []source) {
	p := newProgram(b, sources)
	b.ReportAllocs()
	cpu := cputime.Process()
	for b.Loop() {
		p.block(b)
	}
	cpu = cputime.Process() - cpu
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(ns, "ns/block")
	b.ReportMetric(ns/10e6*100, "%core")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/10e6*100, "cpu%core")
}

// The target: 4 stereo 48 kHz sources with a gate and a compressor
// each, pushing 10 ms chunks, mixed and limited: ≤ 2 % of a core (≤ 200 µs a
// block), no allocation.
func BenchmarkMix4StripsGateCompressor(b *testing.B) { benchProgram(b, stereo48k(4, gateCompressor)) }

// The same without filters: resampling (with drift compensation), queues,
// the mix and the master limiter.
func BenchmarkMix4StripsNoFilters(b *testing.B) { benchProgram(b, stereo48k(4, StripConfig{})) }

// Sources at other rates and layouts: two 44.1 kHz mono microphones, a
// 32 kHz stereo source, a 48 kHz one.
func BenchmarkMix4StripsMixedRates(b *testing.B) {
	benchProgram(b, []source{{44100, 1, gateCompressor}, {44100, 1, gateCompressor}, {32000, 2, gateCompressor}, {Rate, 2, gateCompressor}})
}

// Once running, a block allocates nothing: not in Push (resampling,
// filters, delay, queue), not in Mix (strips, master, limiter, meters).
func TestSteadyStateAllocatesNothing(t *testing.T) {
	if raceflag.Enabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	sources := []source{
		{Rate, 2, gateCompressor},
		{44100, 1, StripConfig{Filters: []Filter{{Kind: Limiter}, {Kind: NoiseSuppression}}}},
		{Rate, 2, StripConfig{SyncMS: 120, Mono: true, GainDB: -3}},
		{32000, 2, StripConfig{}},
	}
	p := newProgram(t, sources)
	p.m.SetActive("src3", false)
	if n := testing.AllocsPerRun(300, func() { p.block(t) }); n != 0 {
		t.Errorf("%.1f allocations a block, want none", n)
	}
}
