package mix

import "math"

// Drift control. A source's clock is not the program's: a device that runs
// 0.1 % fast delivers 48 048 frames for every 48 000 Mix takes, and its queue
// grows by 1 ms a second; a slow one empties. Dropping or repeating blocks
// would be heard, so the strip's resampler is told to stretch time instead
// (swr_set_compensation, applied by Push): the controller below watches how
// full the queue is after each Mix and asks for a correction in ppm that
// brings it back to its target: about targetFrames, where the queue stood
// when the strip started (see start).
//
// It is a PI loop on the queue level smoothed over about half a second (a
// device delivering 20 ms chunks makes the level a saw tooth; its average is
// what counts). The plant is an integrator: a source e ppm fast against a
// correction of c ppm moves the level by (e − c)/1000 ms per second. With
// gains kp and ki the loop is a second-order system with ω = √(ki/1000) and
// ζ = kp/(2000·ω): 0.2 rad/s and 0.7 here, so a step of drift settles in
// about half a minute with a few ms of excursion, and the correction wobbles
// by well under a cent of pitch. The integral term ends up holding the
// device's real drift; the proportional term only steers.
const (
	targetFrames = 40 * Rate / 1000 // the queue level drift control keeps
	minTarget    = 20 * Rate / 1000 // the lowest it keeps after a filter change or for a bursty source
	driftAlpha   = 0.02             // smoothing per block: τ = 0.5 s
	driftKP      = 280              // ppm per ms of error
	driftKI      = 40               // ppm per ms of error per second
	maxPPM       = 2000             // about 3.5 cents: beyond any real device
	learnBlocks  = 10               // blocks a new target is averaged over
)

// The level the controller sees is not the queue's own but what it holds
// beyond the newest push's frames that have not yet fallen due (see
// Strip.ahead). A media file hands over a tenth of a second as its first
// sample falls due, a filter with a window a window at a time: the queue saws
// by that much between pushes, and a smoothing filter would let the ripple
// through to the pitch as a 10 Hz wobble, or take its mean at the wrong
// phase. Taking what is ahead of time off leaves a level that is flat for a
// source on the program's clock and rises or falls with a drifting one,
// whatever size its pushes.
type drift struct {
	target float64 // the level to keep, frames
	avg    float64 // smoothed queue level, frames
	integ  float64 // integral term, ppm
	ppm    float64 // the correction wanted: positive when the source is fast
	init   bool

	// Learning a new target: after hold blocks, the mean of the next
	// learnBlocks levels, within lo..hi.
	hold, learn int
	sum         int
	lo, hi      int
}

// start (re)starts the loop, keeping what the integral learnt about the
// device's clock: a gap in the sound does not change it. The target becomes
// the mean level over the first learnBlocks blocks, so a source whose clock
// is the program's needs no correction at all, however its pushes fall
// against the reads: the queue fills to targetFrames (or, after an
// underrun, to the target plus a block) and the reads take a block each,
// less what the resampler held back. The target stays within a block under
// targetFrames, whatever a late first Mix or a large push left queued; a
// bursty source's level, at the trough of its saw, is kept as priming left
// it.
func (d *drift) start(bursty bool) {
	lo, hi := targetFrames-BlockFrames, targetFrames
	if bursty {
		lo, hi = BlockFrames, math.MaxInt // priming left it about targetFrames: keep that
	}
	d.relearn(0, lo, hi)
	d.ppm = d.integ
	d.init = true
}

// relearn makes the mean level over learnBlocks blocks, from hold blocks on,
// the target, within lo..hi. A new filter graph holds some sound inside
// (afftdn a 12.5 ms window) and the queue drains by that much: following it
// keeps the strip's total latency, and its sync with the picture, as it was,
// where steering back would bend the pitch for seconds to add latency. The
// correction holds meanwhile.
func (d *drift) relearn(hold, lo, hi int) {
	d.hold, d.learn, d.sum, d.lo, d.hi = hold, learnBlocks, 0, lo, hi
}

// update takes the queue level after a block was read and returns the
// correction to apply.
func (d *drift) update(level int) float64 {
	if !d.init {
		d.start(false)
	}
	if d.hold > 0 {
		d.hold--
		return d.ppm
	}
	if d.learn > 0 {
		d.sum += level
		if d.learn--; d.learn == 0 {
			mean := float64(d.sum) / learnBlocks
			d.target = clamp(mean, float64(d.lo), float64(d.hi))
			d.avg = mean
		}
		return d.ppm
	}
	d.avg += (float64(level) - d.avg) * driftAlpha
	errMS := (d.avg - d.target) * 1000 / Rate
	d.integ = clamp(d.integ+driftKI*errMS*BlockFrames/Rate, -maxPPM, maxPPM)
	d.ppm = clamp(driftKP*errMS+d.integ, -maxPPM, maxPPM)
	return d.ppm
}

func clamp(v, lo, hi float64) float64 { return min(max(v, lo), hi) }
