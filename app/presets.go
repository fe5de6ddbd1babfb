package app

import "slices"

// OutputPreset is a named video output for one platform: its renditions,
// made for the canvas at hand, within what the platform documents.
type OutputPreset struct {
	ID      string
	Name    string
	Service string // the Service it is made for
	tracks  func(canvas VideoSettings) []Rendition
}

// Tracks are the preset's renditions for a canvas.
func (p OutputPreset) Tracks(canvas VideoSettings) []Rendition { return p.tracks(canvas) }

var outputPresets = []OutputPreset{
	{ID: "youtube-hevc", Name: "YouTube HEVC", Service: "youtube", tracks: func(c VideoSettings) []Rendition {
		return []Rendition{youtubeEnhanced("libx265", c)}
	}},
	{ID: "youtube-av1", Name: "YouTube AV1", Service: "youtube", tracks: func(c VideoSettings) []Rendition {
		return []Rendition{youtubeEnhanced("libsvtav1", c)}
	}},
	{ID: "twitch-eb", Name: "Twitch Enhanced Broadcasting", Service: "twitch", tracks: twitchLadder},
	{ID: "vertical", Name: "Vertical (shorts)", tracks: func(c VideoSettings) []Rendition {
		return []Rendition{vertical(c)}
	}},
}

// OutputPresets lists the presets; the copy is the caller's.
func OutputPresets() []OutputPreset { return slices.Clone(outputPresets) }

// OutputPresetByID finds a preset.
func OutputPresetByID(id string) (OutputPreset, bool) {
	for _, p := range outputPresets {
		if p.ID == id {
			return p, true
		}
	}
	return OutputPreset{}, false
}

// youtubeEnhanced is the canvas in HEVC or AV1 at the middle of YouTube's
// range for its size and frame rate, where the codecs' gain over H.264 shows.
func youtubeEnhanced(encoder string, c VideoSettings) Rendition {
	r := Rendition{Encoder: encoder, Width: c.Width, Height: c.Height, FPS: c.FPS}
	svc, _ := ServiceByID("youtube")
	if lo, hi, ok := svc.bitrateRange(codecOf(encoder), r); ok {
		r.Bitrate = (lo + hi) / 2 / 500_000 * 500_000
	} else if lo, hi, ok := svc.bitrateRange("hevc", r); ok { // a build without the encoder still gets a plan
		r.Bitrate = (lo + hi) / 2 / 500_000 * 500_000
	}
	return r
}

// twitchLadder is an Enhanced Broadcasting ladder as Twitch hands OBS one:
// H.264 at the canvas (1080p at most), then 720p and 480p, each at a bitrate
// Twitch's own ladders use, lower tracks at 30 fps or less.
func twitchLadder(c VideoSettings) []Rendition {
	type rung struct{ lines, kbps60, kbps30 int }
	var out []Rendition
	for _, g := range []rung{{1080, 6000, 4500}, {720, 3500, 2500}, {480, 1200, 1200}} {
		lines := min(c.Height, g.lines)
		if len(out) > 0 && lines >= out[len(out)-1].Height {
			continue // the canvas is no bigger than this rung
		}
		w := even(c.Width * lines / max(c.Height, 1))
		fps, kbps := c.FPS, g.kbps30
		if fps > 30 {
			kbps = g.kbps60
			if len(out) >= 2 { // the lower rungs at half rate
				fps = c.FPS / 2
			}
		}
		out = append(out, Rendition{Encoder: "libx264", Width: w, Height: even(lines), FPS: fps, Bitrate: kbps * 1000})
	}
	return out
}

// vertical is a 9:16 centre crop of the canvas for shorts and reels:
// 1080x1920 from a 1080p canvas, the canvas's height otherwise.
func vertical(c VideoSettings) Rendition {
	h := c.Height
	w := even(h * 9 / 16)
	if c.Width >= 1920 && c.Height >= 1080 {
		w, h = 1080, 1920
	}
	return Rendition{Width: w, Height: h, FPS: c.FPS, Bitrate: max(1_000_000, c.Bitrate*w*h/max(c.Width*c.Height, 1))}
}

// even rounds down to an even number, as 4:2:0 needs.
func even(n int) int { return n &^ 1 }
