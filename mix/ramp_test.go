package mix

import (
	"errors"
	"math"
	"testing"
)

// Toggling a full-scale tone with SetActive, gain changes, mute, mono and
// removal never jumps between two samples by more than the tone itself
// moves plus what one ramp step adds: no clicks. With the limiter off, so
// the output is the strips' sum itself.
func TestRampsDoNotClick(t *testing.T) {
	m := newMixer(t)
	m.SetMaster(0, false, MasterCeilingDB)
	s := addStrip(t, m, "a", StripConfig{})
	tn := newTone(1033, Rate, 2, 0) // not a whole number of cycles a block
	tn.channels = 2
	f := toneFeed(s, tn)
	// Left and right differ, so that mono changes something.
	tn2 := newTone(1517, Rate, 2, -6)
	s2 := addStrip(t, m, "b", StripConfig{})
	f2 := toneFeed(s2, tn2)

	var out []int16
	feeds := []*feed{f, f2}
	step := func(blocks int) { out = append(out, run(t, m, blocks, feeds...)...) }
	step(20)
	m.SetActive("a", false)
	step(10)
	m.SetActive("a", true)
	step(10)
	for _, g := range []float64{-20, 0, math.Inf(-1), -6, 0} {
		if err := s.SetConfig(StripConfig{GainDB: g}); err != nil {
			t.Fatal(err)
		}
		step(5)
	}
	for _, c := range []StripConfig{{Muted: true}, {}, {Mono: true}, {}} {
		if err := s.SetConfig(c); err != nil {
			t.Fatal(err)
		}
		step(5)
	}
	m.SetMaster(-12, false, MasterCeilingDB)
	step(5)
	m.SetMaster(0, false, MasterCeilingDB)
	step(5)
	m.RemoveStrip("a")
	step(1) // its last block, ramping out
	feeds = feeds[1:]
	step(9)
	if err := s.Push(tn.next(480), Rate, 2); !errors.Is(err, ErrClosed) {
		t.Errorf("Push to a removed strip: %v, want ErrClosed", err)
	}

	// The tones' own steepest steps, and the steepest a ramp adds: a full
	// scale over one block.
	natural := 2*math.Pi*1033/Rate*dbToGain(0) + 2*math.Pi*1517/Rate*dbToGain(-6)
	ramp := 1.0 / rampFrames
	for c := range Channels {
		x := channel(out, c)
		if got := maxStep(x); got > natural+ramp+4.0/32768 {
			t.Errorf("channel %d: a step of %.4f between samples, want at most %.4f (tones) + %.4f (ramp)", c, got, natural, ramp)
		}
	}
	// And the toggles did take effect: 'a' was out while inactive.
	off := channel(out[Channels*BlockFrames*25:Channels*BlockFrames*30], 0)
	if got := goertzelDB(off, 1033); got > -80 {
		t.Errorf("1033 Hz at %.1f dBFS while its strip was inactive", got)
	}
	gone := channel(out[len(out)-Channels*BlockFrames*5:], 0)
	if got := goertzelDB(gone, 1033); got > -80 {
		t.Errorf("1033 Hz at %.1f dBFS after its strip was removed", got)
	}
	if got := goertzelDB(gone, 1517); !near(got, -6, 0.5) {
		t.Errorf("the other strip at %.1f dBFS after the removal, want -6", got)
	}
}
