package capture

import (
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
	infos, err := micCtx.Devices(malgo.Capture)
	if err != nil {
		return nil, fmt.Errorf("listing microphones: %w", err)
	}
	out := make([]micDevice, 0, len(infos))
	for _, d := range infos {
		out = append(out, micDevice{id: d.ID, name: d.Name(), isDefault: d.IsDefault != 0})
	}
	return out, nil
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
		_ = m.Register(&microphone{id: d.id, name: d.name}, driver.Info{
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

type microphone struct {
	id      malgo.DeviceID
	name    string
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
	if micCtx == nil {
		return nil, errors.New("no audio backend")
	}
	rate, channels := p.SampleRate, p.ChannelCount
	cfg := malgo.DefaultDeviceConfig(malgo.Capture)
	cfg.Capture.Format = malgo.FormatS16
	cfg.Capture.Channels = uint32(channels)
	cfg.Capture.DeviceID = m.id.Pointer()
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
	dev, err := malgo.InitDevice(micCtx.Context, cfg, malgo.DeviceCallbacks{Data: onData})
	if err != nil {
		return nil, fmt.Errorf("microphone %s: %w", m.name, err)
	}
	if err := dev.Start(); err != nil {
		dev.Uninit()
		return nil, fmt.Errorf("microphone %s: start: %w", m.name, err)
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
			return nil, nil, fmt.Errorf("microphone %s: no audio for 2 s (unplugged?)", m.name)
		}
	}), nil
}
