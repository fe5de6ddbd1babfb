package capture

// #include <stdlib.h>
import "C"

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gen2brain/malgo"
	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/mediadevices/pkg/wave"
)

// Tally's own microphone driver, on miniaudio (malgo), instead of mediadevices'
// one, which panics at start-up when no audio backend exists and hands out a
// slice of C memory that miniaudio overwrites while it is still being read
// (heard as distortion). This one registers nothing when there is no backend,
// and copies every buffer inside the callback.

// micCtx is the audio backend, once one was found; guarded by driverMu.
var micCtx *malgo.AllocatedContext

// micDevice is a capture device as the audio backend lists it.
type micDevice struct {
	id        malgo.DeviceID
	name      string
	isDefault bool
}

// listMicrophones asks the audio backend which capture devices it has now,
// starting the backend if none was found before (a sound server started after
// Tally). Tests stand in a machine of their own. The caller holds driverMu.
var listMicrophones = func() ([]micDevice, error) {
	if micCtx == nil {
		ctx, err := initAudioBackend()
		if err != nil {
			return nil, err
		}
		micCtx = ctx
	}
	inputs, err := devicesOf(micCtx, malgo.Capture)
	if err != nil {
		return nil, fmt.Errorf("listing microphones: %w", err)
	}
	// PulseAudio lists the monitors of its outputs as inputs too: those are
	// desktop audio (desktop.go), not microphones. Outputs that cannot be
	// listed leave every input a microphone, as they were before monitors
	// were told apart.
	outputs, err := devicesOf(micCtx, malgo.Playback)
	if err != nil {
		slog.Debug("capture: listing outputs to tell monitors from microphones", "err", err)
	}
	_, mics := splitMonitors(outputs, inputs)
	return mics, nil
}

// devicesOf lists a backend's devices of one direction.
func devicesOf(ctx *malgo.AllocatedContext, kind malgo.DeviceType) ([]micDevice, error) {
	infos, err := ctx.Devices(kind)
	if err != nil {
		return nil, err
	}
	out := make([]micDevice, 0, len(infos))
	for _, d := range infos {
		out = append(out, micDevice{id: d.ID, name: d.Name(), isDefault: d.IsDefault != 0})
	}
	return out, nil
}

// key is the backend's own name for the device, which miniaudio keeps as a
// C string at the start of the id: PulseAudio's source or sink name, ALSA's
// "hw:0,0".
func (d micDevice) key() string {
	n := bytes.IndexByte(d.id[:], 0)
	if n < 0 {
		n = len(d.id)
	}
	return string(d.id[:n])
}

func initAudioBackend() (ctx *malgo.AllocatedContext, err error) {
	defer func() {
		if r := recover(); r != nil {
			ctx, err = nil, fmt.Errorf("audio backend failed: %v", r)
		}
	}()
	ctx, err = malgo.InitContext(nil, malgo.ContextConfig{}, nil)
	if err != nil {
		return nil, fmt.Errorf("no audio backend: %w", err)
	}
	return ctx, nil
}

// registerMicrophones puts the capture devices the backend lists now in the
// driver manager, in place of those it listed before. No audio backend means
// no microphones, never a crash; a listing that fails keeps the last one. The
// caller holds driverMu.
func registerMicrophones() {
	micsListed = true
	devs, err := listMicrophones()
	if err != nil {
		slog.Debug("capture: no microphones", "err", err)
		return
	}
	m := driver.GetManager()
	for _, d := range m.Query(isMicrophone) {
		m.Delete(d.ID())
	}
	for _, d := range devs {
		priority := driver.PriorityNormal
		if d.isDefault {
			priority = driver.PriorityHigh
		}
		_ = m.Register(&microphone{id: d.id, name: d.name, what: "microphone", ctx: micCtx}, driver.Info{
			Label: d.name, Name: d.name, DeviceType: driver.Microphone, Priority: priority,
		})
	}
}

// isMicrophone tells the system's microphones from the test tone.
func isMicrophone(d driver.Driver) bool {
	info := d.Info()
	return info.DeviceType == driver.Microphone && info.Label != ToneLabel
}

// micsListed is whether the microphones were registered yet; guarded by
// driverMu. They are listed on first need, not when the package loads, so
// that a command that never asks for one (tally version, tally stream with
// the tone) never starts the audio backend.
var micsListed bool

// needMicrophones registers the microphones the first time they are needed.
// The caller holds driverMu.
func needMicrophones() {
	if !micsListed {
		registerMicrophones()
	}
}

// microphone captures one input of an audio backend: a microphone, or a
// monitor for desktop audio (desktop.go).
type microphone struct {
	id      malgo.DeviceID
	name    string
	what    string                  // "microphone" or "desktop audio", for errors
	ctx     *malgo.AllocatedContext // the backend it is opened on
	mu      sync.Mutex
	dev     *malgo.Device
	chunks  chan []int16
	dropped atomic.Uint64 // chunks lost because the reader fell behind
}

func (m *microphone) Open() error { return nil }

func (m *microphone) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dev != nil {
		m.dev.Uninit()
		m.dev = nil
		close(m.chunks)
	}
	return nil
}

func (m *microphone) Properties() []prop.Media {
	var ps []prop.Media
	for _, rate := range []int{48000, 44100} {
		for _, ch := range []int{2, 1} {
			ps = append(ps, prop.Media{Audio: prop.Audio{SampleRate: rate, ChannelCount: ch, SampleSize: 2, IsInterleaved: true}})
		}
	}
	return ps
}

// AudioRecord starts capturing 16-bit samples at the asked-for rate and
// channel count; miniaudio converts from whatever the device offers.
func (m *microphone) AudioRecord(p prop.Media) (audio.Reader, error) {
	if m.ctx == nil {
		return nil, errors.New("no audio backend")
	}
	rate, channels := p.SampleRate, p.ChannelCount
	cfg := malgo.DefaultDeviceConfig(malgo.Capture)
	cfg.Capture.Format = malgo.FormatS16
	cfg.Capture.Channels = uint32(channels)
	// malgo copies the id into C memory that miniaudio only reads while the
	// device is made; it is ours to free then.
	id := m.id.Pointer()
	defer C.free(id)
	cfg.Capture.DeviceID = id
	cfg.SampleRate = uint32(rate)
	cfg.PeriodSizeInMilliseconds = 10
	chunks := make(chan []int16, 100) // one second of slack
	onData := func(_, in []byte, frames uint32) {
		n := int(frames) * channels
		if len(in) < 2*n {
			return
		}
		// in is miniaudio's buffer, reused after this returns: copy now.
		pcm := make([]int16, n)
		copy(pcm, unsafe.Slice((*int16)(unsafe.Pointer(&in[0])), n))
		select {
		case chunks <- pcm:
		default:
			m.dropped.Add(1)
		}
	}
	dev, err := malgo.InitDevice(m.ctx.Context, cfg, malgo.DeviceCallbacks{Data: onData})
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", m.what, m.name, err)
	}
	if err := dev.Start(); err != nil {
		dev.Uninit()
		return nil, fmt.Errorf("%s %s: start: %w", m.what, m.name, err)
	}
	m.mu.Lock()
	m.dev, m.chunks = dev, chunks
	m.mu.Unlock()
	return audio.ReaderFunc(func() (wave.Audio, func(), error) {
		select {
		case pcm, ok := <-chunks:
			if !ok {
				return nil, nil, io.EOF
			}
			a := wave.NewInt16Interleaved(wave.ChunkInfo{Len: len(pcm) / channels, Channels: channels, SamplingRate: rate})
			copy(a.Data, pcm)
			return a, nil, nil
		case <-time.After(2 * time.Second):
			return nil, nil, fmt.Errorf("%s %s: no audio for 2 s (unplugged?)", m.what, m.name)
		}
	}), nil
}
