package mix

import (
	"math"
	"testing"
)

// A source whose clock runs 0.1 % fast pushes 48 048 frames for every
// 48 000 mixed, in 10 ms chunks. Over a minute of mixing its queue stays
// near the target, nothing is dropped or repeated once settled, and the
// correction found is the clock's +1000 ppm; the sound stays a clean tone.
// The same for a clock 0.1 % slow.
func TestDriftingClockIsResampledNotDropped(t *testing.T) {
	for _, c := range []struct {
		name string
		frac float64 // frames pushed per block
		ppm  float64
	}{{"fast", 480.48, 1000}, {"slow", 479.52, -1000}} {
		t.Run(c.name, func(t *testing.T) { testDrift(t, c.frac, c.ppm) })
	}
}

func testDrift(t *testing.T, frac, ppm float64) {
	m := newMixer(t)
	m.SetMaster(0, false, MasterCeilingDB) // the tone as resampled, nothing else
	s := addStrip(t, m, "cam", StripConfig{})
	f := toneFeed(s, newTone(1000, Rate, 2, -6))
	f.frac = frac

	const settle, total = 30 * 100, 60 * 100 // blocks
	var settled StripStats
	var minQ, maxQ = math.Inf(1), math.Inf(-1)
	var step, worst float64
	for b := range total {
		out := run(t, m, 1, f)
		st := s.Stats()
		if b >= 10 { // from the first start on
			worst = max(worst, math.Abs(st.QueueMS-TargetQueueMS))
		}
		if b == settle {
			settled = st
		}
		if b >= settle {
			minQ, maxQ = min(minQ, st.QueueMS), max(maxQ, st.QueueMS)
			step = max(step, maxStep(channel(out, 0)))
		}
	}
	st := s.Stats()
	t.Logf("after settling: queue %.1f..%.1f ms (target %d; at worst %.1f ms off before), correction %.1f ppm, %+v", minQ, maxQ, TargetQueueMS, worst, st.CorrectionPPM, st)
	if minQ < TargetQueueMS-20 || maxQ > TargetQueueMS+20 {
		t.Errorf("queue %.1f..%.1f ms after settling, want within ±20 ms of %d", minQ, maxQ, TargetQueueMS)
	}
	if st.Dropped != settled.Dropped || st.Underruns != settled.Underruns {
		t.Errorf("after settling: dropped %d→%d, underruns %d→%d; want neither to grow", settled.Dropped, st.Dropped, settled.Underruns, st.Underruns)
	}
	if !near(st.CorrectionPPM, ppm, 200) {
		t.Errorf("correction %.1f ppm, want %+.0f ±200", st.CorrectionPPM, ppm)
	}
	// A 1000 Hz sine at -6 dBFS moves at most 2π·1000/48000·0.5 a sample;
	// a dropped or repeated stretch would jump further.
	if limit := 2*math.Pi*1001/Rate*dbToGain(-6) + 2.0/32768; step > limit {
		t.Errorf("largest step between samples %.4f, want at most %.4f: the tone was cut", step, limit)
	}
}
