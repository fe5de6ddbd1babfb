package capture

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/gen2brain/malgo"
	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/prop"
)

// Desktop audio: what the computer plays, taken from the monitor of an
// output. PulseAudio gives every output (a sink) a monitor source that
// carries what the output plays, named after it ("<sink>.monitor") and
// described "Monitor of …"; PipeWire's PulseAudio server does the same, so
// one path serves both. miniaudio's PulseAudio backend lists those monitors
// among its inputs and opens them as it opens a microphone, so a monitor is
// captured by the microphone driver (microphone.go): the same copy of every
// buffer in the callback, the same silence check. What is PulseAudio's own is
// telling monitors apart (an input named after an output is its monitor: the
// description is translated, the name is not) and talking to PulseAudio
// alone, since the microphones' backend may be ALSA, which has no monitors.
// Elsewhere (macOS, Windows) there is no PulseAudio server and desktop audio
// says so.

// Monitor is a desktop-audio source: the monitor of one output.
type Monitor struct {
	// Name is the server's name for the monitor, e.g.
	// "alsa_output.pci-0000_00_1f.3.analog-stereo.monitor": what
	// "desktop:NAME" takes, as it never changes with the language.
	Name string
	// Label is what a person reads, e.g. "Monitor of Built-in Audio".
	Label string
	// Output is the name of the output it carries.
	Output string
	// Default is whether Output is the default output: "desktop" alone
	// captures its monitor.
	Default bool
	id      malgo.DeviceID
}

// ErrNoAudioServer is returned when desktop audio is asked for and no
// PulseAudio (or PipeWire's PulseAudio) server answers. It is also an
// ErrNoDevice, so the command line reports a source that is not there.
var ErrNoAudioServer error = noDevice("no PulseAudio or PipeWire sound server")

// ErrNoMonitor is returned when the server answers but has no monitor by the
// name asked for, or none at all. It is also an ErrNoDevice.
var ErrNoMonitor error = noDevice("no such desktop audio monitor")

// noDevice is an error that is also ErrNoDevice (errors.Is), so that callers
// who only know "the source is not there" need nothing new.
type noDevice string

func (e noDevice) Error() string        { return string(e) }
func (e noDevice) Is(target error) bool { return target == ErrNoDevice }

// splitMonitors tells the monitors among a PulseAudio server's inputs from
// the others (microphones, line inputs): an input named "<output>.monitor"
// after one of the outputs is that output's monitor. Other backends' inputs
// are never named so, and all stay microphones.
func splitMonitors(outputs, inputs []micDevice) (monitors []Monitor, others []micDevice) {
	byName := make(map[string]micDevice, len(outputs))
	for _, o := range outputs {
		byName[o.key()] = o
	}
	for _, in := range inputs {
		name := in.key()
		out, ok := byName[strings.TrimSuffix(name, ".monitor")]
		if !ok || !strings.HasSuffix(name, ".monitor") {
			others = append(others, in)
			continue
		}
		monitors = append(monitors, Monitor{Name: name, Label: in.name, Output: out.key(), Default: out.isDefault, id: in.id})
	}
	sort.Slice(monitors, func(i, j int) bool { return monitors[i].Label < monitors[j].Label })
	return monitors, others
}

// pickMonitor finds the monitor "desktop:NAME" means: "" the default
// output's; otherwise, in this order, a monitor's name, its output's name,
// its label ignoring case, then the first by label whose name or label holds
// NAME ignoring case (as "mic:USB" picks a microphone).
func pickMonitor(monitors []Monitor, name string) (Monitor, error) {
	if len(monitors) == 0 {
		return Monitor{}, fmt.Errorf("%w: the sound server lists no outputs", ErrNoMonitor)
	}
	if name == "" {
		for _, m := range monitors {
			if m.Default {
				return m, nil
			}
		}
		return monitors[0], nil
	}
	for _, m := range monitors {
		if m.Name == name || m.Output == name || strings.EqualFold(m.Label, name) {
			return m, nil
		}
	}
	lower := strings.ToLower(name)
	for _, m := range monitors {
		if strings.Contains(strings.ToLower(m.Label), lower) || strings.Contains(strings.ToLower(m.Name), lower) {
			return m, nil
		}
	}
	there := make([]string, len(monitors))
	for i, m := range monitors {
		there[i] = fmt.Sprintf("%q (%s)", m.Label, m.Name)
	}
	return Monitor{}, fmt.Errorf("%w: none matches %q; the monitors are %s", ErrNoMonitor, name, strings.Join(there, ", "))
}

// pulseContext connects to the PulseAudio server (PULSE_SERVER, or the
// user's session) through miniaudio's PulseAudio backend and no other, never
// starting a server of its own. The caller frees it with freeContext.
func pulseContext() (ctx *malgo.AllocatedContext, err error) {
	defer func() {
		if r := recover(); r != nil {
			ctx, err = nil, fmt.Errorf("%w (the PulseAudio client failed: %v)", ErrNoAudioServer, r)
		}
	}()
	ctx, err = malgo.InitContext([]malgo.Backend{malgo.BackendPulseaudio}, malgo.ContextConfig{}, nil)
	if err != nil {
		return nil, fmt.Errorf("%w (connecting: %v)", ErrNoAudioServer, err)
	}
	return ctx, nil
}

func freeContext(ctx *malgo.AllocatedContext) {
	_ = ctx.Uninit()
	ctx.Free()
}

// listMonitors asks the PulseAudio server for the monitors of its outputs
// now, on a connection of its own that it closes: listing is rare (first
// need, a rescan, opening), and a connection kept between listings would
// have to notice a server that restarted. Tests stand in a server of their
// own. The caller holds driverMu.
var listMonitors = func() ([]Monitor, error) {
	ctx, err := pulseContext()
	if err != nil {
		return nil, err
	}
	defer freeContext(ctx)
	outputs, err := devicesOf(ctx, malgo.Playback)
	if err != nil {
		return nil, fmt.Errorf("%w (listing its outputs: %v)", ErrNoAudioServer, err)
	}
	inputs, err := devicesOf(ctx, malgo.Capture)
	if err != nil {
		return nil, fmt.Errorf("%w (listing its inputs: %v)", ErrNoAudioServer, err)
	}
	monitors, _ := splitMonitors(outputs, inputs)
	return monitors, nil
}

// monitors are those the last listing found, for List; guarded by driverMu.
// monitorsListed is whether there was one: as microphones, monitors are
// listed on first need, so that a command that never asks for one never
// talks to the sound server.
var (
	monitors       []Monitor
	monitorsListed bool
)

// scanMonitors lists the monitors again for List. No server means none,
// never a failure: the machine has no desktop audio to offer. The caller
// holds driverMu.
func scanMonitors() {
	monitorsListed = true
	m, err := listMonitors()
	if err != nil {
		slog.Debug("capture: no desktop audio", "err", err)
	}
	monitors = m
}

// needMonitors lists the monitors the first time they are needed. The
// caller holds driverMu.
func needMonitors() {
	if !monitorsListed {
		scanMonitors()
	}
}

// Monitors lists the desktop-audio sources: the monitor of each output the
// sound server has now, the default output's marked. It asks the server each
// time; an error wraps ErrNoAudioServer when there is none.
func Monitors() ([]Monitor, error) {
	driverMu.Lock()
	defer driverMu.Unlock()
	m, err := listMonitors()
	monitors, monitorsListed = m, true
	return m, err
}

// findDesktop returns the driver for "desktop[:NAME]", from a listing made
// now: the default output may have changed since the last one. The caller
// holds driverMu.
func findDesktop(name string) (driver.Driver, error) {
	m, err := listMonitors()
	monitors, monitorsListed = m, true
	if err != nil {
		return nil, fmt.Errorf("desktop audio: %w", err)
	}
	mon, err := pickMonitor(m, name)
	if err != nil {
		return nil, fmt.Errorf("desktop audio: %w", err)
	}
	return &desktopDriver{mon: mon, mic: &microphone{id: mon.id, name: mon.Label, what: "desktop audio"}}, nil
}

// desktopDriver is a monitor opened for capture: the microphone driver on a
// PulseAudio connection of its own, opened with it and closed after it, so
// that no connection outlives the device that uses it or is shared with one
// the server has dropped. It is not registered with mediadevices' manager,
// so the microphones' queries never see it. Its methods run under driverMu
// (OpenAudio, closeDriver), which guards mic.ctx.
type desktopDriver struct {
	mon Monitor
	mic *microphone
}

func (d *desktopDriver) Open() error {
	if d.mic.ctx != nil {
		return nil
	}
	ctx, err := pulseContext()
	if err != nil {
		return fmt.Errorf("desktop audio %s: %w", d.mon.Name, err)
	}
	d.mic.ctx = ctx
	return nil
}

func (d *desktopDriver) Close() error {
	err := d.mic.Close()
	if d.mic.ctx != nil {
		freeContext(d.mic.ctx)
		d.mic.ctx = nil
	}
	return err
}

func (d *desktopDriver) Properties() []prop.Media { return d.mic.Properties() }

func (d *desktopDriver) AudioRecord(p prop.Media) (audio.Reader, error) {
	return d.mic.AudioRecord(p)
}

func (d *desktopDriver) ID() string { return "desktop:" + d.mon.Name }

func (d *desktopDriver) Info() driver.Info {
	return driver.Info{Label: d.mon.Label, Name: d.mon.Name, DeviceType: driver.Microphone}
}

func (d *desktopDriver) Status() driver.State { return driver.StateOpened }
