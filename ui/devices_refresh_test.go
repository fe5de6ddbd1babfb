package ui

import (
	"slices"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/tallystudio/tally/app"
)

// pluggableDevices is an engine on a machine where the test plugs cameras in.
type pluggableDevices struct {
	*app.Engine
	mu        sync.Mutex
	cameras   []string
	refreshes int
}

func (e *pluggableDevices) plug(camera string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cameras = append(e.cameras, camera)
}

func (e *pluggableDevices) Devices() app.DeviceList {
	e.mu.Lock()
	defer e.mu.Unlock()
	d := app.DeviceList{Encoders: []string{"libx264"}}
	for _, c := range e.cameras {
		d.Video = append(d.Video, app.SourceChoice{Spec: "camera:" + c, Label: "Camera: " + c})
	}
	d.Video = append(d.Video, app.SourceChoice{Spec: "testpattern", Label: "Test pattern (colour bars)"},
		app.SourceChoice{Spec: "none", Label: "No video"})
	d.Audio = []app.SourceChoice{{Spec: "tone", Label: "Test tone (440 Hz, beep each second)"}, {Spec: "none", Label: "No audio"}}
	return d
}

func (e *pluggableDevices) RefreshDevices() app.DeviceList {
	e.mu.Lock()
	e.refreshes++
	e.mu.Unlock()
	return e.Devices()
}

func (e *pluggableDevices) refreshed() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.refreshes
}

// A camera plugged in while the studio is open shows up in the video picker
// when the Sources tab is opened, and while it stays open; the devices are
// not rescanned while another tab is shown.
func TestStudioListsACameraPluggedInWhileItRuns(t *testing.T) {
	was := devicePoll
	devicePoll = 50 * time.Millisecond
	t.Cleanup(func() { devicePoll = was })
	a := test.NewApp()
	defer a.Quit()
	eng := &pluggableDevices{Engine: app.NewEngine(nil)}
	var s *Studio
	onUI(func() { s = NewStudio(a, eng, &app.MemoryKeys{}) })
	defer s.Close()
	offered := func(label string) func() bool {
		return func() bool { return slices.Contains(s.sources.video.Options, label) }
	}
	eventually(t, "the first listing", offered("Test pattern (colour bars)"))

	eng.plug("Brio 4K")
	time.Sleep(5 * devicePoll)
	if n := eng.refreshed(); n != 0 {
		t.Errorf("devices rescanned %d times while the Sources tab was not shown", n)
	}
	onUI(func() { s.tabs.SelectIndex(1) })
	eventually(t, "the camera plugged in before opening Sources", offered("Camera: Brio 4K"))

	eng.plug("C920")
	eventually(t, "the camera plugged in while Sources is open", offered("Camera: C920"))
}
