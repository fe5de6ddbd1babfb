package app

import (
	"testing"

	"github.com/tallystudio/tally/scene"
)

// The window's mixer reads each sound source's meter and the master's from
// the engine: a tone at −6 dB and a muted one, in the collection's order,
// and nothing once the video is no longer the scenes.
func TestEngineSoundLevelsFollowEachSourceAndTheMaster(t *testing.T) {
	col, err := scene.Parse([]byte(`{"version":1,"canvas":{"width":64,"height":64},
		"sources":[{"name":"bg","type":"colour","colour":"#102030"},
			{"name":"Loud","type":"tone","frequency":440,"audio":{"gain_db":-6,"global":true}},
			{"name":"Quiet","type":"tone","frequency":660,"audio":{"muted":true,"global":true}}],
		"scenes":[{"name":"main","layers":[{"source":"bg"}]}]}`), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(quietLog())
	defer e.Close()
	s := smallSettings()
	s.Video.Source, s.Video.Scenes, s.Video.Width, s.Video.Height = "scenes", col, 64, 64
	s.Audio.Source = "scenes"
	if err := e.SetSources(s.Video, s.Audio); err != nil {
		t.Fatal(err)
	}
	var got MixLevels
	waitUntil(t, "the tone on its strip and the master", func() bool {
		got = e.SoundLevels()
		return len(got.Sources) == 2 && got.Sources[0].PeakDB > -20 && got.Master.PeakDB > -20
	})
	if got.Sources[0].Source != "Loud" || got.Sources[1].Source != "Quiet" {
		t.Fatalf("sources %+v, want Loud then Quiet", got.Sources)
	}
	// The tone is at −6 dBFS, then the fader's −6 dB.
	if p := got.Sources[0].PeakDB; p < -13 || p > -11 {
		t.Errorf("Loud's peak %.1f dB, want about -12", p)
	}
	if q := got.Sources[1]; !q.Muted || q.PeakDB > -100 {
		t.Errorf("Quiet, muted: %+v, want muted and silent", q)
	}

	s.Video.Source, s.Audio.Source = "testpattern", "tone"
	if err := e.SetSources(s.Video, s.Audio); err != nil {
		t.Fatal(err)
	}
	if got := e.SoundLevels(); got.Sources != nil {
		t.Errorf("without scenes: %+v, want no sources", got.Sources)
	}
}
