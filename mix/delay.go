package mix

// delayLine holds a strip's sound back by its sync delay: every frame comes
// out d frames after it went in. A change of d cross-fades from the old read
// position to the new one over one block, so that the jump in time (sound
// skipped, or a gap of silence for a longer delay) does not click.
//
// The ring grows when a longer delay is set (on SetConfig, never in Push)
// and never shrinks; with no delay and nothing fading it costs nothing.
type delayLine struct {
	ring  []float32 // Channels × frames of the most recent input
	t     int       // frames written so far, modulo the ring
	d     int       // current delay, frames
	from  int       // the delay being faded out
	fade  int       // frames of the cross-fade still to go
	fader float32   // per-frame step of the cross-fade
}

// set makes the delay d frames, fading over one block from the current one.
func (l *delayLine) set(d int) {
	if d == l.d {
		return
	}
	if need := max(d, l.d) + 1; need > len(l.ring)/Channels {
		l.grow(need)
	}
	l.from, l.d = l.d, d
	l.fade = BlockFrames
	l.fader = 1 / float32(BlockFrames)
}

// grow makes the ring hold at least frames frames, keeping its history in
// place relative to the write position.
func (l *delayLine) grow(frames int) {
	old := l.ring
	oc := len(old) / Channels
	nc := max(frames, 2*oc, BlockFrames)
	l.ring = make([]float32, Channels*nc)
	for i := 1; i <= oc; i++ { // the newest oc frames, newest first
		src := ((l.t-i)%oc + oc) % oc
		dst := ((l.t-i)%nc + nc) % nc
		copy(l.ring[Channels*dst:Channels*dst+Channels], old[Channels*src:Channels*src+Channels])
	}
	// l.t, below oc, is a valid write position in the larger ring too.
}

// process delays the interleaved stereo frames of f in place.
func (l *delayLine) process(f []float32) {
	if l.d == 0 && l.fade == 0 {
		return
	}
	c := len(l.ring) / Channels
	for i := 0; i+1 < len(f); i += Channels {
		w := l.t
		l.ring[Channels*w], l.ring[Channels*w+1] = f[i], f[i+1]
		r := (w - l.d + c) % c
		L, R := l.ring[Channels*r], l.ring[Channels*r+1]
		if l.fade > 0 {
			// a runs from 0 to 1 across the fade: old position out, new in.
			a := 1 - float32(l.fade)*l.fader
			o := (w - l.from + c) % c
			L = l.ring[Channels*o]*(1-a) + L*a
			R = l.ring[Channels*o+1]*(1-a) + R*a
			l.fade--
		}
		f[i], f[i+1] = L, R
		l.t = (w + 1) % c
	}
}
