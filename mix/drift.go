package mix

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
	minTarget    = 20 * Rate / 1000 // the lowest it keeps after a filter change
	driftAlpha   = 0.02             // smoothing per block: τ = 0.5 s
	driftKP      = 280              // ppm per ms of error
	driftKI      = 40               // ppm per ms of error per second
	maxPPM       = 2000             // about 3.5 cents: beyond any real device
)

type drift struct {
	target float64 // the level to keep, frames
	avg    float64 // smoothed queue level, frames
	integ  float64 // integral term, ppm
	ppm    float64 // the correction wanted: positive when the source is fast
	init   bool
}

// start (re)starts the loop at level, the queue's level after the first
// block read, keeping what the integral learnt about the device's clock: a
// gap in the sound does not change it. The target becomes that level, so a
// source whose clock is the program's needs no correction at all: the queue
// fills to targetFrames (or, after an underrun, to the target plus a block)
// and the first read takes a block, less what the resampler held back. It
// stays within a block under targetFrames, whatever a late first Mix or a
// large push left queued.
func (d *drift) start(level int) { d.rebase(level, targetFrames-BlockFrames) }

// startBursty is start for a source that pushes more than a block at a time
// (a media file hands over a decoded packet, 20 to 90 ms): its queue saws
// between full after a push and a burst lower before the next, so the level
// to keep is the middle of that, not the level after the first read, or the
// loop would bend the pitch for half a minute to add latency.
func (d *drift) startBursty(level, burst int) {
	d.target = max(float64(level)-float64(burst)/2, minTarget)
	d.avg = d.target
	d.init = true
}

// rebase makes level, at least lo, the target from now on. A new filter
// graph holds some sound inside (afftdn a 12.5 ms window) and the queue
// drains by that much: following it keeps the strip's total latency, and
// its sync with the picture, as it was, where steering back would bend the
// pitch for seconds to add latency.
func (d *drift) rebase(level, lo int) {
	d.target = clamp(float64(level), float64(lo), targetFrames)
	d.avg = float64(level)
	d.init = true
}

// update takes the queue level after a block was read and returns the
// correction to apply.
func (d *drift) update(level int) float64 {
	if !d.init {
		d.start(level)
	}
	d.avg += (float64(level) - d.avg) * driftAlpha
	errMS := (d.avg - d.target) * 1000 / Rate
	d.integ = clamp(d.integ+driftKI*errMS*BlockFrames/Rate, -maxPPM, maxPPM)
	d.ppm = clamp(driftKP*errMS+d.integ, -maxPPM, maxPPM)
	return d.ppm
}

func clamp(v, lo, hi float64) float64 { return min(max(v, lo), hi) }
