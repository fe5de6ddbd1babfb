package ui

import (
	"fyne.io/fyne/v2/lang"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/tallystudio/tally/app"
)

// mediaFileChoice is the video picker's entry for a media file.
var mediaFileChoice = textKey("Media file…")

// scenesChoice is the video picker's first entry: the program is the scene
// collection the Scenes tab edits. It is the engine's "scenes" source, which
// no device listing names, so the panel adds it itself.
var scenesChoice = app.SourceChoice{Spec: "scenes", Label: textKey("Scenes")}

// mixChoice is the audio picker's first entry: the program's sound is the
// scenes' mix, which the Mixer tab sets. It needs the scenes as the video.
var mixChoice = app.SourceChoice{Spec: "scenes", Label: textKey("Scenes (the Mixer tab's mix)")}

// sourcesPanel picks the video and audio sources.
type sourcesPanel struct {
	content      *fyne.Container
	video, audio *widget.Select
	file         *widget.Entry
	loop         *widget.Check
	fileRow      *fyne.Container
	status       *widget.Label
	videoChoices []app.SourceChoice
	audioChoices []app.SourceChoice
	videoSpec    string
	audioSpec    string
	changed      func()
	settingUp    bool
	openErr      string // why the picked source did not open
	lost         string // sources that failed while running
}

func newSourcesPanel(l loaded, changed func()) *sourcesPanel {
	p := &sourcesPanel{videoSpec: l.Video.Source, audioSpec: l.Audio.Source, changed: changed, settingUp: true}
	p.video = widget.NewSelect(nil, func(string) { p.pickVideo() })
	p.audio = widget.NewSelect(nil, func(string) { p.pickAudio() })
	p.file = widget.NewEntry()
	p.file.SetPlaceHolder(lang.L("/path/to/video.mp4"))
	p.file.OnSubmitted = func(string) { p.pickVideo() }
	p.loop = widget.NewCheck(lang.L("Loop"), func(bool) { p.pickVideo() })
	p.loop.Checked = l.Video.Loop
	if path, ok := strings.CutPrefix(l.Video.Source, "file:"); ok {
		p.file.SetText(path)
	}
	p.fileRow = container.NewBorder(nil, nil, nil, container.NewHBox(p.loop,
		widget.NewButton(lang.L("Use file"), p.pickVideo)), p.file)
	p.status = widget.NewLabel("")
	p.status.Wrapping = fyne.TextWrapWord
	p.status.Importance = widget.DangerImportance
	p.content = container.NewVBox(
		column(lang.L("Video"), p.video, p.fileRow),
		column(lang.L("Audio"), p.audio),
		p.status)
	// Until the devices are probed, offer what always exists.
	p.setDevices(app.DeviceList{
		Video: []app.SourceChoice{{Spec: "testpattern", Label: lang.L("Test pattern (colour bars)")}, {Spec: "none", Label: lang.L("No video")}},
		Audio: []app.SourceChoice{{Spec: "tone", Label: lang.L("Test tone (440 Hz, beep each second)")}, {Spec: "none", Label: lang.L("No audio")}},
	})
	p.settingUp = false
	return p
}

// setDevices fills the pickers, keeping the current choices (UI thread).
func (p *sourcesPanel) setDevices(d app.DeviceList) {
	was := p.settingUp
	p.settingUp = true
	defer func() { p.settingUp = was }()
	p.videoChoices, p.audioChoices = append([]app.SourceChoice{localized(scenesChoice)}, d.Video...), append([]app.SourceChoice{localized(mixChoice)}, d.Audio...)
	p.video.Options = append(labels(p.videoChoices), lang.L(mediaFileChoice))
	p.audio.Options = append(labels(p.audioChoices), lang.L(soundOfFileChoice))
	p.video.SetSelected(p.videoLabel())
	p.audio.SetSelected(p.audioLabel())
	p.showFileRow()
}

// soundOfFileChoice is the audio picker's entry for the media file's sound.
var soundOfFileChoice = textKey("Sound of the media file")

// localized is a choice of this panel's own with its label translated.
func localized(c app.SourceChoice) app.SourceChoice {
	c.Label = lang.L(c.Label)
	return c
}

func labels(cs []app.SourceChoice) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Label)
	}
	return out
}

func (p *sourcesPanel) videoLabel() string {
	if strings.HasPrefix(p.videoSpec, "file:") {
		return lang.L(mediaFileChoice)
	}
	for _, c := range p.videoChoices {
		if c.Spec == p.videoSpec {
			return c.Label
		}
	}
	return p.videoSpec // a device not present now; shown as it was saved
}

func (p *sourcesPanel) audioLabel() string {
	if p.audioSpec == "file" {
		return lang.L(soundOfFileChoice)
	}
	for _, c := range p.audioChoices {
		if c.Spec == p.audioSpec {
			return c.Label
		}
	}
	return p.audioSpec
}

func (p *sourcesPanel) pickVideo() {
	if p.settingUp {
		return
	}
	sel := p.video.Selected
	switch {
	case sel == lang.L(mediaFileChoice):
		path := strings.TrimSpace(p.file.Text)
		p.showFileRow()
		if path == "" {
			return // wait for a path
		}
		p.videoSpec = "file:" + path
	default:
		for _, c := range p.videoChoices {
			if c.Label == sel {
				p.videoSpec = c.Spec
			}
		}
		p.showFileRow()
	}
	p.changed()
}

func (p *sourcesPanel) pickAudio() {
	if p.settingUp {
		return
	}
	if p.audio.Selected == lang.L(soundOfFileChoice) {
		p.audioSpec = "file"
	}
	for _, c := range p.audioChoices {
		if c.Label == p.audio.Selected {
			p.audioSpec = c.Spec
		}
	}
	p.changed()
}

func (p *sourcesPanel) showFileRow() {
	if p.video.Selected == lang.L(mediaFileChoice) {
		p.fileRow.Show()
	} else {
		p.fileRow.Hide()
	}
}

// setError shows why a source did not open, or clears it (UI thread).
func (p *sourcesPanel) setError(err error) {
	p.openErr = ""
	if err != nil {
		p.openErr = err.Error()
	}
	p.show()
}

// setLost shows sources that failed while running (UI thread).
func (p *sourcesPanel) setLost(lost []string) {
	p.lost = strings.Join(lost, "\n")
	p.show()
}

func (p *sourcesPanel) show() {
	text := strings.TrimSpace(p.openErr + "\n" + p.lost)
	if p.status.Text != text {
		p.status.SetText(text)
	}
}

func (p *sourcesPanel) setLive(bool) {} // sources can change while live

// scenes tells whether the program is the scene collection.
func (p *sourcesPanel) scenes() bool { return p.videoSpec == scenesChoice.Spec }

// mix tells whether the program's sound is the scenes' mix.
func (p *sourcesPanel) mix() bool { return p.audioSpec == mixChoice.Spec }

// useMix makes the program the scenes and its sound their mix (UI thread),
// as picking both in the Sources tab does.
func (p *sourcesPanel) useMix() {
	if p.scenes() && p.mix() {
		return
	}
	p.videoSpec, p.audioSpec = scenesChoice.Spec, mixChoice.Spec
	was := p.settingUp
	p.settingUp = true
	p.video.SetSelected(scenesChoice.Label)
	p.audio.SetSelected(mixChoice.Label)
	p.showFileRow()
	p.settingUp = was
	p.changed()
}

// useScenes makes the scene collection the program (UI thread), as picking
// "Scenes" in the video picker does.
func (p *sourcesPanel) useScenes() {
	if p.scenes() {
		return
	}
	p.videoSpec = scenesChoice.Spec
	was := p.settingUp
	p.settingUp = true
	p.video.SetSelected(scenesChoice.Label)
	p.showFileRow()
	p.settingUp = was
	p.changed()
}

func (p *sourcesPanel) apply(s *app.Settings) {
	s.Video.Source, s.Audio.Source, s.Video.Loop = p.videoSpec, p.audioSpec, p.loop.Checked
}
