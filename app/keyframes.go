package app

import "sync/atomic"

// Keyframes are decided by the session, on canvas frame numbers, not by each
// encoder counting its own frames. When the video loop skips canvas frames
// for lag, a full-rate output loses frames a half-rate one may not, so two
// encoders counting their own frames would put their keyframes on different
// canvas frames from then on, and a multitrack stream's renditions would no
// longer cut at the same moment. A keyGroup holds the outputs that must cut
// together: every output of a stream, and every output sharing a stream with
// those. It forces their keyframes on one canvas frame that each of them
// takes, one keyframe interval after the last; an encoder's own cadence is
// then only a bound (encode.VideoConfig.CallerKeyframes).
type keyGroup struct {
	outs []*videoOutput
	// every: the group's keyframes go on canvas frames that are a multiple
	// of every, which each output takes (the least common multiple of the
	// outputs' steps).
	every int64
	// interval is the keyframe interval in canvas frames: the shortest of
	// the outputs', should their intervals round differently at their rates.
	interval int64
	// next is the canvas frame from which the next keyframe is due; wanted
	// says one is due and waits for a frame every output takes.
	next   int64
	wanted bool
	// forced asks for a keyframe now: a destination taking a stream of the
	// group has resumed (set on its Publisher's goroutine).
	forced atomic.Bool
}

// groupKeyframes puts the outputs that share a stream, directly or through
// another output, into one group each.
func groupKeyframes(outs []*videoOutput, streams []*stream) []*keyGroup {
	for _, o := range outs {
		o.keys = &keyGroup{outs: []*videoOutput{o}, every: o.every}
	}
	for _, st := range streams {
		for _, o := range st.tracks[min(1, len(st.tracks)):] {
			st.tracks[0].keys.merge(o.keys)
		}
	}
	var groups []*keyGroup
	seen := map[*keyGroup]bool{}
	for _, o := range outs {
		if !seen[o.keys] {
			seen[o.keys] = true
			groups = append(groups, o.keys)
		}
	}
	for _, st := range streams {
		if len(st.tracks) > 0 {
			st.keys = st.tracks[0].keys
		}
	}
	return groups
}

// merge moves h's outputs into g.
func (g *keyGroup) merge(h *keyGroup) {
	if g == h {
		return
	}
	for _, o := range h.outs {
		o.keys = g
	}
	g.outs = append(g.outs, h.outs...)
	g.every = lcm(g.every, h.every)
}

// bound takes an output's keyframe interval, in canvas frames.
func (g *keyGroup) bound(gop int64) {
	if g.interval == 0 || gop < g.interval {
		g.interval = gop
	}
}

// force asks for a keyframe on every output of the group as soon as they can
// all cut together. It is safe on a nil group (a stream without video).
func (g *keyGroup) force() {
	if g != nil {
		g.forced.Store(true)
	}
}

// plan marks the group's outputs for a keyframe when canvas frame n is
// where the group's next one goes.
func (g *keyGroup) plan(n int64) {
	g.wanted = g.forced.Swap(false) || g.wanted || n >= g.next
	if !g.wanted || n%g.every != 0 {
		return
	}
	g.wanted, g.next = false, n+max(g.interval, 1)
	for _, o := range g.outs {
		o.pendingKey = true
	}
}

// lcm is the least common multiple of two positive numbers.
func lcm(a, b int64) int64 {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}
