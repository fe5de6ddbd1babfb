package mix

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// The program format: 10 ms blocks of interleaved stereo at 48 kHz, float32
// inside the mixer, int16 out of Mix.
const (
	Rate        = 48000
	Channels    = 2
	BlockFrames = 480

	// MasterCeilingDB is the master limiter's ceiling until SetMaster
	// changes it: the highest true peak (dBFS) the program may reach.
	MasterCeilingDB = -1.0
	// TargetQueueMS is how full a strip's queue gets before Mix plays it;
	// drift control then keeps it where the first read left it, at most a
	// block under this.
	TargetQueueMS = targetFrames * 1000 / Rate
)

// Latency is how long a source's sound spends in the mixer, from the moment
// its device hands it over to the Mix that plays it: the queue drift control
// keeps at about targetFrames, behind the block a device that delivers 10 ms
// at a time has just pushed. (A media file's sound, which is pushed as it
// falls due rather than once heard, plays about a block sooner.) The program
// stamps the mix this much earlier than it reads it, so that a microphone
// stays in step with the camera.
const Latency = time.Duration(targetFrames+BlockFrames) * time.Second / Rate

// Mixer mixes its strips into the program sound, a block per Mix.
type Mixer struct {
	mu     sync.Mutex // Mix, and every change to the strips and the master
	closed bool
	strips []*Strip // in the mix, in the order added; leaving ones until they ramp out
	byID   map[string]*Strip
	sum    [Channels * BlockFrames]float32
	clk    *clock

	// The master bus.
	gain   float32 // where the master gain's ramp stands
	gainTo float32
	lim    *limiter
	meter  meter
}

// New makes an empty mixer: master gain 0 dB, the limiter on at
// MasterCeilingDB. Close frees it.
func New() (*Mixer, error) {
	lim, err := newLimiter(MasterCeilingDB)
	if err != nil {
		return nil, err
	}
	return &Mixer{byID: map[string]*Strip{}, clk: newClock(), gain: 1, gainTo: 1, lim: lim}, nil
}

// Close frees every strip and the master bus. Safe to call twice; Mix and
// the strips' Push fail afterwards.
func (m *Mixer) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.closed = true
	for _, s := range m.strips {
		s.close()
	}
	m.strips, m.byID = nil, nil
	m.lim.close()
}

// AddStrip adds a source to the mix, active (SetActive turns it off). It is
// silent until its first Push has filled its queue to the target.
func (m *Mixer) AddStrip(id string, cfg StripConfig) (*Strip, error) {
	// Built outside the lock: a filter graph takes a while, and Mix must
	// not wait for it.
	s, err := newStrip(id, cfg, m.clk)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.byID[id] != nil {
		s.close()
		if m.closed {
			return nil, fmt.Errorf("mix: add strip %q: %w", id, ErrClosed)
		}
		return nil, fmt.Errorf("mix: add strip %q: the mixer has one", id)
	}
	m.byID[id] = s
	m.strips = append(m.strips, s)
	return s, nil
}

// RemoveStrip takes a strip out of the mix: its sound ramps out over the
// next block, then it is freed. An unknown id does nothing.
func (m *Mixer) RemoveStrip(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.byID[id]
	if s == nil {
		return
	}
	delete(m.byID, id)
	s.leaving = true
	if s.gain == 0 || s.act == 0 {
		// Already silent in the mix: nothing to ramp.
		if i := slices.Index(m.strips, s); i >= 0 {
			m.strips = slices.Delete(m.strips, i, i+1)
		}
		s.close()
	}
}

// SetActive turns a strip on or off in the mix (with the scene), ramping
// over 20 ms. An inactive strip still takes its input and Mix still reads
// (and drops) it, so its queue and drift control stay where they are and it
// comes back in step. An unknown id does nothing.
func (m *Mixer) SetActive(id string, on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.byID[id]; s != nil {
		s.active = on
	}
}

// SetMaster sets the master gain (dB, -inf..+20), whether the true-peak
// limiter runs, and its ceiling (dBFS, -24..0); values beyond are clamped,
// NaNs leave that setting as it was. Gain ramps over a block; turning the
// limiter on or off cross-fades over a block.
func (m *Mixer) SetMaster(gainDB float64, limiter bool, ceilingDB float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	if !math.IsNaN(gainDB) {
		m.gainTo = float32(dbToGain(min(gainDB, MaxGainDB)))
	}
	if !math.IsNaN(ceilingDB) {
		m.lim.ceil = ceiling(clamp(ceilingDB, -24, 0))
	}
	m.lim.on = limiter
}

// MasterLevel is the program's meter: after the master gain and limiter.
func (m *Mixer) MasterLevel() Level { return m.meter.level() }

// Mix produces the next 10 ms block of the program into out: 2×BlockFrames
// interleaved stereo samples. Each strip's next block is added with its
// gain (ramped over the block when it changes), then the master gain and
// the true-peak limiter run, and the result is converted to int16, clipping
// what is still beyond full scale (with the limiter off). The caller paces
// it: once per 10 ms of program time.
func (m *Mixer) Mix(out []int16) error {
	if len(out) != Channels*BlockFrames {
		return fmt.Errorf("mix: a block is %d samples, not %d", Channels*BlockFrames, len(out))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("mix: %w", ErrClosed)
	}
	m.clk.mixed()
	clear(m.sum[:])
	kept := m.strips[:0]
	for _, s := range m.strips {
		if s.mix(&m.sum) {
			s.close()
			continue
		}
		kept = append(kept, s)
	}
	clear(m.strips[len(kept):])
	m.strips = kept

	// Master gain, ramped when it changes.
	g0, g1 := m.gain, m.gainTo
	if g0 != g1 || g1 != 1 {
		d := (g1 - g0) / rampFrames
		for i := range BlockFrames {
			g := g0 + d*float32(i+1)
			m.sum[Channels*i] *= g
			m.sum[Channels*i+1] *= g
		}
		m.gain = g1
	}
	if err := m.lim.process(m.sum[:]); err != nil {
		return err
	}

	// To int16: rounded, clipped; the meter sees what goes out.
	const full, top = 32768, float32(32767.0 / 32768)
	var peak, sqL, sqR float32
	for i := 0; i+1 < len(m.sum) && i+1 < len(out); i += Channels {
		l, r := min(max(m.sum[i], -1), top), min(max(m.sum[i+1], -1), top)
		sqL += l * l
		sqR += r * r
		if a := max(abs32(l), abs32(r)); a > peak {
			peak = a
		}
		out[i], out[i+1] = toInt16(l*full), toInt16(r*full)
	}
	sq := sqL + sqR
	m.meter.add(peak, float64(sq))
	return nil
}

// toInt16 rounds x, already within the int16 range, half away from zero.
func toInt16(x float32) int16 {
	if x >= 0 {
		return int16(x + 0.5)
	}
	return int16(x - 0.5)
}
