package mix

import (
	"testing"
)

// Sound pushed to two strips comes out SyncMS apart: a tone, and the same
// tone inverted pushed 20 ms later to a strip without delay, cancel when the
// first strip is held back 20 ms (to the sample: off by one, 110 Hz would
// leave -43 dBFS), and not without the delay; changed live, the delay takes
// effect after its cross-fade.
func TestSyncDelayLinesUpWithPhase(t *testing.T) {
	m := newMixer(t)
	m.SetMaster(0, false, MasterCeilingDB)
	a := addStrip(t, m, "mic", StripConfig{SyncMS: 20})
	b := addStrip(t, m, "cam", StripConfig{GainDB: 0})
	// b plays the same 110 Hz tone inverted, pushed 20 ms later: with a
	// held back by 20 ms the two cancel.
	ta := newTone(110, Rate, 2, -6)
	tb := newTone(110, Rate, 2, -6)
	tb.amp = -tb.amp
	fa, fb := toneFeed(a, ta), toneFeed(b, tb)
	run(t, m, 2, fa) // 20 ms of a first
	out := run(t, m, 200, fa, fb)
	if got := rmsDB(last(channel(out, 0), 1)); got > -60 {
		t.Errorf("tone against itself 20 ms later, delayed 20 ms: %.1f dBFS left, want cancelled", got)
	}
	for _, c := range []struct {
		syncMS int
		cancel bool
	}{{0, false}, {20, true}} {
		if err := a.SetConfig(StripConfig{SyncMS: c.syncMS}); err != nil {
			t.Fatal(err)
		}
		out = run(t, m, 50, fa, fb)
		got := rmsDB(last(channel(out, 0), 0.4))
		if c.cancel && got > -60 || !c.cancel && got < -20 {
			t.Errorf("sync delay changed to %d ms: %.1f dBFS left of the two tones", c.syncMS, got)
		}
	}
}

// A strip that has not been pushed to is silent and counts no underrun; one
// whose source stops counts each silent block from then on, and one pushed
// again refills to the target and plays.
func TestUnderrunsCountOnlyAfterStart(t *testing.T) {
	m := newMixer(t)
	s := addStrip(t, m, "a", StripConfig{})
	run(t, m, 20)
	if st := s.Stats(); st.Underruns != 0 {
		t.Errorf("before the first push: %+v, want no underruns", st)
	}
	f := toneFeed(s, newTone(1000, Rate, 2, -6))
	run(t, m, 20, f)
	if st := s.Stats(); st.Underruns != 0 || st.Dropped != 0 {
		t.Errorf("while pushed: %+v", st)
	}
	run(t, m, 10) // the source stops: its 40 ms run out, then 6 blocks short
	st := s.Stats()
	if st.Underruns < 5 || st.Underruns > 8 {
		t.Errorf("10 blocks after the source stopped: %d underruns, want about 6", st.Underruns)
	}
	out := run(t, m, 50, f)
	if got := goertzelDB(last(channel(out, 0), 0.4), 1000); !near(got, -6, 0.5) {
		t.Errorf("pushed again: %.1f dBFS, want the tone back at -6", got)
	}
	if s.Stats().Underruns > st.Underruns+5 {
		t.Errorf("underruns %d → %d while refilling, want a few at most", st.Underruns, s.Stats().Underruns)
	}
}

// A source that pushes while nobody mixes fills its queue to 500 ms and
// then drops its oldest blocks, counted; when Mix starts it plays from the
// target, not half a second late.
func TestFullQueueDropsOldestAndStartsAtTarget(t *testing.T) {
	m := newMixer(t)
	s := addStrip(t, m, "a", StripConfig{})
	tn := newTone(1000, Rate, 2, -6)
	for range 60 {
		if err := s.Push(tn.next(480), Rate, 2); err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	if st.QueueMS > 500 || st.Dropped < 9 {
		t.Errorf("600 ms pushed, none mixed: %+v, want 500 ms held and 10 blocks dropped", st)
	}
	run(t, m, 1, toneFeed(s, tn))
	if st := s.Stats(); st.QueueMS > TargetQueueMS+10 {
		t.Errorf("after the first Mix: queue %.1f ms, want near the %d ms target", st.QueueMS, TargetQueueMS)
	}
}
