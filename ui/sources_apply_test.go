package ui

import (
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/tallystudio/tally/app"
)

// slowSources is an engine whose sources take a while to open, as cameras
// do; it records what was applied, in order, and how many opens overlapped.
type slowSources struct {
	*app.Engine
	mu      sync.Mutex
	running int
	most    int
	applied []string
}

func (e *slowSources) SetSources(v app.VideoSettings, a app.AudioSettings) error {
	e.mu.Lock()
	e.running++
	e.most = max(e.most, e.running)
	e.mu.Unlock()
	time.Sleep(80 * time.Millisecond)
	e.mu.Lock()
	e.running--
	e.applied = append(e.applied, v.Source+"|"+a.Source)
	e.mu.Unlock()
	return nil
}

func (e *slowSources) last() (string, int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.applied) == 0 {
		return "", e.most
	}
	return e.applied[len(e.applied)-1], e.most
}

// Picks made faster than devices open end on the last one: the sources
// applied last are the ones picked last, and one open runs at a time.
func TestStudioAppliesTheLastSourcePickedOneAtATime(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	eng := &slowSources{Engine: app.NewEngine(nil)}
	var s *Studio
	onUI(func() { s = NewStudio(a, eng, &app.MemoryKeys{}) })
	defer s.Close()

	picks := []func(){
		func() { s.sources.video.SetSelected("No video") },
		func() { s.sources.audio.SetSelected("No audio") },
		func() { s.sources.video.SetSelected("Test pattern (colour bars)") },
		func() { s.sources.audio.SetSelected("Test tone (440 Hz, beep each second)") },
		func() { s.sources.video.SetSelected("No video") },
		func() { s.sources.audio.SetSelected("No audio") },
		func() { s.sources.video.SetSelected("Test pattern (colour bars)") },
		func() { s.sources.audio.SetSelected("Test tone (440 Hz, beep each second)") },
		func() { s.sources.video.SetSelected("No video") },
	}
	for _, pick := range picks {
		onUI(pick)
		time.Sleep(10 * time.Millisecond)
	}
	const want = "none|tone"
	eventually(t, "the last pick applied", func() bool { got, _ := eng.last(); return got == want })
	time.Sleep(300 * time.Millisecond) // long enough for a stale pick to land after it
	got, most := eng.last()
	if got != want {
		t.Errorf("sources applied last: %q, want the last pick %q", got, want)
	}
	if most != 1 {
		t.Errorf("%d source changes opened devices at the same time, want 1", most)
	}
}
