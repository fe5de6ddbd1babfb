package app

import (
	"fmt"
	"slices"
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
}

// services are the presets the window and `tally stream --service` offer.
var services = []Service{
	{ID: "youtube", Name: "YouTube", URL: "rtmps://a.rtmps.youtube.com:443/live2",
		BackupURL:       "rtmps://b.rtmps.youtube.com:443/live2?backup=1",
		MaxVideoBitrate: 51_000_000, MaxKeyframeInterval: 4 * time.Second, MaxHeight: 2160, MaxFPS: 60,
		AudioRates: []int{44100, 48000}},
	{ID: "facebook", Name: "Facebook", URL: "rtmps://live-api-s.facebook.com:443/rtmp/",
		MaxVideoBitrate: 9_000_000, MaxKeyframeInterval: 2 * time.Second, MaxHeight: 1080, MaxFPS: 60,
		AudioRates: []int{48000, 44100}, RTMPSOnly: true},
	{ID: "twitch", Name: "Twitch", URL: "rtmp://live.twitch.tv/app",
		MaxVideoBitrate: 8_500_000, MaxKeyframeInterval: 2 * time.Second, MaxHeight: 1080, MaxFPS: 60,
		AudioRates: []int{44100, 48000}},
	{ID: "custom", Name: "Custom RTMP server"},
	{ID: "local", Name: "Local test"},
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
