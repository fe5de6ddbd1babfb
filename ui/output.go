package ui

import (
	"fmt"
	"fyne.io/fyne/v2/lang"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/tallystudio/tally/app"
)

// outputPanel holds the encode settings.
type outputPanel struct {
	content                      *fyne.Container
	size, fps, encoder, keyint   *widget.Select
	preset, abitrate, samplerate *widget.Select
	vbitrate, record             *widget.Entry
	lowLatency                   *widget.Check
	warnings                     *widget.Label
	inputs                       []fyne.Disableable
	changed                      func()
}

var (
	sizeChoices       = []string{"1920x1080", "1280x720", "960x540", "854x480", "640x360"}
	fpsChoices        = []string{"24", "25", "30", "50", "60"}
	keyintChoices     = []string{"1s", "2s", "3s", "4s"}
	presetChoices     = []string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium"}
	abitrateChoices   = []string{"96", "128", "160", "192", "256", "320"}
	samplerateChoices = []string{"44100", "48000"}
)

// version, the build's summary (Tally, Go and FFmpeg versions), closes the
// tab: the encoders offered depend on the FFmpeg build.
func newOutputPanel(l loaded, version string, changed func()) *outputPanel {
	p := &outputPanel{changed: changed}
	on := func(string) { p.changed() }
	p.size = widget.NewSelect(sizeChoices, on)
	p.size.SetSelected(fmt.Sprintf("%dx%d", l.Video.Width, l.Video.Height))
	p.fps = widget.NewSelect(fpsChoices, on)
	p.fps.SetSelected(strconv.Itoa(l.Video.FPS))
	p.encoder = widget.NewSelect([]string{l.Video.Encoder}, on)
	p.encoder.SetSelected(l.Video.Encoder)
	p.vbitrate = widget.NewEntry()
	p.vbitrate.SetText(strconv.Itoa(l.Video.Bitrate / 1000))
	p.vbitrate.OnChanged = on
	p.vbitrate.Validator = func(s string) error {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err != nil || n < 100 || n > 200000 {
			return fmt.Errorf("kb/s between 100 and 200000")
		}
		return nil
	}
	p.keyint = widget.NewSelect(keyintChoices, on)
	p.keyint.SetSelected(l.Video.KeyframeInterval.String())
	p.preset = widget.NewSelect(presetChoices, on)
	p.preset.SetSelected(l.Video.Preset)
	p.lowLatency = widget.NewCheck(lang.L("Low latency (x264 zerolatency)"), func(bool) { p.changed() })
	p.lowLatency.Checked = l.Video.Tune == "zerolatency"
	p.abitrate = widget.NewSelect(abitrateChoices, on)
	p.abitrate.SetSelected(strconv.Itoa(l.Audio.Bitrate / 1000))
	p.samplerate = widget.NewSelect(samplerateChoices, on)
	p.samplerate.SetSelected(strconv.Itoa(l.Audio.SampleRate))
	p.record = widget.NewEntry()
	p.record.SetPlaceHolder(lang.L("optional: /path/to/recording.mkv (.flv, .mp4, .mkv)"))
	p.record.SetText(l.Record)
	p.record.OnChanged = on
	p.warnings = widget.NewLabel("")
	p.warnings.Wrapping = fyne.TextWrapWord
	p.warnings.Importance = widget.WarningImportance
	// The recording's file stays editable while live: it is where the next
	// recording goes (the Record button), not part of the stream.
	p.inputs = []fyne.Disableable{p.size, p.fps, p.encoder, p.vbitrate, p.keyint, p.preset, p.lowLatency,
		p.abitrate, p.samplerate}

	video := widget.NewForm(
		widget.NewFormItem(lang.L("Resolution"), p.size),
		widget.NewFormItem(lang.L("Frame rate"), p.fps),
		widget.NewFormItem(lang.L("Encoder"), p.encoder),
		widget.NewFormItem(lang.L("Bitrate (kb/s)"), p.vbitrate),
		widget.NewFormItem(lang.L("Keyframe every"), p.keyint),
		widget.NewFormItem(lang.L("Preset"), p.preset),
		widget.NewFormItem("", p.lowLatency))
	audio := widget.NewForm(
		widget.NewFormItem(lang.L("Bitrate (kb/s)"), p.abitrate),
		widget.NewFormItem(lang.L("Sample rate"), p.samplerate))
	build := widget.NewLabel(version)
	build.Importance = widget.LowImportance
	p.content = container.NewVBox(column(lang.L("Video"), video), column(lang.L("Audio"), audio),
		column(lang.L("Recording"), p.record), p.warnings, build)
	return p
}

// setEncoders offers the encoders that open on this machine (UI thread).
func (p *outputPanel) setEncoders(encs []string) {
	if len(encs) == 0 {
		return
	}
	cur := p.encoder.Selected
	p.encoder.Options = encs
	found := false
	for _, e := range encs {
		found = found || e == cur
	}
	if !found {
		p.encoder.SetSelected(encs[0])
	}
	p.encoder.Refresh()
}

func (p *outputPanel) setWarnings(w []string) {
	text := ""
	if len(w) > 0 {
		text = "⚠ " + strings.Join(dedupe(w), "\n⚠ ")
	}
	if p.warnings.Text != text {
		p.warnings.SetText(text)
	}
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// setLive locks the encode settings while live: they cannot change mid-stream.
func (p *outputPanel) setLive(live bool) {
	for _, in := range p.inputs {
		if live {
			in.Disable()
		} else {
			in.Enable()
		}
	}
}

func (p *outputPanel) apply(s *app.Settings) {
	if w, h, ok := strings.Cut(p.size.Selected, "x"); ok {
		s.Video.Width, _ = strconv.Atoi(w)
		s.Video.Height, _ = strconv.Atoi(h)
	}
	s.Video.FPS, _ = strconv.Atoi(p.fps.Selected)
	s.Video.Encoder = p.encoder.Selected
	if n, err := strconv.Atoi(strings.TrimSpace(p.vbitrate.Text)); err == nil {
		s.Video.Bitrate = n * 1000
	} else {
		s.Video.Bitrate = 0 // Validate names the problem
	}
	if d, err := time.ParseDuration(p.keyint.Selected); err == nil {
		s.Video.KeyframeInterval = d
	}
	s.Video.Preset = p.preset.Selected
	s.Video.Tune = ""
	if p.lowLatency.Checked {
		s.Video.Tune = "zerolatency"
	}
	if n, err := strconv.Atoi(p.abitrate.Selected); err == nil {
		s.Audio.Bitrate = n * 1000
	}
	s.Audio.SampleRate, _ = strconv.Atoi(p.samplerate.Selected)
	s.Record = strings.TrimSpace(p.record.Text)
}
