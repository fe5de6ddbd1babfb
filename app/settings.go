package app

import (
	"errors"
	"fmt"
	"time"

	"github.com/tallystudio/tally/encode"
	"github.com/tallystudio/tally/rtmpclient"
	"github.com/tallystudio/tally/scene"
)

// VideoSettings describe the video source and its encode.
type VideoSettings struct {
	Source string // "testpattern", "camera[:NAME]", "screen[:N]", "file:PATH", "scenes", "none"
	Loop   bool   // a file source starts again at its end
	// Scenes is the collection that "scenes" composes. The studio keeps it
	// in a file of its own (docs/SCENES.md), not with the other settings.
	Scenes           *scene.Collection `json:"-"`
	Width, Height    int
	FPS              int
	Bitrate          int // b/s
	KeyframeInterval time.Duration
	Encoder          string
	Preset           string
	Tune             string
	Profile          string
	BFrames          int
}

// AudioSettings describe the audio source and its encode.
type AudioSettings struct {
	Source     string // "tone", "mic[:NAME]", "desktop[:NAME]", "file" (the video file's sound), "file:PATH", "scenes" (the collection's mix), "none"
	SampleRate int
	Channels   int
	Bitrate    int // b/s
}

// Destination is one place to stream to.
type Destination struct {
	Service string // a Services() ID
	URL     string
	Key     StreamKey
	// CAFile adds a CA for RTMPS to a private server; Insecure skips verification.
	CAFile   string
	Insecure bool
	// DynamicBitrate lowers the video bitrate while this destination's link
	// cannot carry it, and raises it again when it can.
	DynamicBitrate bool
	// Video is the video this destination receives. Empty, it gets the
	// session's own encode (Settings.Video). One rendition is an output of
	// its own: its codec, size, frame rate or bitrate. Several are sent as
	// one Enhanced RTMP multitrack stream, Video[0] as track 0.
	Video []Rendition
	// Output names an output preset (OutputPresets) that makes Video for
	// the canvas when Video is empty: how the studio keeps a choice that
	// follows the canvas when it changes.
	Output string
	// AssumeEnhanced sends HEVC, AV1 or several tracks to a server whose
	// connect answer states no Enhanced RTMP capabilities, as FFmpeg's
	// listener, gortmplib and nginx-rtmp all answer. Without it Tally falls
	// back to H.264 and one track there, unless the platform documents
	// taking them (Service.Enhanced).
	AssumeEnhanced bool
}

// Settings are everything a session needs.
type Settings struct {
	Video        VideoSettings
	Audio        AudioSettings
	Destinations []Destination
	Record       string        // a file to record to, "" for none
	Duration     time.Duration // stop after this long; 0 runs until stopped
	Reconnect    Reconnect
}

// Reconnect is what destinations do when a live connection drops.
type Reconnect struct {
	Off         bool          // report the drop instead of retrying
	MaxAttempts int           // give up after this many failed attempts in a row; 0: never
	MaxWait     time.Duration // the longest wait between attempts; 0: 60s
}

// DefaultSettings are what a new user starts with: the test sources, 720p30 at
// 4.5 Mb/s with a 2 s GOP (what every platform accepts), and the local ingest.
func DefaultSettings() Settings {
	return Settings{
		Video: VideoSettings{Source: "testpattern", Width: 1280, Height: 720, FPS: 30, Bitrate: 4_500_000,
			KeyframeInterval: 2 * time.Second, Encoder: "libx264", Preset: "veryfast", Profile: "high"},
		Audio:        AudioSettings{Source: "tone", SampleRate: 48000, Channels: 2, Bitrate: 160_000},
		Destinations: []Destination{{Service: "local"}},
	}
}

// StreamKey is a stream key: it masks itself wherever it is printed. It is
// rtmpclient's type, named here so that the ui, which talks only to app, can
// hold one.
type StreamKey = rtmpclient.StreamKey

// SettingsError is a problem with the settings, found before anything starts.
type SettingsError struct {
	Field string // which setting: "size", "url", "key", …
	Err   error
}

func (e *SettingsError) Error() string { return e.Err.Error() }
func (e *SettingsError) Unwrap() error { return e.Err }

func bad(field, format string, args ...any) error {
	return &SettingsError{Field: field, Err: fmt.Errorf(format, args...)}
}

// Validate checks the settings and returns warnings (limits of the chosen
// platforms) or the first error. Errors never contain the stream key.
func (s Settings) Validate() (warnings []string, err error) {
	v, a := s.Video, s.Audio
	if v.Source == "none" && a.Source == "none" {
		return nil, bad("source", "nothing to stream: both video and audio are none")
	}
	if v.Source != "none" {
		switch {
		case v.Width < 16 || v.Height < 16 || v.Width > 7680 || v.Height > 4320:
			return nil, bad("size", "size %dx%d is out of range 16x16..7680x4320", v.Width, v.Height)
		case v.Width%2 != 0 || v.Height%2 != 0:
			return nil, bad("size", "size %dx%d must have even width and height", v.Width, v.Height)
		case v.FPS < 1 || v.FPS > 240:
			return nil, bad("fps", "frame rate %d is out of range 1..240", v.FPS)
		case v.Bitrate < 100_000 || v.Bitrate > 200_000_000:
			return nil, bad("vbitrate", "video bitrate %d kb/s is out of range 100..200000 kb/s", v.Bitrate/1000)
		case v.KeyframeInterval < 100*time.Millisecond || v.KeyframeInterval > 20*time.Second:
			return nil, bad("keyint", "keyframe interval %v is out of range 0.1s..20s", v.KeyframeInterval)
		case v.BFrames < 0 || v.BFrames > 4:
			return nil, bad("bframes", "%d B-frames is out of range 0..4", v.BFrames)
		case v.Source == "scenes" && v.Scenes == nil:
			return nil, bad("scenes", "the video source is scenes, but no scene collection is given")
		}
		if a.Source == "scenes" && v.Source != "scenes" {
			return nil, bad("audio", "the scene collection's sound needs the scenes as the video source")
		}
		if v.Source == "scenes" {
			if err := v.Scenes.Validate(); err != nil {
				return nil, &SettingsError{Field: "scenes", Err: err}
			}
		}
	}
	if a.Source != "none" {
		switch {
		case a.SampleRate != 44100 && a.SampleRate != 48000:
			return nil, bad("samplerate", "audio sample rate %d Hz: use 44100 or 48000", a.SampleRate)
		case a.Channels != 1 && a.Channels != 2:
			return nil, bad("channels", "%d audio channels: use 1 or 2", a.Channels)
		case a.Bitrate < 32_000 || a.Bitrate > 512_000:
			return nil, bad("abitrate", "audio bitrate %d kb/s is out of range 32..512 kb/s", a.Bitrate/1000)
		}
	}
	if s.Record != "" {
		if !encode.CanRecord(s.Record) {
			return nil, bad("record", "recording %q: the file must end in .flv, .mp4 or .mkv", s.Record)
		}
	}
	if len(s.Destinations) == 0 && s.Record == "" {
		return nil, bad("url", "no destination and no recording: nothing would happen")
	}
	for i, d := range s.Destinations {
		svc, ok := ServiceByID(d.Service)
		if !ok {
			return nil, bad("service", "unknown service %q (%s)", d.Service, ServiceIDs())
		}
		if v.Source != "none" {
			tw, err := s.checkTracks(fmt.Sprintf("destination %d", i+1), d, svc)
			if err != nil {
				return nil, err
			}
			warnings = append(warnings, tw...)
		}
		if d.Service == "local" {
			continue
		}
		ep, err := rtmpclient.ParseURL(d.URL, d.Key.Reveal())
		if err != nil {
			field := "url"
			if ue := (*rtmpclient.URLError)(nil); errors.As(err, &ue) && ue.Key {
				field = "key"
			}
			return nil, &SettingsError{Field: field, Err: fmt.Errorf("destination %d: %w", i+1, err)}
		}
		if svc.RTMPSOnly && ep.Scheme != "rtmps" {
			return nil, bad("url", "destination %d: %s only accepts rtmps://", i+1, svc.Name)
		}
		warnings = append(warnings, svc.Warnings(VideoSettings{Source: "none"}, a)...)
		if d.Insecure {
			warnings = append(warnings, fmt.Sprintf("destination %d: certificate checks are OFF; anyone on the path can read your stream key", i+1))
		}
		if w := URLWarning(d.URL); w != "" {
			warnings = append(warnings, fmt.Sprintf("destination %d: %s", i+1, w))
		}
	}
	return warnings, nil
}

// ErrNoSource wraps failures to open a capture source.
var ErrNoSource = errors.New("source unavailable")
