package app

import (
	"image"
	"strings"
	"testing"
	"time"

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

// fakeMic delivers 10 ms blocks of a quiet square wave in real time and
// fails, as an unplugged device does, after failAfter of them.
type fakeMic struct {
	n, failAfter int
}

func (m *fakeMic) Read(dst []int16) ([]int16, error) {
	time.Sleep(10 * time.Millisecond)
	m.n++
	if m.n > m.failAfter {
		return dst, errUnplugged
	}
	dst = append(dst[:0], make([]int16, 480*2)...)
	for i := range dst {
		dst[i] = int16(1000 * (i % 2))
	}
	return dst, nil
}

func (*fakeMic) Format() (int, int) { return 48000, 2 }
func (*fakeMic) Close() error       { return nil }

// A microphone that disappears is named as lost on its own strip's level,
// with why; the other source's is not.
func TestSoundLevelsNameTheSourceThatWasLost(t *testing.T) {
	col, err := scene.Parse([]byte(`{"version":1,"canvas":{"width":64,"height":64},
		"sources":[{"name":"bg","type":"colour","colour":"#102030"},
			{"name":"USB mic","type":"microphone"},{"name":"Desk mic","type":"microphone"}],
		"scenes":[{"name":"main","layers":[{"source":"bg"}]}]}`), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r, err := newSceneReaderWith(col, 30, quietLog(), func(src scene.Source, _ image.Point, _ int) (opened, error) {
		switch src.Name {
		case "USB mic":
			return opened{audio: &fakeMic{failAfter: 5}}, nil
		case "Desk mic":
			return opened{audio: &fakeMic{failAfter: 1 << 30}}, nil
		}
		return openSceneSource(src, image.Pt(64, 64), 30)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []SoundLevel
	waitUntil(t, "the USB microphone lost", func() bool {
		got = r.soundLevels()
		return len(got) == 2 && got[0].Lost != ""
	})
	if got[0].Source != "USB mic" || !strings.Contains(got[0].Lost, errUnplugged.Error()) {
		t.Errorf("lost: %+v, want the USB mic, unplugged", got[0])
	}
	if got[1].Lost != "" {
		t.Errorf("the desk microphone, still there, reads lost: %+v", got[1])
	}
}
