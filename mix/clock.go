package mix

import (
	"sync/atomic"
	"time"
)

// clock is when the Mixer last mixed, shared with its strips: a Push that
// arrives part way between two Mix calls brings sound due from that moment,
// and the part of the block period already gone is part of what it is ahead
// (see Strip.ahead). now is time.Now except in tests.
type clock struct {
	now  func() time.Time
	last atomic.Int64 // Unix nanoseconds of the last Mix, 0 before the first
}

func newClock() *clock { return &clock{now: time.Now} }

func (c *clock) mixed() { c.last.Store(c.now().UnixNano()) }

// phase is how far into the current block period it is, 0..1.
func (c *clock) phase() float64 {
	last := c.last.Load()
	if last == 0 {
		return 0
	}
	p := float64(c.now().UnixNano()-last) * Rate / BlockFrames / 1e9
	return clamp(p, 0, 1)
}
