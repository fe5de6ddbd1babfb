package mix

import (
	"fmt"
	"math"

	"github.com/asticode/go-astiav"

	"github.com/tallystudio/tally/internal/avmem"
)

// The master limiter is a true-peak look-ahead limiter. libavfilter's
// alimiter limits sample peaks only (FFmpeg 8.1 has no true-peak or
// oversampling option for it), and the peaks between samples, which a
// decoder or a DAC reconstructs, reach up to 3 dB higher on loud program;
// running alimiter itself at 4× (aresample=192000,alimiter,aresample=48000)
// costs about 60–100 µs a block, half of the mixer's whole budget. So the
// detection is libswresample's, which does the expensive part, the 4×
// interpolation, in SIMD, and the gain logic, a few operations a sample, is
// here:
//
//   - detection: the block is upsampled to 192 kHz (detection only: the sound
//     itself stays at 48 kHz); for each interval between two samples, the
//     highest of its five 4× values (both ends and the three between), over
//     both channels, is its true peak p, and r = min(1, ceiling/p) the gain
//     it needs;
//   - a running minimum of r over the look-ahead (w+1 intervals), so the gain
//     is down before a peak arrives;
//   - an envelope that follows that minimum down at once and back up with
//     the release time constant;
//   - a moving average over w frames, which makes the attack a smooth ramp
//     instead of a step. Every value averaged is at most the r of the
//     intervals around the sample it is applied to, so the average is too:
//     the peak comes out at or under the ceiling.
//
// The sound is delayed by the look-ahead plus the upsampler's own delay
// (16 frames), about 5.5 ms. Turning the limiter off cross-fades its gain to
// 1 over a block; the delay stays, so nothing jumps.
const (
	limiterLookahead = 5 * Rate / 1000 // w, frames: as alimiter's default attack
	limiterReleaseMS = 50              // as alimiter's default release
	limiterLag       = 24              // frames the detection may trail the input: ≥ the upsampler's 16 + 1
	// limiterMarginDB is how far under the ceiling the limiter aims: room
	// for the int16 rounding after it and for a detector that reads a
	// peak between its 4× points a little low.
	limiterMarginDB = 0.1
	limiterDelay    = limiterLookahead + limiterLag
	upFactor        = 4
)

// ringFrames is the length of the limiter's rings: a power of two, so that
// a position is a mask away, and room for the delay, a block and the
// detection's lag.
const ringFrames = 1024

type limiter struct {
	up   *avmem.Resampler
	upB  []float32 // the upsampler's output, reused
	pend []float32 // per 192 kHz frame from frame upFactor·nR on, max |L|,|R|
	ceil float32

	// the gain pipeline, one value per 48 kHz interval k
	nR     int64     // intervals measured so far
	win    minWindow // running minimum of r over w+1
	env    float32   // release envelope
	rel    float32   // its per-frame coefficient
	box    []float32 // the last w envelope values, a ring
	boxI   int       // its next slot
	boxSum float64   // their sum
	ones   int       // consecutive envelope values at exactly 1
	gains  []float32 // the smoothed gain of each interval, a ring of ringFrames

	hist   []float32    // the input, a ring of ringFrames stereo frames
	nIn    int64        // frames in so far
	on     bool         // limiting wanted
	mix    float32      // how much of the limiter's gain is applied (0..1)
	starve int          // frames whose gain was not measured in time (never, once running)
	mem    avmem.Closer // the upsampler's context
}

// ceiling is the linear peak the limiter holds for a ceiling in dBFS.
func ceiling(db float64) float32 { return float32(dbToGain(db - limiterMarginDB)) }

func newLimiter(ceilingDB float64) (*limiter, error) {
	l := &limiter{
		ceil:  ceiling(ceilingDB),
		env:   1,
		rel:   float32(1 - math.Exp(-1/(limiterReleaseMS*Rate/1000.0))),
		box:   make([]float32, limiterLookahead),
		gains: make([]float32, ringFrames),
		hist:  make([]float32, Channels*ringFrames),
		pend:  make([]float32, 0, upFactor*(BlockFrames+limiterLag)),
		on:    true,
		mix:   1,
		win:   newMinWindow(limiterLookahead + 1),
	}
	for i := range l.box {
		l.box[i] = 1
	}
	l.boxSum, l.ones = limiterLookahead, limiterLookahead
	for i := range l.gains {
		l.gains[i] = 1
	}
	var err error
	l.up, err = avmem.NewResampler(&l.mem,
		avmem.AudioFormat{Rate: Rate, Channels: Channels, Format: astiav.SampleFormatFlt},
		avmem.AudioFormat{Rate: upFactor * Rate, Channels: Channels, Format: astiav.SampleFormatFlt})
	if err != nil {
		l.mem.Close()
		return nil, fmt.Errorf("mix: limiter: %w", err)
	}
	l.upB = make([]float32, Channels*upFactor*(BlockFrames+limiterLag))
	return l, nil
}

func (l *limiter) close() { l.mem.Close() }

// process limits one block of interleaved stereo frames in place (delayed by
// limiterDelay).
func (l *limiter) process(f []float32) error {
	// Detection: upsample, keep each 192 kHz frame's larger magnitude.
	got, err := l.up.Convert(floatBytes(l.upB), floatBytes(f))
	if err != nil {
		return fmt.Errorf("mix: limiter: %w", err)
	}
	var loud float32
	for _, v := range l.pend {
		loud = max(loud, v)
	}
	up := l.upB[:Channels*got]
	for i := 0; i+1 < len(up); i += Channels {
		a := max(abs32(up[i]), abs32(up[i+1]))
		if a > loud {
			loud = a
		}
		l.pend = append(l.pend, a)
	}
	if loud <= l.ceil && l.ones >= limiterLookahead {
		l.quiet()
	} else {
		l.measure()
	}

	// The sound: into the delay ring, out limiterDelay frames later, times
	// the gain measured for it.
	const mask = ringFrames - 1
	step := float32(1) / BlockFrames
	target := float32(0)
	if l.on {
		target = 1
	}
	ready := l.nR - limiterLookahead // the last frame with a measured gain
	for i := 0; i+1 < len(f); i += Channels {
		t := l.nIn
		l.nIn++
		w := Channels * int(t&mask)
		l.hist[w], l.hist[w+1] = f[i], f[i+1]
		d := t - limiterDelay
		if d < 0 {
			f[i], f[i+1] = 0, 0
			continue
		}
		g := float32(1)
		switch {
		case d <= ready:
			g = l.gains[(d+limiterLookahead-1)&mask]
		case l.nR > 0:
			l.starve++
			g = l.gains[(l.nR-1)&mask]
		}
		if l.mix != target {
			if l.mix < target {
				l.mix = min(l.mix+step, 1)
			} else {
				l.mix = max(l.mix-step, 0)
			}
		}
		g = 1 + (g-1)*l.mix
		r := Channels * int(d&mask)
		f[i], f[i+1] = l.hist[r]*g, l.hist[r+1]*g
	}
	return nil
}

// quiet accounts for pending detection that is all under the ceiling while
// the gain pipeline is at rest: every interval it completes gets gain 1,
// and the pipeline's state would not change.
func (l *limiter) quiet() {
	k := 0
	if len(l.pend) > upFactor {
		k = (len(l.pend) - 1) / upFactor // intervals now complete
	}
	for i := range int64(k) {
		l.gains[(l.nR+i)&(ringFrames-1)] = 1
	}
	l.nR += int64(k)
	l.pend = append(l.pend[:0], l.pend[upFactor*k:]...)
}

// measure turns every complete interval of l.pend into a gain.
func (l *limiter) measure() {
	p := l.pend
	for len(p) > upFactor {
		peak := max(p[0], p[1], p[2], p[3], p[4])
		r := float32(1)
		if peak > l.ceil {
			r = l.ceil / peak
		}
		m := l.win.push(l.nR, r)
		if m < l.env {
			l.env = m
		} else if l.env != 1 {
			l.env += (m - l.env) * l.rel
			if l.env > 1-1e-6 {
				l.env = 1
			}
		}
		if l.env == 1 {
			l.ones++
		} else {
			l.ones = 0
		}
		l.boxSum += float64(l.env - l.box[l.boxI])
		l.box[l.boxI] = l.env
		if l.boxI++; l.boxI == len(l.box) {
			l.boxI = 0
		}
		g := float32(l.boxSum / limiterLookahead)
		if l.ones >= limiterLookahead {
			// w ones in a row: the average is exactly 1, whatever
			// rounding the running sum gathered.
			l.boxSum, g = limiterLookahead, 1
		}
		l.gains[l.nR&(ringFrames-1)] = min(g, 1)
		l.nR++
		p = p[upFactor:]
	}
	l.pend = append(l.pend[:0], p...)
}

// abs32 is |v|, by clearing the sign bit.
func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// minWindow is the running minimum of the last size values pushed, in
// constant time per value: a ring of candidates, increasing from front to
// back.
type minWindow struct {
	idx     []int64
	val     []float32
	head, n int
	size    int64
}

func newMinWindow(size int) minWindow {
	return minWindow{idx: make([]int64, size+1), val: make([]float32, size+1), size: int64(size)}
}

// push adds value v at position k (increasing by one each call) and returns
// the minimum of the values at k-size+1..k.
func (m *minWindow) push(k int64, v float32) float32 {
	c := len(m.val)
	for m.n > 0 {
		b := m.head + m.n - 1
		if b >= c {
			b -= c
		}
		if m.val[b] < v {
			break
		}
		m.n--
	}
	t := m.head + m.n
	if t >= c {
		t -= c
	}
	m.idx[t], m.val[t] = k, v
	m.n++
	for m.idx[m.head] <= k-m.size {
		if m.head++; m.head == c {
			m.head = 0
		}
		m.n--
	}
	return m.val[m.head]
}
