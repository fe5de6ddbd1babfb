package encode

import (
	"image"
	"slices"
	"time"

	"github.com/asticode/go-astiav"
)

// Probe reports whether an encoder really works here: it opens it and encodes a
// few frames. Hardware encoders are compiled in whether or not a GPU exists;
// only this tells.
func Probe(name string) error {
	if name == "aac" {
		e, err := NewAudioEncoder(AudioConfig{SampleRate: 48000, Channels: 2, Bitrate: 128_000})
		if err != nil {
			return err
		}
		defer e.Close()
		return e.Encode(make([]int16, 2*2048), 48000, 2, func(Packet) {})
	}
	e, err := NewVideoEncoder(VideoConfig{Encoder: name, Width: 320, Height: 240, FPS: 30, Bitrate: 500_000,
		KeyframeInterval: time.Second, Preset: "ultrafast"})
	if err != nil {
		return err
	}
	defer e.Close()
	img := image.NewYCbCr(image.Rect(0, 0, 320, 240), image.YCbCrSubsampleRatio420)
	for n := int64(0); n < 3; n++ {
		if err := e.Encode(img, n, false, time.Time{}, func(Packet) {}); err != nil {
			return err
		}
	}
	return e.Flush(func(Packet) {})
}

// Usable lists the encoders for streamable codecs that open and encode here,
// for the codecs named (all that can stream when none are). Opening one is
// not free (SVT-AV1 starts a pool of threads and takes seconds), so a caller
// that streams only H.264 asks for that alone.
func Usable(codecs ...string) []EncoderInfo {
	// A failing probe is an expected answer, not something to log.
	level := astiav.GetLogLevel()
	astiav.SetLogLevel(astiav.LogLevelQuiet)
	defer astiav.SetLogLevel(level)
	var out []EncoderInfo
	for _, e := range Encoders() {
		if len(codecs) > 0 && !slices.Contains(codecs, e.Codec) {
			continue
		}
		if Probe(e.Name) == nil {
			out = append(out, e)
		}
	}
	return out
}
