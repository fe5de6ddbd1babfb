package capture

import (
	"errors"
	"sync"
	"testing"

	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// fakeCamera is a camera driver that never captures; listing is all it is for.
type fakeCamera struct{}

func (fakeCamera) Open() error  { return nil }
func (fakeCamera) Close() error { return nil }
func (fakeCamera) Properties() []prop.Media {
	return []prop.Media{{Video: prop.Video{Width: 640, Height: 480, FrameRate: 30}}}
}
func (fakeCamera) VideoRecord(prop.Media) (video.Reader, error) {
	return nil, errors.New("a fake camera captures nothing")
}

// fakeSystem stands in for the machine's V4L2 devices and audio backend, so a
// test can plug devices in and out between two listings.
type fakeSystem struct {
	mu      sync.Mutex
	cameras []string
	mics    []string
}

func (f *fakeSystem) plug(camera, mic string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cameras = append(f.cameras, camera)
	f.mics = append(f.mics, mic)
}

func (f *fakeSystem) unplugAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cameras, f.mics = nil, nil
}

// useFakeSystem makes Rescan ask f instead of the hardware, and puts the real
// devices back when the test ends.
func useFakeSystem(t *testing.T, f *fakeSystem) {
	t.Helper()
	scan, list := scanVideo, listMicrophones
	scanVideo = func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, c := range f.cameras {
			_ = driver.GetManager().Register(fakeCamera{}, driver.Info{Label: c, DeviceType: driver.Camera})
		}
	}
	listMicrophones = func() ([]micDevice, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		var out []micDevice
		for _, m := range f.mics {
			out = append(out, micDevice{name: m})
		}
		return out, nil
	}
	t.Cleanup(func() {
		scanVideo, listMicrophones = scan, list
		Rescan()
	})
}

func listed(devs []Device) map[string]int {
	out := map[string]int{}
	for _, d := range devs {
		out[string(d.Kind)+":"+d.Label]++
	}
	return out
}

// A camera and a microphone plugged in while Tally runs are in the listing
// after a rescan, and can be opened by name; the built-in sources stay, once.
func TestRescanListsACameraAndMicrophonePluggedInAfterStartUp(t *testing.T) {
	sys := &fakeSystem{}
	useFakeSystem(t, sys)
	Rescan()
	before := listed(List())
	if before["camera:Brio 4K"] != 0 || before["microphone:USB Mic"] != 0 {
		t.Fatalf("devices listed before they were plugged in: %v", before)
	}

	sys.plug("Brio 4K", "USB Mic")
	Rescan()
	after := listed(List())
	if after["camera:Brio 4K"] != 1 || after["microphone:USB Mic"] != 1 {
		t.Fatalf("after plugging in a camera and a microphone and rescanning: %v", after)
	}
	if after["camera:"+TestPatternLabel] != 1 || after["microphone:"+ToneLabel] != 1 {
		t.Errorf("the built-in sources after a rescan: %v", after)
	}
	if _, err := find("camera:Brio"); err != nil {
		t.Errorf("the plugged-in camera cannot be picked: %v", err)
	}
	if _, err := find("mic:USB"); err != nil {
		t.Errorf("the plugged-in microphone cannot be picked: %v", err)
	}
}

// Unplugged devices leave the listing at the next rescan instead of staying
// as entries that fail to open.
func TestRescanDropsUnpluggedDevices(t *testing.T) {
	sys := &fakeSystem{}
	useFakeSystem(t, sys)
	sys.plug("Brio 4K", "USB Mic")
	Rescan()
	sys.unplugAll()
	Rescan()
	after := listed(List())
	if after["camera:Brio 4K"] != 0 || after["microphone:USB Mic"] != 0 {
		t.Fatalf("unplugged devices still listed: %v", after)
	}
	if _, err := find("camera:Brio"); !errors.Is(err, ErrNoDevice) {
		t.Errorf("an unplugged camera: %v, want ErrNoDevice", err)
	}
}

// On the real drivers, a rescan of a machine where nothing was plugged in or
// out lists exactly what was there: nothing lost, nothing twice.
func TestRescanOfAnUnchangedMachineListsTheSameDevices(t *testing.T) {
	Rescan()
	before := listed(List())
	Rescan()
	Rescan()
	after := listed(List())
	if len(after) != len(before) {
		t.Fatalf("before %v, after two rescans %v", before, after)
	}
	for label, n := range before {
		if after[label] != n {
			t.Errorf("%s listed %d times before, %d after two rescans", label, n, after[label])
		}
	}
	t.Logf("devices: %v", after)
}

// The audio backend starts when a microphone is first needed, not when the
// package loads: opening the test pattern or the tone lists none, and the
// first listing lists them once.
func TestMicrophonesAreListedOnFirstNeedOnly(t *testing.T) {
	f := &fakeSystem{mics: []string{"USB Mic"}}
	useFakeSystem(t, f)
	calls := 0
	inner := listMicrophones
	listMicrophones = func() ([]micDevice, error) { calls++; return inner() }
	driverMu.Lock()
	micsListed = false
	driverMu.Unlock()

	for _, spec := range []string{"testpattern", "tone"} {
		driverMu.Lock()
		_, err := find(spec)
		driverMu.Unlock()
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
	}
	if calls != 0 {
		t.Fatalf("the test pattern and the tone listed the microphones %d times", calls)
	}
	if got := listed(List()); got["microphone:USB Mic"] != 1 {
		t.Errorf("first listing: %v", got)
	}
	List()
	if calls != 1 {
		t.Errorf("microphones listed %d times for two listings, want once", calls)
	}
}
