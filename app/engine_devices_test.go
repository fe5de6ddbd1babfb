package app

import (
	"slices"
	"sync"
	"testing"

	"github.com/tallystudio/tally/capture"
)

// A camera plugged in after the first listing is in the list RefreshDevices
// returns (and in Devices from then on); the encoders are not probed again.
func TestEngineRefreshDevicesListsACameraPluggedInSinceTheFirstListing(t *testing.T) {
	var mu sync.Mutex
	present := []capture.Device{{Label: capture.TestPatternLabel, Kind: capture.KindCamera, Test: true}}
	registered := present
	encoderProbes := 0
	rescan, list, encoders := rescanDevices, listSources, listEncoders
	t.Cleanup(func() { rescanDevices, listSources, listEncoders = rescan, list, encoders })
	rescanDevices = func() { mu.Lock(); registered = slices.Clone(present); mu.Unlock() }
	listSources = func() []capture.Device { mu.Lock(); defer mu.Unlock(); return slices.Clone(registered) }
	listEncoders = func() []string { encoderProbes++; return []string{"libx264"} }

	e := NewEngine(nil)
	defer e.Close()
	if d := e.Devices(); slices.ContainsFunc(d.Video, isCamera("Brio 4K")) {
		t.Fatalf("listed before it was plugged in: %+v", d.Video)
	}
	mu.Lock()
	present = append(present, capture.Device{Label: "Brio 4K", Kind: capture.KindCamera})
	mu.Unlock()

	d := e.RefreshDevices()
	if !slices.ContainsFunc(d.Video, isCamera("Brio 4K")) {
		t.Fatalf("RefreshDevices after a camera was plugged in: %+v", d.Video)
	}
	if !slices.ContainsFunc(e.Devices().Video, isCamera("Brio 4K")) {
		t.Errorf("Devices forgot the camera RefreshDevices found")
	}
	if encoderProbes != 1 || !slices.Equal(d.Encoders, []string{"libx264"}) {
		t.Errorf("encoders %q after %d probes, want libx264 from one probe", d.Encoders, encoderProbes)
	}
}

func isCamera(label string) func(SourceChoice) bool {
	return func(c SourceChoice) bool { return c.Spec == "camera:"+label }
}

// Desktop audio is listed apart from the microphones, the default output's
// first, and offered as an audio source after them.
func TestSourceChoicesListDesktopAudioApartFromMicrophones(t *testing.T) {
	d := sourceChoices([]capture.Device{
		{ID: "hdmi.monitor", Label: "Monitor of HDMI", Kind: capture.KindDesktop},
		{ID: "speakers.monitor", Label: "Monitor of Speakers", Kind: capture.KindDesktop, Default: true},
		{Label: "USB Mic", Kind: capture.KindMicrophone},
		{Label: capture.ToneLabel, Kind: capture.KindMicrophone, Test: true},
	})
	var desktop, audio []string
	for _, c := range d.Desktop {
		desktop = append(desktop, c.Spec)
	}
	for _, c := range d.Audio {
		audio = append(audio, c.Spec)
	}
	if want := []string{"desktop", "desktop:hdmi.monitor", "desktop:speakers.monitor"}; !slices.Equal(desktop, want) {
		t.Errorf("desktop %q, want %q", desktop, want)
	}
	if want := []string{"mic:USB Mic", "desktop", "desktop:hdmi.monitor", "desktop:speakers.monitor", "tone", "none"}; !slices.Equal(audio, want) {
		t.Errorf("audio %q, want %q", audio, want)
	}
	if d := sourceChoices(nil); len(d.Desktop) != 0 {
		t.Errorf("desktop audio with no monitors: %+v", d.Desktop)
	}
}
