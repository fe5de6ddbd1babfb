package ui

import (
	"errors"
	"fmt"
	"fyne.io/fyne/v2/lang"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/tallystudio/tally/scene"
)

// The sources of sound the mixer adds, as its dialog names them. A
// microphone and desktop sound are global, as OBS's audio devices are: heard
// in every scene without a layer. A sound file and a tone go into the scene
// on air as a layer, as a media file does, and play while it is on.
var soundChoices = []struct{ typ, label string }{
	{scene.TypeMicrophone, textKey("Microphone")},
	{scene.TypeDesktop, textKey("Desktop sound")},
	{scene.TypeAudioFile, textKey("Sound file (music, alerts)")},
	{scene.TypeTone, textKey("Test tone")},
}

// defaultDevice is the device pickers' first entry.
var defaultDevice = textKey("The default")

// addSoundForm is the add-sound dialog's fields.
type addSoundForm struct {
	kind, device *widget.Select
	name, path   *widget.Entry
	monitor      *widget.Entry
	freq         *numEntry
	loop         *widget.Check
	items        map[string][]*widget.FormItem // the rows only some kinds show, by type
	form         *widget.Form
	status       *widget.Label
}

func (m *mixerPanel) askAddSound() {
	f := &addSoundForm{name: widget.NewEntry(), path: widget.NewEntry(), monitor: widget.NewEntry()}
	var labels []string
	for _, c := range soundChoices {
		labels = append(labels, lang.L(c.label))
	}
	f.device = widget.NewSelect(append([]string{lang.L(defaultDevice)}, m.host.audioDevices()...), nil)
	f.device.SetSelected(lang.L(defaultDevice))
	f.path.SetPlaceHolder(lang.L("/path/to/music.mp3"))
	f.monitor.SetPlaceHolder(lang.L("the default output's monitor"))
	f.freq = newNumEntry(lang.L("440 Hz with a beep each second"), func() {})
	f.freq.what = lang.L("Frequency")
	f.loop = widget.NewCheck(lang.L("Loop"), nil)
	f.loop.SetChecked(true)
	deviceItem := widget.NewFormItem(lang.L("Device"), f.device)
	f.items = map[string][]*widget.FormItem{
		scene.TypeMicrophone: {deviceItem},
		scene.TypeDesktop:    {widget.NewFormItem(lang.L("Monitor"), f.monitor)},
		scene.TypeAudioFile:  {widget.NewFormItem(lang.L("File"), f.path), widget.NewFormItem("", f.loop)},
		scene.TypeTone:       {widget.NewFormItem(lang.L("Frequency"), container.NewBorder(nil, nil, nil, widget.NewLabel(lang.L("Hz")), f.freq))},
	}
	f.form = widget.NewForm()
	f.status = widget.NewLabel("")
	f.status.Wrapping = fyne.TextWrapWord
	f.status.Importance = widget.DangerImportance
	f.kind = widget.NewSelect(labels, func(string) { f.layout(m.host.collection()) })
	f.kind.SetSelected(lang.L(soundChoices[0].label))
	content := container.NewVBox(f.form, f.status)
	var d *dialog.CustomDialog
	add := widget.NewButton(lang.L("Add"), func() {
		if err := m.addSound(f); err != nil {
			setText(f.status, err.Error())
			return
		}
		d.Hide()
	})
	add.Importance = widget.HighImportance
	d = dialog.NewCustomWithoutButtons(lang.L("Add sound"), content, m.host.window)
	d.SetButtons([]fyne.CanvasObject{widget.NewButton(lang.L("Cancel"), d.Hide), add})
	d.Resize(fyne.NewSize(520, 320))
	d.Show()
	m.host.window.Canvas().Focus(f.kind)
}

// typ is the type picked.
func (f *addSoundForm) typ() string {
	for _, c := range soundChoices {
		if lang.L(c.label) == f.kind.Selected {
			return c.typ
		}
	}
	return scene.TypeMicrophone
}

// layout shows the fields the kind picked takes, and names the source
// after it unless a name was typed.
func (f *addSoundForm) layout(c *scene.Collection) {
	typ := f.typ()
	name := strings.TrimSpace(f.name.Text)
	generated := name == ""
	for _, s := range soundChoices {
		if strings.HasPrefix(name, lang.L(s.label)) {
			generated = true
		}
	}
	if generated {
		base := f.kind.Selected
		if i := strings.Index(base, " ("); i > 0 {
			base = base[:i]
		}
		f.name.SetText(uniqueName(base, func(n string) bool { _, ok := c.Source(n); return ok }))
	}
	f.form.Items = []*widget.FormItem{widget.NewFormItem(lang.L("Kind"), f.kind), widget.NewFormItem(lang.L("Name"), f.name)}
	f.form.Items = append(f.form.Items, f.items[typ]...)
	f.form.Refresh()
}

// source is the source the form describes.
func (f *addSoundForm) source() (scene.Source, error) {
	s := scene.Source{Name: strings.TrimSpace(f.name.Text), Type: f.typ()}
	switch s.Type {
	case scene.TypeMicrophone:
		if f.device.Selected != lang.L(defaultDevice) {
			s.Device = f.device.Selected
		}
	case scene.TypeDesktop:
		s.Device = strings.TrimSpace(f.monitor.Text)
	case scene.TypeAudioFile:
		s.Path, s.Loop = strings.TrimSpace(f.path.Text), f.loop.Checked
		if s.Path == "" {
			return s, errors.New("the path of a sound file, please")
		}
	case scene.TypeTone:
		if t := strings.TrimSpace(f.freq.Text); t != "" {
			v, err := strconv.ParseFloat(t, 64)
			if err != nil {
				return s, fmt.Errorf("frequency: a number of Hz, please (got %q)", t)
			}
			s.Frequency = v
		}
	}
	return s, nil
}

// addSound adds the form's source: a microphone or desktop sound to the
// collection, a sound file or tone to the scene on air as well.
func (m *mixerPanel) addSound(f *addSoundForm) error {
	s, err := f.source()
	if err != nil {
		return err
	}
	err = m.host.edit(false, func(c *scene.Collection) error {
		if err := c.AddSource(s); err != nil {
			return err
		}
		if s.Audio.IsGlobal(s.Type) {
			return nil
		}
		return c.ActiveScene().AddLayer(scene.Layer{Source: s.Name})
	})
	if err == nil {
		m.setError(nil)
	}
	return err
}
