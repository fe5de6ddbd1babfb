package app

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tallystudio/tally/encode"
)

// Rendition is one video encode of the program that a destination receives.
// A zero field takes the session's video setting (Settings.Video), so the
// zero Rendition is the session's own encode.
type Rendition struct {
	Encoder          string // a libav encoder: libx264, libx265, libsvtav1, …
	Width, Height    int    // 0×0: the canvas; another shape takes a centre crop
	FPS              int    // must divide the canvas's frame rate
	Bitrate          int    // b/s
	KeyframeInterval time.Duration
	Preset           string // the encoder's speed preset (x264's names for all)
}

// MaxTracks bounds a multitrack destination: Twitch's Enhanced Broadcasting
// takes up to five renditions, and each is an encode of its own.
const MaxTracks = 5

// resolve fills a rendition's zero fields from the session's video settings.
func (s Settings) resolve(r Rendition) Rendition {
	v := s.Video
	if r.Encoder == "" {
		r.Encoder = v.Encoder
	}
	if r.Width == 0 && r.Height == 0 {
		r.Width, r.Height = v.Width, v.Height
	}
	if r.FPS == 0 {
		r.FPS = v.FPS
	}
	if r.Bitrate == 0 {
		r.Bitrate = v.Bitrate
	}
	if r.KeyframeInterval == 0 {
		r.KeyframeInterval = v.KeyframeInterval
	}
	if r.Preset == "" {
		r.Preset = v.Preset
	}
	return r
}

// tracks are the renditions a destination receives, resolved: at least one.
func (s Settings) tracks(d Destination) []Rendition {
	video := d.Video
	if p, ok := OutputPresetByID(d.Output); ok && len(video) == 0 {
		video = p.Tracks(s.Video)
	}
	if len(video) == 0 {
		return []Rendition{s.resolve(Rendition{})}
	}
	out := make([]Rendition, len(video))
	for i, r := range video {
		out[i] = s.resolve(r)
	}
	return out
}

// Tracks are the renditions destination d receives, each field resolved
// against the session's video settings: what the studio's output editor
// starts from.
func (s Settings) Tracks(d Destination) []Rendition { return s.tracks(d) }

// CodecName is how the window and the stats name the rendition's codec:
// H.264, HEVC or AV1. An empty Encoder is the session's, H.264.
func (r Rendition) CodecName() string {
	if r.Encoder == "" {
		return "H.264"
	}
	return codecName(r.Encoder)
}

// String describes a resolved rendition as the studio and the stats show it.
func (r Rendition) String() string {
	return fmt.Sprintf("%s %dx%d %d fps %d kb/s", r.CodecName(), r.Width, r.Height, r.FPS, r.Bitrate/1000)
}

// describeTracks is a destination's output in one line.
func describeTracks(tracks []Rendition) string {
	if len(tracks) == 1 {
		return tracks[0].String()
	}
	parts := make([]string, len(tracks))
	for i, r := range tracks {
		parts[i] = fmt.Sprintf("track %d: %s", i, r)
	}
	return strings.Join(parts, "; ")
}

// encoderCodecs maps each encoder in this FFmpeg build to its codec.
var encoderCodecs = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	for _, e := range encode.Encoders() {
		m[e.Name] = e.Codec
	}
	return m
})

// codecOf is the codec an encoder makes ("h264", "hevc", "av1"), or "" for
// an encoder this build lacks.
func codecOf(encoder string) string { return encoderCodecs()[encoder] }

// codecName is how the window and the stats name an encoder's codec.
func codecName(encoder string) string {
	switch codecOf(encoder) {
	case "h264":
		return "H.264"
	case "hevc":
		return "HEVC"
	case "av1":
		return "AV1"
	}
	return encoder
}

// videoEncoders lists the build's video encoders, for an error that names
// what is there instead.
func videoEncoders() string {
	var names []string
	for name, c := range encoderCodecs() {
		if c != "aac" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// VideoCodec is a codec a destination's own output can be in, and the encoder
// that makes it. H.264's Encoder is empty: it is the Output tab's encoder,
// whichever H.264 encoder opens on this machine.
type VideoCodec struct {
	Name    string // as the window and the stats show it: H.264, HEVC, AV1
	Encoder string
}

// VideoCodecs lists the codecs this FFmpeg build can give a destination,
// H.264 first.
func VideoCodecs() []VideoCodec {
	out := []VideoCodec{{Name: "H.264"}}
	for _, enc := range []string{"libx265", "libsvtav1"} {
		if codecOf(enc) != "" {
			out = append(out, VideoCodec{Name: codecName(enc), Encoder: enc})
		}
	}
	return out
}

// CheckOutput checks the video destination d would receive, against the
// canvas in s and d's platform's documented limits, as Validate does before
// going live: the studio's output editor asks before it keeps an edit.
// Errors name the track.
func (s Settings) CheckOutput(d Destination) (warnings []string, err error) {
	svc, _ := ServiceByID(d.Service)
	return s.checkTracks("output", d, svc)
}

// DescribeOutput is the video destination d would receive, in one line: a
// rendition, or each track of a multitrack stream.
func (s Settings) DescribeOutput(d Destination) string { return describeTracks(s.tracks(d)) }

// checkTracks validates a destination's renditions against the canvas and
// its platform's documented limits. Errors start with name (destination 2)
// and say which track.
func (s Settings) checkTracks(name string, d Destination, svc Service) (warnings []string, err error) {
	if _, ok := OutputPresetByID(d.Output); d.Output != "" && !ok {
		return nil, bad("output", "%s: no output preset %q", name, d.Output)
	}
	if len(d.Video) > MaxTracks {
		return nil, bad("tracks", "%s: %d video tracks; at most %d", name, len(d.Video), MaxTracks)
	}
	canvas := s.Video
	tracks := s.tracks(d)
	for t, r := range tracks {
		where := name
		if len(tracks) > 1 {
			where += fmt.Sprintf(" track %d", t)
		}
		codec := codecOf(r.Encoder)
		// The session's own encoder is checked as it opens, as before
		// (ErrEncoderUnavailable); one a destination names is checked here.
		explicit := len(d.Video) > 0 && t < len(d.Video) && d.Video[t].Encoder != "" || d.Output != ""
		switch {
		case explicit && (codec == "" || codec == "aac"):
			return nil, bad("encoder", "%s: video encoder %q is not in this FFmpeg build (it has %s)", where, r.Encoder, videoEncoders())
		case r.Width < 16 || r.Height < 16:
			return nil, bad("size", "%s: size %dx%d is below 16x16", where, r.Width, r.Height)
		case r.Width%2 != 0 || r.Height%2 != 0:
			return nil, bad("size", "%s: size %dx%d must have even width and height for 4:2:0 video", where, r.Width, r.Height)
		case r.Width*r.Height > canvas.Width*canvas.Height || max(r.Width, r.Height) > max(canvas.Width, canvas.Height):
			return nil, bad("size", "%s: %dx%d is larger than the %dx%d canvas; scaling up adds no detail", where, r.Width, r.Height, canvas.Width, canvas.Height)
		case r.FPS < 1 || r.FPS > canvas.FPS || canvas.FPS%r.FPS != 0:
			return nil, bad("fps", "%s: %d fps must divide the canvas's %d fps (frames are taken, never made up)", where, r.FPS, canvas.FPS)
		case r.Bitrate < 100_000 || r.Bitrate > 200_000_000:
			return nil, bad("vbitrate", "%s: video bitrate %d kb/s is out of range 100..200000 kb/s", where, r.Bitrate/1000)
		case r.KeyframeInterval < 100*time.Millisecond || r.KeyframeInterval > 20*time.Second:
			return nil, bad("keyint", "%s: keyframe interval %v is out of range 0.1s..20s", where, r.KeyframeInterval)
		case len(tracks) > 1 && int64(r.KeyframeInterval)*int64(r.FPS)%int64(time.Second) != 0:
			// Each encoder counts its keyframe interval in its own frames:
			// only a whole number of them puts every track's keyframes at the
			// same instants.
			return nil, bad("keyint", "%s: a keyframe every %v is not a whole number of frames at %d fps; the tracks' keyframes would drift apart", where, r.KeyframeInterval, r.FPS)
		case t > 0 && r.KeyframeInterval != tracks[0].KeyframeInterval:
			return nil, bad("keyint", "%s: keyframe interval %v differs from track 0's %v; a multitrack stream's keyframes must line up", where, r.KeyframeInterval, tracks[0].KeyframeInterval)
		}
		if lo, hi, ok := svc.bitrateRange(codec, r); ok && (r.Bitrate < lo || r.Bitrate > hi) {
			return nil, bad("vbitrate", "%s: %s takes %s at %dp%d between %d and %d kb/s; %d kb/s is set", where, svc.Name,
				codecName(r.Encoder), min(r.Width, r.Height), r.FPS, lo/1000, hi/1000, r.Bitrate/1000)
		}
		rv := canvas
		rv.Width, rv.Height, rv.FPS, rv.Bitrate, rv.KeyframeInterval = r.Width, r.Height, r.FPS, r.Bitrate, r.KeyframeInterval
		for _, w := range svc.Warnings(rv, AudioSettings{Source: "none"}) {
			warnings = append(warnings, where+": "+w)
		}
	}
	if d.DynamicBitrate && len(tracks) > 1 {
		return nil, bad("dynamic", "%s: dynamic bitrate works on one track, not %d", name, len(tracks))
	}
	if c := codecOf(tracks[0].Encoder); d.DynamicBitrate && (c == "hevc" || c == "av1") {
		// FFmpeg's libx265 and libsvtav1 wrappers read the rate only when
		// they open: the controller would lower a number and nothing else.
		return nil, bad("dynamic", "%s: dynamic bitrate needs H.264; %s keeps the rate it opened with", name, codecName(tracks[0].Encoder))
	}
	return warnings, nil
}
