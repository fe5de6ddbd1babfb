package mix

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/asticode/go-astiav"

	"github.com/tallystudio/tally/internal/avmem"
)

// StripConfig is how a strip sounds in the mix. Every field can change live
// (Strip.SetConfig).
type StripConfig struct {
	GainDB  float64  // -inf (math.Inf(-1)) .. +20
	Muted   bool     //
	SyncMS  int      // delay this strip by this much (0..5000), for a camera whose picture lags its microphone
	Mono    bool     // downmix to mono: both channels their average
	Filters []Filter // run in this order, before the delay
}

// StripStats is a strip's queue and clock at the last Mix.
type StripStats struct {
	QueueMS       float64 // processed sound waiting for Mix
	Dropped       uint64  // blocks dropped because the queue was full (500 ms), or to catch up on start
	Underruns     uint64  // blocks Mix found the queue short since the strip started
	CorrectionPPM float64 // drift correction: how much faster than the program the source's clock runs, as the resampler compensates it
}

// Limits of a strip's input and settings.
const (
	MaxGainDB   = 20
	MaxSyncMS   = 5000
	MaxChannels = 16 // a source's channels; more than two are downmixed by libswresample
	MinRate     = 8000
	MaxRate     = 384000

	queueFrames  = 500 * Rate / 1000 // a strip's queue: 500 ms
	catchUp      = 50 * Rate / 1000  // excess over the target dropped when a strip starts
	pushPiece    = 1024              // source frames resampled and filtered at a time
	compDistance = 60 * Rate         // frames a correction is spread over (re-set by every Push)
	rampFrames   = BlockFrames       // gain, mute, mono and removal ramps: one block
	activeFrames = 2 * BlockFrames   // SetActive's ramp: 20 ms
	rebaseBlocks = 10                // a new filter graph's latency shows in the queue within this
)

// check validates c and returns its filter chain.
func (c StripConfig) check() (string, error) {
	if math.IsNaN(c.GainDB) || c.GainDB > MaxGainDB || math.IsInf(c.GainDB, 1) {
		return "", fmt.Errorf("gain %g dB out of range -inf..%d", c.GainDB, MaxGainDB)
	}
	if c.SyncMS < 0 || c.SyncMS > MaxSyncMS {
		return "", fmt.Errorf("sync delay %d ms out of range 0..%d", c.SyncMS, MaxSyncMS)
	}
	return chainFor(c.Filters)
}

// Strip is one source in the mix. Push comes from the source's goroutine;
// Mix reads what it queued. The two meet only in the queue, under mu, for
// the time of a copy.
type Strip struct {
	id  string
	clk *clock

	// The source's side: Push, and what SetConfig changes there.
	proc   sync.Mutex
	closed bool
	rs     *avmem.Resampler // nil until the first Push
	rsMem  avmem.Closer     // the resampler's context
	inRate int              // what rs converts from
	inCh   int
	outCh  int       // what rs makes: the source's channels, up to 2
	chain  string    // the filter chain g runs
	g      *graph    // nil without filters
	delay  delayLine // the sync delay
	conv   []float64 // the resampler's output
	wide   []float64 // a mono source, made stereo
	out    []float32 // processed, for the queue
	first  float64   // the next piece queued is a new Push's first: the block phase it came at, else -1

	// Between Push and Mix, under mu.
	mu      sync.Mutex
	q       queue
	primed  bool // the queue reached the target: Mix reads it
	started bool // primed once: a short queue is an underrun from then on
	// burst is the most a single Push has brought, in frames at Rate: the
	// queue must hold that much more than a block to ride out the wait for
	// the next one.
	burst atomic.Int64
	// ahead is how many frames of the newest Push are not yet due: its
	// size, plus the part of a block period that had passed when it came
	// (the next read is due that much sooner), less a block for each read
	// since.
	ahead     int
	fadeIn    bool    // the next block read ramps in (after a start or an underrun)
	ctl       drift   // the drift controller
	ppm       float64 // the correction Push applies
	gainDB    float64 // the settings Mix ramps to
	muted     bool
	mono      bool
	dropped   uint64
	underruns uint64

	meter meter

	// Mix's own, under the Mixer's lock.
	active  bool
	leaving bool
	gain    float32 // where each ramp stands
	act     float32
	monoMix float32
	block   [Channels * BlockFrames]float32
}

// newStrip builds a strip; its resampler comes with the first Push, when the
// source's format is known.
func newStrip(id string, cfg StripConfig, clk *clock) (*Strip, error) {
	chain, err := cfg.check()
	if err != nil {
		return nil, fmt.Errorf("mix: strip %q: %w", id, err)
	}
	s := &Strip{id: id, clk: clk, q: newQueue(queueFrames), active: true, act: 1}
	if chain != "" {
		if s.g, err = newGraph(chain); err != nil {
			return nil, fmt.Errorf("mix: strip %q: %w", id, err)
		}
	}
	s.chain = chain
	s.delay.set(cfg.SyncMS * Rate / 1000)
	s.delay.fade = 0 // nothing to fade from yet
	s.gainDB, s.muted, s.mono = cfg.GainDB, cfg.Muted, cfg.Mono
	s.gain = s.targetGain()
	if cfg.Mono {
		s.monoMix = 1
	}
	return s, nil
}

// ID is the strip's id in its Mixer.
func (s *Strip) ID() string { return s.id }

// Push takes captured samples: interleaved int16 at the source's own rate
// and channel count, as capture.AudioReader gives them, from the source's
// goroutine; safe to call concurrently with Mix. They are resampled once to
// 48 kHz (libswresample; a mono source is then copied to both channels, more
// than two channels are downmixed), run through the strip's filters, delayed
// by its sync delay and queued for Mix. A change of rate or channel count
// re-initialises the resampler.
func (s *Strip) Push(pcm []int16, rate, channels int) error {
	if len(pcm) == 0 {
		return nil
	}
	if channels < 1 || channels > MaxChannels || len(pcm)%channels != 0 {
		return fmt.Errorf("mix: strip %q: %d samples in %d channels", s.id, len(pcm), channels)
	}
	if rate < MinRate || rate > MaxRate {
		return fmt.Errorf("mix: strip %q: sample rate %d out of range %d..%d", s.id, rate, MinRate, MaxRate)
	}
	s.proc.Lock()
	defer s.proc.Unlock()
	if s.closed {
		return fmt.Errorf("mix: strip %q: %w", s.id, ErrClosed)
	}
	if rate != s.inRate || channels != s.inCh {
		if err := s.configure(rate, channels); err != nil {
			return err
		}
	}
	if f := int64(len(pcm)/channels) * Rate / int64(rate); f > s.burst.Load() {
		s.burst.Store(f)
	}
	s.first = s.clk.phase()
	in := int16Bytes(pcm)
	piece := 2 * channels * pushPiece
	for len(in) > 0 {
		k := min(len(in), piece)
		if err := s.process(in[:k]); err != nil {
			return err
		}
		in = in[k:]
	}
	return nil
}

// configure (re)makes the resampler for a source format, and the buffers a
// piece of it needs.
func (s *Strip) configure(rate, channels int) error {
	in := avmem.AudioFormat{Rate: rate, Channels: channels, Format: astiav.SampleFormatS16}
	out := avmem.AudioFormat{Rate: Rate, Channels: min(channels, Channels), Format: astiav.SampleFormatDbl}
	var err error
	if s.rs == nil {
		s.rs, err = avmem.NewResampler(&s.rsMem, in, out)
	} else {
		err = s.rs.Reconfigure(in, out)
	}
	if err != nil {
		s.inRate, s.inCh = 0, 0
		return fmt.Errorf("mix: strip %q: %w", s.id, err)
	}
	s.inRate, s.inCh, s.outCh = rate, channels, out.Channels
	// Room for a piece at the correction's extreme, and what the resampler
	// holds back.
	frames := int(math.Ceil(float64(pushPiece)*Rate/float64(rate)*(1+maxPPM/1e6))) + 64
	s.conv = slices.Grow(s.conv[:0], Channels*frames)[:Channels*frames]
	s.wide = slices.Grow(s.wide[:0], Channels*frames)[:Channels*frames]
	return nil
}

// process resamples, filters and delays one piece of input and queues it.
func (s *Strip) process(pcm []byte) error {
	s.mu.Lock()
	ppm := s.ppm
	s.mu.Unlock()
	// A fast source (ppm > 0) needs fewer output frames: a negative delta.
	if err := s.rs.SetCompensation(int(math.Round(-ppm*compDistance/1e6)), compDistance); err != nil {
		return fmt.Errorf("mix: strip %q: %w", s.id, err)
	}
	n, err := s.rs.Convert(doubleBytes(s.conv), pcm)
	if err != nil {
		return fmt.Errorf("mix: strip %q: %w", s.id, err)
	}
	st := s.conv[:Channels*n]
	if s.outCh == 1 {
		st = s.wide[:Channels*n]
		for i, v := range s.conv[:n] {
			st[2*i], st[2*i+1] = v, v
		}
	}
	if s.g != nil {
		if st, err = s.g.run(st); err != nil {
			return fmt.Errorf("mix: strip %q: %w", s.id, err)
		}
	}
	if len(st) == 0 {
		return nil
	}
	s.out = slices.Grow(s.out[:0], len(st))[:len(st)]
	for i, v := range st {
		s.out[i] = float32(v)
	}
	s.delay.process(s.out)
	s.mu.Lock()
	s.dropped += uint64(s.q.write(s.out))
	if s.first >= 0 {
		s.ahead, s.first = int(s.first*BlockFrames), -1
	}
	s.ahead += len(s.out) / Channels
	s.mu.Unlock()
	return nil
}

// SetConfig changes the strip live: gain, mute and mono ramp over the next
// block; a change of filters rebuilds the filter graph (their state starts
// afresh); a change of sync delay cross-fades to the new delay.
func (s *Strip) SetConfig(cfg StripConfig) error {
	chain, err := cfg.check()
	if err != nil {
		return fmt.Errorf("mix: strip %q: %w", s.id, err)
	}
	s.proc.Lock()
	if s.closed {
		s.proc.Unlock()
		return fmt.Errorf("mix: strip %q: %w", s.id, ErrClosed)
	}
	var old *graph
	changed := chain != s.chain
	if changed {
		var g *graph
		if chain != "" {
			if g, err = newGraph(chain); err != nil {
				s.proc.Unlock()
				return fmt.Errorf("mix: strip %q: %w", s.id, err)
			}
		}
		old, s.g, s.chain = s.g, g, chain
	}
	s.delay.set(cfg.SyncMS * Rate / 1000)
	s.proc.Unlock()
	s.mu.Lock()
	s.gainDB, s.muted, s.mono = cfg.GainDB, cfg.Muted, cfg.Mono
	if changed && s.started {
		s.ctl.relearn(rebaseBlocks, minTarget, max(int(s.ctl.target), targetFrames))
	}
	s.mu.Unlock()
	old.close()
	return nil
}

// Level is the strip's meter, after gain, mute and SetActive: what goes into
// the mix.
func (s *Strip) Level() Level { return s.meter.level() }

// Stats is the strip's queue and drift correction as of the last Mix.
func (s *Strip) Stats() StripStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return StripStats{
		QueueMS:       float64(s.q.n) * 1000 / Rate,
		Dropped:       s.dropped,
		Underruns:     s.underruns,
		CorrectionPPM: s.ppm,
	}
}

// close frees the strip's libav objects; Push fails from then on.
func (s *Strip) close() {
	s.proc.Lock()
	defer s.proc.Unlock()
	s.closed = true
	s.g.close()
	s.g = nil
	s.rsMem.Close()
	s.rs = nil
}

// ErrClosed is what a removed strip's Push and SetConfig, and a closed
// Mixer's calls, return.
var ErrClosed = errors.New("closed")

// targetGain is the linear gain the settings ask for (mu held, or before
// the strip is shared).
func (s *Strip) targetGain() float32 {
	if s.muted {
		return 0
	}
	return float32(dbToGain(s.gainDB))
}

// take reads the next block from the queue into s.block, and reports
// whether it holds any sound (mu held). The queue is first read once it has
// filled to targetFrames; until then the strip is silent. From then on a
// block it cannot fill is an underrun, and it waits to refill to its drift
// target plus the block about to be read (rather than stutter block by
// block), so that it resumes at the level drift control keeps, with no
// correction to make.
func (s *Strip) take() bool {
	q := &s.q
	starting := false
	bursty := false
	if !s.primed {
		burst := int(s.burst.Load())
		bursty = burst > BlockFrames*2
		need := targetFrames
		if s.started {
			need = int(s.ctl.target) + BlockFrames
		}
		if bursty {
			need = max(need, burst+targetFrames) // the trough of its saw at the latency others keep
		}
		if q.n < need {
			if s.started {
				s.underruns++
			}
			return false
		}
		s.primed, s.started, s.fadeIn = true, true, true
		if excess := q.n - need; excess > catchUp {
			// Queued while nobody mixed (Mix started late): that much
			// latency would take the drift control minutes to work off.
			q.skip(excess)
			s.dropped += uint64((excess + BlockFrames - 1) / BlockFrames)
		}
		starting = true
	}
	s.ahead = min(max(s.ahead-BlockFrames, 0), q.n-min(q.n, BlockFrames))
	if q.n < BlockFrames {
		n := q.n
		q.read(s.block[:Channels*n])
		clear(s.block[Channels*n:])
		// What there is fades out over its last frames, so the stop does
		// not click.
		f := min(n, 64)
		for i := range f {
			g := float32(i) / float32(f)
			j := n - f + i
			s.block[Channels*j] *= 1 - g
			s.block[Channels*j+1] *= 1 - g
		}
		s.underruns++
		s.primed = false
		return n > 0
	}
	q.read(s.block[:])
	if s.fadeIn {
		for i := range BlockFrames {
			g := float32(i) / BlockFrames
			s.block[Channels*i] *= g
			s.block[Channels*i+1] *= g
		}
		s.fadeIn = false
	}
	if starting {
		s.ctl.start(bursty)
	}
	s.ppm = s.ctl.update(q.n - s.ahead)
	return true
}

// mix adds the strip's next block, with its ramps, into sum, meters it, and
// reports whether a leaving strip has ramped out (the Mixer's lock held).
func (s *Strip) mix(sum *[Channels * BlockFrames]float32) (gone bool) {
	s.mu.Lock()
	sound := s.take()
	g1 := s.targetGain()
	mono := s.mono
	s.mu.Unlock()
	if s.leaving {
		g1 = 0
	}
	a1 := float32(0)
	if s.active {
		a1 = 1
	}
	m1 := float32(0)
	if mono {
		m1 = 1
	}
	g0, a0, m0 := s.gain, s.act, s.monoMix
	s.gain, s.monoMix = g1, m1
	if a0 < a1 {
		s.act = min(a0+float32(BlockFrames)/activeFrames, a1)
	} else {
		s.act = max(a0-float32(BlockFrames)/activeFrames, a1)
	}
	if !sound || (g0 == 0 && g1 == 0) || (a0 == 0 && a1 == 0) {
		s.meter.add(0, 0)
		return s.leaving && g1 == 0
	}

	b := &s.block
	var peak, sqL, sqR float32
	if g0 == g1 && a0 == a1 && m0 == m1 && m0 == 0 {
		// Steady: one gain for the block.
		k := g1 * a1
		for i := 0; i < len(b); i += Channels {
			l, r := b[i]*k, b[i+1]*k
			sum[i] += l
			sum[i+1] += r
			sqL += l * l
			sqR += r * r
			if a := max(abs32(l), abs32(r)); a > peak {
				peak = a
			}
		}
	} else {
		dg := (g1 - g0) / rampFrames
		da := (s.act - a0) / BlockFrames
		dm := (m1 - m0) / rampFrames
		for i := range BlockFrames {
			f := float32(i + 1)
			k := (g0 + dg*f) * (a0 + da*f)
			l, r := b[Channels*i], b[Channels*i+1]
			if m := m0 + dm*f; m != 0 {
				avg := (l + r) * 0.5
				l += (avg - l) * m
				r += (avg - r) * m
			}
			l, r = l*k, r*k
			sum[Channels*i] += l
			sum[Channels*i+1] += r
			sqL += l * l
			sqR += r * r
			if a := max(abs32(l), abs32(r)); a > peak {
				peak = a
			}
		}
	}
	sq := sqL + sqR
	s.meter.add(peak, float64(sq))
	return s.leaving && g1 == 0
}
