package capture

import (
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/mediadevices/pkg/wave"
)

// Kind is what a device captures.
type Kind string

const (
	KindCamera     Kind = "camera"
	KindMicrophone Kind = "microphone"
	KindScreen     Kind = "screen"
	// KindDesktop is desktop audio, the monitor of an output (desktop.go):
	// listed apart, since a monitor is what the computer plays, not a
	// microphone.
	KindDesktop Kind = "desktop"
)

// Device is a source a user can pick.
type Device struct {
	ID    string
	Label string
	Kind  Kind
	Modes []prop.Media
	Test  bool // Tally's own test pattern or tone
	// Default is whether the system picks it when none is named; for now
	// set for desktop audio alone (the default output's monitor).
	Default bool
}

func kindOf(t driver.DeviceType) Kind {
	switch t {
	case driver.Microphone:
		return KindMicrophone
	case driver.Screen:
		return KindScreen
	}
	return KindCamera
}

// Devices lists every registered source with its modes: real devices first,
// then the test pattern and tone.
func Devices() []Device { return list(true) }

// List is Devices without the modes. Cameras tell their modes only while
// open, so List opens no device: it is cheap enough to call every few seconds
// and leaves a camera that is streaming alone.
func List() []Device { return list(false) }

func list(withModes bool) []Device {
	driverMu.Lock()
	defer driverMu.Unlock()
	needMicrophones()
	needMonitors()
	var out []Device
	for _, d := range driver.GetManager().Query(func(driver.Driver) bool { return true }) {
		info := d.Info()
		dev := Device{ID: d.ID(), Label: info.Label, Kind: kindOf(info.DeviceType),
			Test: info.Label == TestPatternLabel || info.Label == ToneLabel}
		// Cameras report their modes only while open; the others answer as they are.
		switch {
		case !withModes:
		case dev.Test || dev.Kind == KindMicrophone:
			dev.Modes = d.Properties()
		case dev.Kind == KindCamera && d.Open() == nil:
			dev.Modes = d.Properties()
			_ = d.Close()
		}
		out = append(out, dev)
	}
	for _, m := range monitors {
		dev := Device{ID: m.Name, Label: m.Label, Kind: KindDesktop, Default: m.Default}
		if withModes {
			dev.Modes = (&microphone{}).Properties()
		}
		out = append(out, dev)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Test != out[j].Test {
			return !out[i].Test
		}
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Label < out[j].Label
	})
	return out
}

// Rescan looks for devices again, so that a camera, screen or microphone
// plugged in (or removed) since start-up, or an output added, is in the next
// listing and can be opened. A source that is open carries on: it keeps the
// driver it opened.
func Rescan() {
	driverMu.Lock()
	defer driverMu.Unlock()
	rescanVideo()
	registerMicrophones()
	scanMonitors()
}

// rescanVideo replaces every video driver with those found now. The drivers'
// discovery registers what it finds without looking at what is there (the
// V4L2 one first deletes every video driver, screens and the test pattern
// included; the others would list a camera twice), so all of them go first
// and the test pattern comes back after.
func rescanVideo() {
	m := driver.GetManager()
	for _, d := range m.Query(driver.FilterVideoRecorder()) {
		m.Delete(d.ID())
	}
	func() {
		// AVFoundation's discovery panics when it cannot list cameras; that
		// is no cameras, not a crash.
		defer func() {
			if r := recover(); r != nil {
				slog.Warn("capture: looking for cameras and screens failed", "panic", r)
			}
		}()
		scanVideo()
	}()
	registerTestPattern()
}

// ErrNoDevice is returned when no device matches what was asked for.
var ErrNoDevice = errors.New("no such device")

// find returns the driver for a source spec: "testpattern" or "tone", or a kind
// with an optional name: "camera", "camera:Logitech", "mic:USB", "screen:0",
// "desktop", "desktop:NAME" (desktop.go).
// The caller holds driverMu, so a rescan cannot take the drivers away between
// finding one and opening it.
func find(spec string) (driver.Driver, error) {
	kindName, name, _ := strings.Cut(spec, ":")
	var want Kind
	label := ""
	switch strings.ToLower(kindName) {
	case "testpattern", "test":
		want, label = KindCamera, TestPatternLabel
	case "tone":
		want, label = KindMicrophone, ToneLabel
	case "camera", "cam":
		want = KindCamera
	case "mic", "microphone":
		want = KindMicrophone
		needMicrophones()
	case "screen":
		want = KindScreen
	case "desktop":
		return findDesktop(name)
	default:
		return nil, fmt.Errorf("unknown source %q (try testpattern, tone, camera[:NAME], mic[:NAME], desktop[:NAME], screen[:N])", spec)
	}
	var matches []driver.Driver
	for _, d := range driver.GetManager().Query(func(d driver.Driver) bool { return kindOf(d.Info().DeviceType) == want }) {
		info := d.Info()
		isTest := info.Label == TestPatternLabel || info.Label == ToneLabel
		switch {
		case label != "":
			if info.Label == label {
				matches = append(matches, d)
			}
		case isTest:
			// "camera" means a real camera: never silently the test pattern.
		case name == "" || strings.Contains(strings.ToLower(info.Label), strings.ToLower(name)) || d.ID() == name:
			matches = append(matches, d)
		}
	}
	if len(matches) == 0 {
		why := ""
		if want == KindScreen {
			if r := noScreenReason(); r != "" {
				why = ": " + r
			}
		}
		if name != "" {
			return nil, fmt.Errorf("%w: no %s matching %q%s", ErrNoDevice, want, name, why)
		}
		return nil, fmt.Errorf("%w: no %s found%s", ErrNoDevice, want, why)
	}
	sort.Slice(matches, func(i, j int) bool { return matches[i].Info().Label < matches[j].Info().Label })
	return matches[0], nil
}

// VideoSource delivers frames from an open device.
type VideoSource struct {
	d      driver.Driver
	r      video.Reader
	Label  string
	copies sync.Pool // *image.RGBA copies of frames the driver reuses
	// reading is held through each driver read, so Close can wait for one in
	// flight: a driver may free what a read is copying from when closed
	// under it (mediadevices' X11 driver did: SIGSEGV in copyBGR24).
	reading sync.Mutex
	closed  atomic.Bool
	screen  bool // reads always return, but closing under one may crash
}

// interrupter is a reader whose waiting Read can be ended before its
// driver is closed (Tally's X11 screen, whose Read waits for the frame
// rate's next tick or for a frame to be released).
type interrupter interface{ interrupt() }

// OpenVideo opens a video source at (or near) the asked-for mode.
func OpenVideo(spec string, width, height int, fps float64) (*VideoSource, error) {
	driverMu.Lock()
	defer driverMu.Unlock()
	d, err := find(spec)
	if err != nil {
		return nil, err
	}
	vr, ok := d.(driver.VideoRecorder)
	if !ok {
		return nil, fmt.Errorf("%s does not capture video", d.Info().Label)
	}
	if err := d.Open(); err != nil {
		return nil, fmt.Errorf("open %s: %w", d.Info().Label, err)
	}
	r, err := vr.VideoRecord(prop.Media{Video: prop.Video{Width: width, Height: height, FrameRate: float32(fps)}})
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("start %s: %w", d.Info().Label, err)
	}
	return &VideoSource{d: d, r: r, Label: d.Info().Label, screen: kindOf(d.Info().DeviceType) == KindScreen}, nil
}

// Read blocks for the next frame. release, when not nil, returns its memory.
// *image.RGBA frames are copied: mediadevices' screen drivers handed out one
// buffer they overwrite on every read, while Tally may still be encoding the
// last frame. Tally's X11 screen hands out *BGRX frames in memory of its own
// that release gives back: those pass as they are.
func (v *VideoSource) Read() (image.Image, func(), error) {
	v.reading.Lock()
	defer v.reading.Unlock()
	if v.closed.Load() {
		return nil, nil, io.EOF
	}
	img, release, err := v.r.Read()
	if err != nil {
		return nil, nil, err
	}
	rgba, ok := img.(*image.RGBA)
	if !ok {
		return img, release, nil
	}
	cp, _ := v.copies.Get().(*image.RGBA)
	if cp == nil || cp.Rect != rgba.Rect {
		cp = image.NewRGBA(rgba.Rect)
	}
	copy(cp.Pix, rgba.Pix)
	if release != nil {
		release()
	}
	return cp, func() { v.copies.Put(cp) }, nil
}

// Close stops the device once a read in flight has returned. A camera stuck
// in a read is closed after a second all the same: for it, closing is what
// ends the read. A screen read is never stuck, only slow on a loaded machine
// (seen past a second), and mediadevices' screens unmap the image a read
// copies from when closed under it: a screen waits for its read, and after
// 10 s is left open rather than crash. Tally's X11 screen ends a waiting
// read at once (interrupt) and is safe to close under a grab in any case.
func (v *VideoSource) Close() error {
	v.closed.Store(true)
	if i, ok := v.r.(interrupter); ok {
		i.interrupt()
	}
	done := make(chan struct{})
	go func() {
		// Taking the lock only to learn that the read in flight is over.
		v.reading.Lock()
		close(done)
		v.reading.Unlock()
	}()
	wait := time.Second
	if v.screen {
		wait = 10 * time.Second
	}
	select {
	case <-done:
	case <-time.After(wait):
		if v.screen {
			slog.Warn("capture: a screen read is still in flight; the screen is left open", "source", v.Label, "after", wait)
			return nil
		}
	}
	return closeDriver(v.d)
}

// AudioSource delivers packed 16-bit samples from an open device.
type AudioSource struct {
	d        driver.Driver
	r        audio.Reader
	Label    string
	Rate     int
	Channels int
}

// OpenAudio opens an audio source at the asked-for rate and channel count.
func OpenAudio(spec string, rate, channels int) (*AudioSource, error) {
	driverMu.Lock()
	defer driverMu.Unlock()
	d, err := find(spec)
	if err != nil {
		return nil, err
	}
	ar, ok := d.(driver.AudioRecorder)
	if !ok {
		return nil, fmt.Errorf("%s does not capture audio", d.Info().Label)
	}
	if err := d.Open(); err != nil {
		return nil, fmt.Errorf("open %s: %w", d.Info().Label, err)
	}
	r, err := ar.AudioRecord(prop.Media{Audio: prop.Audio{SampleRate: rate, ChannelCount: channels, SampleSize: 2,
		IsInterleaved: true, Latency: 10 * time.Millisecond}})
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("start %s: %w", d.Info().Label, err)
	}
	return &AudioSource{d: d, r: r, Label: d.Info().Label, Rate: rate, Channels: channels}, nil
}

// Read blocks for the next chunk and returns it as packed int16 samples, copied,
// since some drivers hand out memory they reuse.
func (a *AudioSource) Read(dst []int16) ([]int16, error) {
	chunk, release, err := a.r.Read()
	if err != nil {
		return dst, err
	}
	if release != nil {
		defer release()
	}
	info := chunk.ChunkInfo()
	a.Rate, a.Channels = info.SamplingRate, info.Channels
	dst = dst[:0]
	switch c := chunk.(type) {
	case *wave.Int16Interleaved:
		dst = append(dst, c.Data...)
	default:
		for i := 0; i < info.Len; i++ {
			for ch := 0; ch < info.Channels; ch++ {
				dst = append(dst, int16(wave.Int16SampleFormat.Convert(c.At(i, ch)).(wave.Int16Sample)))
			}
		}
	}
	return dst, nil
}

// Close stops the device.
func (a *AudioSource) Close() error { return closeDriver(a.d) }

// driverMu serialises opening, closing and querying drivers: mediadevices'
// driver state is not safe for concurrent use, and the studio lists devices
// while it opens others.
var driverMu sync.Mutex

func closeDriver(d driver.Driver) error {
	driverMu.Lock()
	defer driverMu.Unlock()
	return d.Close()
}
