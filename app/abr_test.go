package app

import (
	"testing"
	"time"

	"github.com/tallystudio/tally/rtmpclient"
)

// fakeLink feeds the bitrate controller the publisher counters of a link:
// each tick it carries bps (all of it through writes the socket pushed back
// on, as when the link is the limit) with the given queue behind it.
type fakeLink struct {
	st  abrState
	lim abrLimits
	now time.Time
	ps  rtmpclient.PublisherStats
}

func newFakeLink(top, audio int) *fakeLink {
	l := &fakeLink{lim: abrLimits{top: top, floor: 250_000, audio: audio}, now: time.Unix(1e9, 0)}
	l.st.target, l.st.ceiling = top, top
	l.ps.State = rtmpclient.StateLive
	return l
}

// run plays d of ticks and returns what the controller decided on each.
func (l *fakeLink) run(d time.Duration, bps float64, queue time.Duration) []abrStep {
	var steps []abrStep
	for range int(d / abrTick) {
		l.now = l.now.Add(abrTick)
		b := uint64(bps * abrTick.Seconds() / 8)
		l.ps.BytesSent += b
		if bps > 0 || queue > 0 {
			l.ps.BlockedBytes += b
			l.ps.BlockedTime += abrTick
		}
		l.ps.QueueDuration = queue
		what, _ := l.st.step(l.now, l.ps, l.lim)
		steps = append(steps, what)
	}
	return steps
}

func count(steps []abrStep, what abrStep) int {
	n := 0
	for _, s := range steps {
		if s == what {
			n++
		}
	}
	return n
}

// A 2 Mb/s stream on a 1050 kb/s link: the encoder comes down to what the
// link measured carrying, less audio and a margin, and stays there.
func TestBitrateSettlesUnderTheMeasuredLink(t *testing.T) {
	l := newFakeLink(2_000_000, 128_000)
	l.run(6*time.Second, 1_050_000, 600*time.Millisecond)
	got := l.st.target
	if got+128_000 > 1_050_000 || got+128_000 < 1_050_000/2 {
		t.Fatalf("settled at %d b/s of video on a 1050 kb/s link with 128 kb/s of audio", got)
	}
	if steps := l.run(10*time.Second, float64(got+128_000), 0); count(steps, abrLowered) != 0 || l.st.target < got {
		t.Errorf("with the queue clear the rate fell from %d to %d", got, l.st.target)
	}
}

// After a cut the old rate's backlog drains through the link; a second of no
// progress in it (one large keyframe write in flight) makes the live estimate
// sag, but it is no reason to cut again while the link's rate at the cut
// still covers the new one.
func TestBitrateHoldsWhileTheBacklogDrains(t *testing.T) {
	l := newFakeLink(2_000_000, 128_000)
	var cut int
	for i := 0; i < 40 && cut == 0; i++ {
		if l.run(abrTick, 1_050_000, 600*time.Millisecond)[0] == abrLowered && l.st.cutRate > 0 {
			cut = l.st.target
		}
	}
	if cut == 0 {
		t.Fatal("no cut from a measured link in 10 s of congestion")
	}
	steps := l.run(time.Second, 0, 1500*time.Millisecond)
	steps = append(steps, l.run(2*time.Second, 1_050_000, 400*time.Millisecond)...)
	if n := count(steps, abrLowered); n != 0 || l.st.target != cut {
		t.Errorf("while draining: %d more cuts, from %d to %d b/s", n, cut, l.st.target)
	}
}

// When congestion outlasts a drain, the estimate behind the cut was too high
// and the controller cuts again.
func TestBitrateCutsAgainWhenCongestionOutlastsTheDrain(t *testing.T) {
	l := newFakeLink(2_000_000, 128_000)
	l.run(6*time.Second, 1_050_000, 600*time.Millisecond)
	first := l.st.target
	l.run(drainFor+2*time.Second, 500_000, 900*time.Millisecond)
	if l.st.target >= first {
		t.Errorf("the link fell to 500 kb/s and stayed congested, but the rate stayed at %d", l.st.target)
	}
}

// When the link recovers the rate steps back up to what was asked for, after
// holding at the measured ceiling for probeAfter.
func TestBitrateClimbsBackWhenTheLinkRecovers(t *testing.T) {
	l := newFakeLink(2_000_000, 128_000)
	l.run(6*time.Second, 1_050_000, 600*time.Millisecond)
	low, held := l.st.target, l.st.ceilingAt.Add(probeAfter-abrTick).Sub(l.now)
	l.run(held, 3_000_000, 0)
	if l.st.target > low {
		t.Errorf("probed above the link's ceiling within %v of measuring it", probeAfter)
	}
	l.run(40*time.Second, 3_000_000, 0)
	if l.st.target != 2_000_000 {
		t.Errorf("40 s after the link recovered the rate is %d of 2000000", l.st.target)
	}
}

// An outage is the reconnect logic's business: no cut however long it lasts.
func TestBitrateIgnoresOutages(t *testing.T) {
	l := newFakeLink(2_000_000, 128_000)
	l.ps.State = rtmpclient.StateReconnecting
	if steps := l.run(10*time.Second, 0, 5*time.Second); count(steps, abrLowered) != 0 {
		t.Errorf("cut %d times while reconnecting", count(steps, abrLowered))
	}
}
