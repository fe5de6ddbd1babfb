package app

import (
	"context"
	"time"

	"github.com/tallystudio/tally/rtmpclient"
)

// Dynamic bitrate, OBS-style but steadier. Every tick the controller looks at
// each destination that asked for it: a queue that stays over congestedQueue
// for a second means the link is not keeping up, so the encoder goes down to
// what the link has been carrying (its measured send rate, less audio and a
// margin); a queue that stays near empty lets it step back up by a tenth of
// the configured rate at a time, each step waiting long enough for the queue
// to show whether the link took it. Destinations share one encoder, so it runs
// at the lowest rate any of them needs; the others get less than they could
// carry, which is the cost of encoding once.
const (
	abrTick        = 250 * time.Millisecond
	congestedQueue = 250 * time.Millisecond
	clearQueue     = 80 * time.Millisecond
	congestedFor   = time.Second
	stepUpEvery    = 2500 * time.Millisecond
	// probeAfter is how long a measured link ceiling holds before stepping
	// above it again: the link showed what it carries, and probing sooner is
	// what makes bitrate control oscillate.
	probeAfter      = 8 * time.Second
	stepDownAtLeast = 2 * time.Second // a step down needs time to drain the queue
	drainFor        = 4 * time.Second // congestion longer than this after a cut: the estimate was wrong
	abrMargin       = 0.85            // of the measured link rate
)

type abrState struct {
	target         int // this destination's video bitrate
	ceiling        int // the video rate the link carried at the last congestion
	ceilingAt      time.Time
	congestedSince time.Time
	lastChange     time.Time
	// cutRate is the link estimate behind the last cut: while the old rate's
	// backlog drains it stays the best evidence of what the link carries, since
	// the live estimate sags whenever frames are dropped or one large write
	// (a keyframe) is still in flight.
	cutRate   float64
	lastDrops uint64
	// the publisher's blocked-write counters at each of the last rateWindow
	// ticks: writes that waited on the socket went at the link's rate
	bytes [rateWindow]uint64
	spent [rateWindow]time.Duration
	sent  [rateWindow]uint64 // all bytes sent, for the plain send rate
	n     int
}

// rateWindow ticks (3 s) make the link estimate.
const rateWindow = 12

// linkRate records a tick and returns the link's rate in bits per second over
// the window, or 0 when the link was not the limit for half a second of it.
func (st *abrState) linkRate(ps rtmpclient.PublisherStats) float64 {
	i := st.n % rateWindow
	oldB, oldT, oldS := st.bytes[i], st.spent[i], st.sent[i]
	st.bytes[i], st.spent[i], st.sent[i] = ps.BlockedBytes, ps.BlockedTime, ps.BytesSent
	st.n++
	if st.n <= rateWindow {
		return 0 // the first seconds (sequence headers, the first keyframe) say little
	}
	span := rateWindow
	dt := ps.BlockedTime - oldT
	if dt < 500*time.Millisecond {
		return 0
	}
	blocked := float64(ps.BlockedBytes-oldB) * 8 / dt.Seconds()
	// While congested, what was sent is also a floor for what the link carries.
	plain := float64(ps.BytesSent-oldS) * 8 / (float64(span) * abrTick.Seconds())
	return max(blocked, plain)
}

// abrLimits bound one controller: the configured video rate, the lowest it
// may go, and the audio rate that shares the link.
type abrLimits struct{ top, floor, audio int }

// abrStep is what one tick decided for one destination.
type abrStep int

const (
	abrHold abrStep = iota
	abrLowered
	abrRaised
)

// step feeds the controller one tick of a destination's publisher stats;
// st.target is then the video rate this destination can take. rate is the
// link estimate the tick saw (0: unknown).
func (st *abrState) step(now time.Time, ps rtmpclient.PublisherStats, lim abrLimits) (what abrStep, rate float64) {
	rate = st.linkRate(ps)
	drops := ps.DroppedVideo + ps.DroppedAudio
	newDrops := drops > st.lastDrops
	st.lastDrops = drops
	switch {
	case ps.State != rtmpclient.StateLive:
		st.congestedSince = time.Time{} // an outage is the reconnect logic's business
	case ps.QueueDuration > congestedQueue || newDrops:
		if st.congestedSince.IsZero() {
			st.congestedSince = now
		}
		// A rate already under what the link carries is draining the backlog
		// of the old one: cutting again would overshoot. Unless the congestion
		// outlasts a drain (the estimate was high: socket buffers make a link
		// look faster than it is for a while).
		draining := now.Sub(st.lastChange) < drainFor
		known := max(rate, st.cutRate)
		under := draining && known > 0 && float64(st.target+lim.audio) <= known*0.95
		if now.Sub(st.congestedSince) < congestedFor || now.Sub(st.lastChange) < stepDownAtLeast || under {
			return abrHold, rate
		}
		// Down to what the link carried when that is known, else by 30 %;
		// always by at least 10 %.
		next := st.target * 7 / 10
		if rate > 0 {
			// never more than half at once: one bad estimate must not take
			// the picture to the floor
			next = max(min(int(rate*abrMargin)-lim.audio, st.target*9/10), st.target/2)
		}
		st.target = clamp(next, lim.floor, lim.top)
		st.ceiling, st.ceilingAt = st.target, now
		st.lastChange, st.cutRate = now, rate
		return abrLowered, rate
	default:
		st.congestedSince = time.Time{}
		next := clamp(st.target+lim.top/10, lim.floor, lim.top)
		if next > st.ceiling && now.Sub(st.ceilingAt) < probeAfter {
			next = max(st.target, min(next, st.ceiling))
		}
		if ps.QueueDuration < clearQueue && next > st.target && now.Sub(st.lastChange) >= stepUpEvery {
			st.target = next
			st.lastChange, st.cutRate = now, 0
			return abrRaised, rate
		}
	}
	return abrHold, rate
}

// runBitrateController adjusts output o's encoder to its destination's
// link until ctx ends. It returns at once for an output without one.
func (s *Session) runBitrateController(ctx context.Context, o *videoOutput) {
	d := o.adjust
	if d == nil {
		return
	}
	enc, main := o.enc, o == s.mainOutput()
	lim := abrLimits{top: o.r.Bitrate}
	lim.floor = min(lim.top, 250_000)
	if s.settings.Audio.Source != "none" {
		lim.audio = s.settings.Audio.Bitrate
	}
	st := abrState{target: lim.top, ceiling: lim.top}
	t := time.NewTicker(abrTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if s.streamOver() {
				// The link is gone; a recording left on this encode gets
				// the full rate back.
				enc.SetBitrate(lim.top)
				if main {
					s.counter.videoTarget.Store(uint64(lim.top))
				}
				return
			}
			ps := d.pub.Stats()
			what, rate := st.step(now, ps, lim)
			switch what {
			case abrLowered:
				s.log.Info("dynamic bitrate: lowering", "destination", d.ep.String(), "kbps", st.target/1000,
					"link_kbps", int(rate)/1000, "queue", ps.QueueDuration)
			case abrRaised:
				s.log.Info("dynamic bitrate: raising", "destination", d.ep.String(), "kbps", st.target/1000)
			}
			want := st.target
			if want != enc.Bitrate() {
				enc.SetBitrate(want)
			}
			if main {
				s.counter.videoTarget.Store(uint64(want))
			}
		}
	}
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }
