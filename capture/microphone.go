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

var (
	micOnce sync.Once
	micCtx  *malgo.AllocatedContext
)

// registerMicrophones adds the system's capture devices to the driver manager.
// Failure to find an audio backend means no microphones, never a crash.
func registerMicrophones() {
	micOnce.Do(func() {
		defer func() {
			if r := recover(); r != nil {
				slog.Debug("capture: audio backend failed", "panic", r)
			}
		}()
		ctx, err := malgo.InitContext(nil, malgo.ContextConfig{}, nil)
		if err != nil {
			slog.Debug("capture: no audio backend", "err", err)
			return
		}
		devs, err := ctx.Devices(malgo.Capture)
		if err != nil {
			slog.Debug("capture: listing microphones failed", "err", err)
			_ = ctx.Uninit()
			ctx.Free()
			return
		}
		micCtx = ctx
		for _, d := range devs {
			priority := driver.PriorityNormal
			if d.IsDefault != 0 {
				priority = driver.PriorityHigh
			}
			_ = driver.GetManager().Register(&microphone{info: d}, driver.Info{
				Label: d.Name(), Name: d.Name(), DeviceType: driver.Microphone, Priority: priority,
			})
		}
	})
}

func init() { registerMicrophones() }

type microphone struct {
	info    malgo.DeviceInfo
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
	cfg.Capture.DeviceID = m.info.ID.Pointer()
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
		return nil, fmt.Errorf("microphone %s: %w", m.info.Name(), err)
	}
	if err := dev.Start(); err != nil {
		dev.Uninit()
		return nil, fmt.Errorf("microphone %s: start: %w", m.info.Name(), err)
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
			return nil, nil, fmt.Errorf("microphone %s: no audio for 2 s (unplugged?)", m.info.Name())
		}
	}), nil
}
