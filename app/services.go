package app

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Service is a streaming platform preset: where to send, and the limits the
// platform documents for its ingest.
type Service struct {
	ID        string
	Name      string
	URL       string
	BackupURL string
	// Limits; zero means none.
	MaxVideoBitrate     int // b/s
	MaxKeyframeInterval time.Duration
	MaxHeight           int
	MaxFPS              int
	AudioRates          []int // accepted sample rates
	RTMPSOnly           bool
	// Enhanced lists the codecs besides H.264 the platform documents taking
	// over Enhanced RTMP. A server that answers connect without stating
	// its capabilities is taken at the platform's word for these.
	Enhanced []string
	// Multitrack: the platform documents taking several video tracks in one
	// connection (Enhanced RTMP v2 multitrack).
	Multitrack bool
	// Ranges are bitrates the platform documents per codec, resolution and
	// frame rate; a rendition outside its row is refused before going live.
	Ranges []BitrateRange
}

// BitrateRange is one row of a platform's bitrate table: for Codec up to
// Lines (the shorter side: 1080 for 1920x1080 and 1080x1920) and FPS.
type BitrateRange struct {
	Codec    string
	Lines    int
	FPS      int
	Min, Max int // b/s
}

// bitrateRange finds the documented range for a rendition: the first row of
// its codec that covers its size and frame rate.
func (svc Service) bitrateRange(codec string, r Rendition) (lo, hi int, ok bool) {
	lines := min(r.Width, r.Height)
	for _, row := range svc.Ranges {
		if row.Codec == codec && lines <= row.Lines && r.FPS <= row.FPS {
			return row.Min, row.Max, true
		}
	}
	return 0, 0, false
}

// youtubeEnhancedRanges is YouTube's table of bitrates for AV1 and HEVC
// ("Choose live encoder settings, bitrates, and resolutions"; the same for
// both codecs), in Mb/s: lines, frame rate, minimum, maximum.
var youtubeEnhancedRanges = func() []BitrateRange {
	var out []BitrateRange
	for _, codec := range []string{"hevc", "av1"} {
		for _, r := range [][4]int{
			{720, 30, 3, 8}, {720, 60, 3, 8}, {1080, 30, 3, 8}, {1080, 60, 4, 10},
			{1440, 30, 5, 25}, {1440, 60, 6, 30}, {2160, 30, 8, 35}, {2160, 60, 10, 40},
		} {
			out = append(out, BitrateRange{Codec: codec, Lines: r[0], FPS: r[1], Min: r[2] * 1_000_000, Max: r[3] * 1_000_000})
		}
	}
	return out
}()

// services are the presets the window and `tally stream --service` offer.
var services = []Service{
	{ID: "youtube", Name: "YouTube", URL: "rtmps://a.rtmps.youtube.com:443/live2",
		BackupURL:       "rtmps://b.rtmps.youtube.com:443/live2?backup=1",
		MaxVideoBitrate: 51_000_000, MaxKeyframeInterval: 4 * time.Second, MaxHeight: 2160, MaxFPS: 60,
		AudioRates: []int{44100, 48000}, Enhanced: []string{"hevc", "av1"}, Ranges: youtubeEnhancedRanges},
	{ID: "facebook", Name: "Facebook", URL: "rtmps://live-api-s.facebook.com:443/rtmp/",
		MaxVideoBitrate: 9_000_000, MaxKeyframeInterval: 2 * time.Second, MaxHeight: 1080, MaxFPS: 60,
		AudioRates: []int{48000, 44100}, RTMPSOnly: true},
	{ID: "twitch", Name: "Twitch", URL: "rtmp://live.twitch.tv/app",
		MaxVideoBitrate: 8_500_000, MaxKeyframeInterval: 2 * time.Second, MaxHeight: 1080, MaxFPS: 60,
		AudioRates: []int{44100, 48000}, Multitrack: true},
	// Kick, X and LinkedIn give each account (or each event) its own
	// server, shown next to the key: the URL is pasted with it.
	{ID: "kick", Name: "Kick",
		MaxVideoBitrate: 8_000_000, MaxKeyframeInterval: 2 * time.Second, MaxHeight: 1080, MaxFPS: 60,
		AudioRates: []int{44100, 48000}, RTMPSOnly: true},
	{ID: "x", Name: "X",
		MaxVideoBitrate: 9_000_000, MaxKeyframeInterval: 3 * time.Second, MaxHeight: 1080, MaxFPS: 60,
		AudioRates: []int{44100, 48000}},
	{ID: "linkedin", Name: "LinkedIn",
		MaxVideoBitrate: 6_000_000, MaxKeyframeInterval: 2 * time.Second, MaxHeight: 1080, MaxFPS: 30,
		AudioRates: []int{48000}, RTMPSOnly: true},
	{ID: "custom", Name: "Custom RTMP server"},
	{ID: "local", Name: "Local test"},
}

// ServiceIDs lists the presets' IDs, comma-separated, for help and errors.
func ServiceIDs() string {
	ids := make([]string, len(services))
	for i, s := range services {
		ids[i] = s.ID
	}
	return strings.Join(ids, ", ")
}

// Services returns the presets in the order the window lists them. The copy
// is the caller's: no one can change the presets for everyone else.
func Services() []Service { return slices.Clone(services) }

// ServiceByID finds a preset.
func ServiceByID(id string) (Service, bool) {
	for _, s := range services {
		if s.ID == id {
			return s, true
		}
	}
	return Service{}, false
}

// Warnings lists where the settings exceed what the service accepts. They are
// warnings, not errors: platforms change their limits faster than releases ship.
func (svc Service) Warnings(v VideoSettings, a AudioSettings) []string {
	var w []string
	if v.Source != "none" {
		if svc.MaxVideoBitrate > 0 && v.Bitrate > svc.MaxVideoBitrate {
			w = append(w, fmt.Sprintf("%s accepts at most %d kb/s of video; %d kb/s is set", svc.Name, svc.MaxVideoBitrate/1000, v.Bitrate/1000))
		}
		if svc.MaxKeyframeInterval > 0 && v.KeyframeInterval > svc.MaxKeyframeInterval {
			w = append(w, fmt.Sprintf("%s wants a keyframe at least every %v; every %v is set", svc.Name, svc.MaxKeyframeInterval, v.KeyframeInterval))
		}
		if svc.MaxHeight > 0 && v.Height > svc.MaxHeight {
			w = append(w, fmt.Sprintf("%s accepts up to %dp; %dp is set", svc.Name, svc.MaxHeight, v.Height))
		}
		if svc.MaxFPS > 0 && v.FPS > svc.MaxFPS {
			w = append(w, fmt.Sprintf("%s accepts up to %d fps; %d is set", svc.Name, svc.MaxFPS, v.FPS))
		}
	}
	if a.Source != "none" && len(svc.AudioRates) > 0 {
		ok := false
		for _, r := range svc.AudioRates {
			ok = ok || r == a.SampleRate
		}
		if !ok {
			w = append(w, fmt.Sprintf("%s expects audio at %v Hz; %d Hz is set", svc.Name, svc.AudioRates, a.SampleRate))
		}
	}
	return w
}
