package capture

import (
	"errors"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gen2brain/malgo"
	"github.com/tallystudio/tally/internal/peers"
)

// pulseDevice is a device as miniaudio's PulseAudio backend lists it: its id
// the server's name, its name the description.
func pulseDevice(name, label string, isDefault bool) micDevice {
	var id malgo.DeviceID
	copy(id[:], name)
	return micDevice{id: id, name: label, isDefault: isDefault}
}

// A laptop's server: speakers (the default output) and HDMI, each with its
// monitor among the inputs, a built-in microphone, and an input that only
// looks like a monitor (no output of that name).
var (
	laptopOutputs = []micDevice{
		pulseDevice("alsa_output.pci-0000_00_1f.3.analog-stereo", "Built-in Audio Analog Stereo", true),
		pulseDevice("alsa_output.pci-0000_01_00.1.hdmi-stereo", "HDMI Audio", false),
	}
	laptopInputs = []micDevice{
		pulseDevice("alsa_input.pci-0000_00_1f.3.analog-stereo", "Built-in Audio Analog Stereo", true),
		pulseDevice("alsa_output.pci-0000_00_1f.3.analog-stereo.monitor", "Monitor of Built-in Audio Analog Stereo", false),
		pulseDevice("alsa_output.pci-0000_01_00.1.hdmi-stereo.monitor", "Monitor of HDMI Audio", false),
		pulseDevice("studio.monitor", "Studio monitor speakers mic", false),
	}
)

// Monitors are told from microphones by name, not by the (translated)
// description: an input named after an output plus ".monitor" is its
// monitor, marked default with the default output; the rest stay
// microphones, monitors or not by their looks.
func TestSplitMonitorsTellsAnOutputsMonitorFromMicrophones(t *testing.T) {
	mons, mics := splitMonitors(laptopOutputs, laptopInputs)
	if len(mons) != 2 {
		t.Fatalf("monitors %+v, want the two outputs'", mons)
	}
	if m := mons[0]; m.Label != "Monitor of Built-in Audio Analog Stereo" || !m.Default ||
		m.Output != "alsa_output.pci-0000_00_1f.3.analog-stereo" || m.Name != m.Output+".monitor" {
		t.Errorf("the speakers' monitor: %+v", m)
	}
	if m := mons[1]; m.Label != "Monitor of HDMI Audio" || m.Default {
		t.Errorf("HDMI's monitor: %+v", m)
	}
	var names []string
	for _, m := range mics {
		names = append(names, m.key())
	}
	if got := strings.Join(names, " "); got != "alsa_input.pci-0000_00_1f.3.analog-stereo studio.monitor" {
		t.Errorf("microphones %q", got)
	}
	// ALSA names no input after an output: every input stays a microphone.
	alsa := []micDevice{pulseDevice("hw:0,0", "HDA Intel PCH", true)}
	if mons, mics := splitMonitors(alsa, alsa); len(mons) != 0 || len(mics) != 1 {
		t.Errorf("ALSA: monitors %+v, microphones %+v", mons, mics)
	}
}

// "desktop" is the default output's monitor; "desktop:NAME" takes a
// monitor's name, its output's, or a piece of its label in any case; a name
// that matches nothing fails with ErrNoMonitor (also ErrNoDevice), naming
// what was asked for and what there is.
func TestPickMonitorByDefaultNameOutputOrLabel(t *testing.T) {
	mons, _ := splitMonitors(laptopOutputs, laptopInputs)
	for _, tc := range []struct{ name, want string }{
		{"", "alsa_output.pci-0000_00_1f.3.analog-stereo.monitor"},
		{"alsa_output.pci-0000_01_00.1.hdmi-stereo.monitor", "alsa_output.pci-0000_01_00.1.hdmi-stereo.monitor"},
		{"alsa_output.pci-0000_01_00.1.hdmi-stereo", "alsa_output.pci-0000_01_00.1.hdmi-stereo.monitor"},
		{"monitor of hdmi audio", "alsa_output.pci-0000_01_00.1.hdmi-stereo.monitor"},
		{"HDMI", "alsa_output.pci-0000_01_00.1.hdmi-stereo.monitor"},
		{"built-in", "alsa_output.pci-0000_00_1f.3.analog-stereo.monitor"},
	} {
		m, err := pickMonitor(mons, tc.name)
		if err != nil || m.Name != tc.want {
			t.Errorf("desktop:%s picked %q (%v), want %q", tc.name, m.Name, err, tc.want)
		}
	}
	// With no default output marked, the first by label.
	noDefault := []Monitor{{Name: "b.monitor", Label: "Monitor of B"}, {Name: "a.monitor", Label: "Monitor of A"}}
	if m, err := pickMonitor(noDefault, ""); err != nil || m.Name != "b.monitor" {
		t.Errorf("no default output: picked %q (%v), want the first listed", m.Name, err)
	}

	_, err := pickMonitor(mons, "USB headset")
	if !errors.Is(err, ErrNoMonitor) || !errors.Is(err, ErrNoDevice) {
		t.Fatalf("an unknown monitor: %v, want ErrNoMonitor and ErrNoDevice", err)
	}
	for _, want := range []string{`"USB headset"`, "Monitor of HDMI Audio", "alsa_output.pci-0000_01_00.1.hdmi-stereo.monitor"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error %q does not name %s", err, want)
		}
	}
	if _, err := pickMonitor(nil, ""); !errors.Is(err, ErrNoMonitor) || !strings.Contains(err.Error(), "no outputs") {
		t.Errorf("a server without outputs: %v", err)
	}
}

// useFakeMonitors makes the desktop-audio listing answer mons (or err)
// instead of asking a sound server, until the test ends.
func useFakeMonitors(t *testing.T, mons []Monitor, err error) {
	t.Helper()
	list := listMonitors
	listMonitors = func() ([]Monitor, error) { return mons, err }
	t.Cleanup(func() {
		listMonitors = list
		driverMu.Lock()
		scanMonitors()
		driverMu.Unlock()
	})
}

// The device listing shows monitors as desktop audio, apart from the
// microphones, the default output's marked; a rescan finds an output added
// since; "desktop" finds the default one and "mic" never a monitor.
func TestListShowsMonitorsAsDesktopAudioApartFromMicrophones(t *testing.T) {
	useFakeSystem(t, &fakeSystem{mics: []string{"USB Mic"}})
	mons, _ := splitMonitors(laptopOutputs[:1], laptopInputs)
	useFakeMonitors(t, mons, nil)
	Rescan()
	var desktop, mics []Device
	for _, d := range Devices() {
		switch d.Kind {
		case KindDesktop:
			desktop = append(desktop, d)
		case KindMicrophone:
			if !d.Test {
				mics = append(mics, d)
			}
		}
	}
	if len(desktop) != 1 || desktop[0].ID != laptopOutputs[0].key()+".monitor" || !desktop[0].Default || len(desktop[0].Modes) == 0 {
		t.Errorf("desktop audio listed %+v", desktop)
	}
	if len(mics) != 1 || mics[0].Label != "USB Mic" {
		t.Errorf("microphones listed %+v", mics)
	}

	all, _ := splitMonitors(laptopOutputs, laptopInputs)
	useFakeMonitors(t, all, nil)
	if got := listed(List()); got["desktop:Monitor of HDMI Audio"] != 0 {
		t.Errorf("an output added since was listed before a rescan: %v", got)
	}
	Rescan()
	if got := listed(List()); got["desktop:Monitor of HDMI Audio"] != 1 || got["desktop:Monitor of Built-in Audio Analog Stereo"] != 1 {
		t.Errorf("after a rescan: %v", got)
	}

	driverMu.Lock()
	defer driverMu.Unlock()
	d, err := find("desktop")
	if err != nil || d.Info().Name != laptopOutputs[0].key()+".monitor" || d.Info().Label != "Monitor of Built-in Audio Analog Stereo" {
		t.Errorf("desktop found %+v (%v), want the speakers' monitor", d, err)
	}
	if d, err := find("mic:Monitor"); err == nil {
		t.Errorf("mic:Monitor found %q, a monitor is not a microphone", d.Info().Label)
	}
}

// With no sound server, desktop audio fails at once with ErrNoAudioServer
// (also ErrNoDevice, so the command line exits as for a missing device), and
// the listing has no desktop audio, not an error. The real PulseAudio client
// is asked, pointed at a socket where nothing listens.
func TestDesktopWithoutASoundServerFailsWithErrNoAudioServer(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PULSE_SERVER", "unix:"+filepath.Join(dir, "nothing-here"))
	t.Setenv("PULSE_COOKIE", filepath.Join(dir, "cookie"))
	t.Cleanup(func() { driverMu.Lock(); scanMonitors(); driverMu.Unlock() })

	_, err := OpenAudio("desktop", 48000, 2)
	if !errors.Is(err, ErrNoAudioServer) || !errors.Is(err, ErrNoDevice) {
		t.Fatalf("desktop with no server: %v, want ErrNoAudioServer and ErrNoDevice", err)
	}
	if !strings.HasPrefix(err.Error(), "desktop audio: no PulseAudio or PipeWire sound server") {
		t.Errorf("the error %q does not say what is missing first", err)
	}
	if _, err := Monitors(); !errors.Is(err, ErrNoAudioServer) {
		t.Errorf("Monitors with no server: %v", err)
	}
	for _, d := range List() {
		if d.Kind == KindDesktop {
			t.Errorf("desktop audio listed with no server: %+v", d)
		}
	}
}

// On a real PulseAudio server, a tone played into the default output comes
// out of "desktop" at its level: the monitor is listed, opened by the
// default and by name, and carries what the output plays.
func TestDesktopCapturesWhatTheDefaultOutputPlays(t *testing.T) {
	pa := peers.StartPulse(t)
	pa.Use(t)
	t.Cleanup(func() { driverMu.Lock(); scanMonitors(); driverMu.Unlock() })
	mons, err := Monitors()
	if err != nil {
		t.Fatal(err)
	}
	if len(mons) != 1 || mons[0].Name != pa.Sink+".monitor" || !mons[0].Default {
		t.Fatalf("monitors %+v, want the null sink's, as the default", mons)
	}
	t.Logf("monitor: %q (%s)", mons[0].Label, mons[0].Name)

	wav := filepath.Join(t.TempDir(), "tone.wav")
	if out, err := exec.Command(peers.Require(t, "ffmpeg"), "-v", "error", "-f", "lavfi",
		"-i", "aevalsrc=0.5*sin(2*PI*1000*t):s=48000:c=stereo:d=20", "-c:a", "pcm_s16le", wav).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	pa.Play(t, wav)
	for _, spec := range []string{"desktop", "desktop:" + pa.Sink, "desktop:null output"} {
		src, err := OpenAudio(spec, 48000, 2)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		var left []float64
		var buf []int16
		for len(left) < 48000 {
			if buf, err = src.Read(buf); err != nil {
				t.Fatalf("%s: read: %v", spec, err)
			}
			for i := 0; i+1 < len(buf); i += 2 {
				left = append(left, float64(buf[i]))
			}
		}
		_ = src.Close()
		// The stream may start with the silence before paplay's first
		// buffer: judge the last half second.
		db := goertzelDB(left[len(left)-24000:], 1000, 48000)
		t.Logf("%s (%s): 1 kHz at %.2f dBFS", spec, src.Label, db)
		if math.Abs(db+6) > 0.5 {
			t.Errorf("%s: the tone at %.2f dBFS, want -6 ±0.5", spec, db)
		}
	}
}

// goertzelDB is the level in dBFS (of a sine's peak) of freq Hz in samples
// at rate, Hann-windowed.
func goertzelDB(samples []float64, freq float64, rate int) float64 {
	n := len(samples)
	coeff := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2, sum float64
	for i, x := range samples {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n))
		sum += w
		s0 := x*w + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	amp := 2 * math.Sqrt(s1*s1+s2*s2-coeff*s1*s2) / sum
	return 20 * math.Log10(amp/32767)
}
