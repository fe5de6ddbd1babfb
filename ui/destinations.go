package ui

import (
	"fmt"
	"slices"
	"strings"

	"fyne.io/fyne/v2/lang"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tallystudio/tally/app"
)

// destinationsPanel lists where to stream: one row per destination.
type destinationsPanel struct {
	content *fyne.Container
	list    *fyne.Container
	add     *widget.Button
	// setup opens the setup again (the studio sets it up; nil for an
	// engine that cannot run it).
	setup   *widget.Button
	rows    []*destRow
	keys    app.KeyStore
	changed func()
	live    bool
	// win shows the output editor; settings are the studio's settings now,
	// the canvas the editor checks against.
	win      fyne.Window
	settings func() app.Settings
	editor   *outputEditor // the one open, for tests
}

type destRow struct {
	id      string
	service *widget.Select
	url     *widget.Entry
	key     *widget.Entry
	dynamic *widget.Check
	// output picks the video this destination gets; assume sends HEVC, AV1
	// or several tracks to a server that does not say it takes them.
	output *widget.Select
	assume *widget.Check
	// video holds the renditions of a Custom output; edit opens the
	// editor, and plan shows what the destination will receive.
	video  []app.Rendition
	edit   *widget.Button
	plan   *widget.Label
	chosen string // the output choice before the latest, to go back to
	hint   *widget.Label
	status *widget.Label
	remove *widget.Button
	fields *fyne.Container
	box    *fyne.Container
}

func serviceNames() []string {
	var out []string
	for _, s := range app.Services() {
		out = append(out, s.Name)
	}
	return out
}

func serviceByName(name string) app.Service {
	for _, s := range app.Services() {
		if s.Name == name {
			return s
		}
	}
	return app.Service{ID: "custom"}
}

// sameAsProgram is the output choice for the session's own encode.
var sameAsProgram = textKey("Same as the Output tab")

func outputNames() []string {
	out := []string{lang.L(sameAsProgram)}
	for _, p := range app.OutputPresets() {
		out = append(out, p.Name)
	}
	return append(out, lang.L(customOutput))
}

// outputID is the preset ID for a name in the output list, "" for the
// session's own encode.
func outputID(name string) string {
	for _, p := range app.OutputPresets() {
		if p.Name == name {
			return p.ID
		}
	}
	return ""
}

func outputName(d app.Destination) string {
	if len(d.Video) > 0 {
		return lang.L(customOutput)
	}
	id := d.Output
	for _, p := range app.OutputPresets() {
		if p.ID == id {
			return p.Name
		}
	}
	return lang.L(sameAsProgram)
}

func newDestinationsPanel(l loaded, keys app.KeyStore, changed func(), win fyne.Window, settings func() app.Settings) *destinationsPanel {
	p := &destinationsPanel{keys: keys, changed: changed, list: container.NewVBox(), win: win, settings: settings}
	for i, d := range l.Destinations {
		p.addRow(l.ids[i], d)
	}
	p.add = widget.NewButtonWithIcon(lang.L("Add destination"), theme.ContentAddIcon(), func() {
		p.addRow(newID(), app.Destination{Service: "youtube", URL: app.Services()[0].URL})
		p.changed()
	})
	p.content = container.NewVBox(p.list, p.add)
	// The keyring may be slow to answer (or start); fill keys in when it does.
	go p.loadKeys()
	return p
}

func (p *destinationsPanel) loadKeys() {
	for _, r := range p.rows {
		k, err := p.keys.Get(r.id)
		if err != nil || k == "" {
			continue
		}
		runOnUI(func() {
			if r.key.Text == "" {
				r.key.SetText(k)
			}
		})
	}
}

func (p *destinationsPanel) addRow(id string, d app.Destination) {
	r := &destRow{id: id}
	r.service = widget.NewSelect(serviceNames(), nil)
	r.url = widget.NewEntry()
	r.url.SetPlaceHolder(lang.L("rtmp://… or rtmps://…"))
	r.url.SetText(d.URL)
	r.key = widget.NewPasswordEntry()
	r.key.SetPlaceHolder(lang.L("stream key"))
	// Enter in the key field does nothing: pasting a key and pressing Enter
	// must never start a stream.
	r.key.OnSubmitted = nil
	r.hint = widget.NewLabel("")
	r.hint.Wrapping = fyne.TextWrapWord
	r.hint.Importance = widget.WarningImportance
	r.status = widget.NewLabel("")
	r.status.Wrapping = fyne.TextWrapWord
	r.remove = widget.NewButtonWithIcon("", theme.DeleteIcon(), func() { p.removeRow(r) })
	r.dynamic = widget.NewCheck(lang.L("Dynamic bitrate: lower the bitrate while this link is congested"), func(bool) { p.changed() })
	r.dynamic.Checked = d.DynamicBitrate
	r.video = d.Video
	r.output = widget.NewSelect(outputNames(), nil)
	r.output.SetSelected(outputName(d))
	r.chosen = r.output.Selected
	r.output.OnChanged = func(name string) { p.outputChosen(r, name) }
	r.edit = widget.NewButtonWithIcon(lang.L("Edit…"), theme.DocumentCreateIcon(), func() { p.editOutput(r) })
	r.plan = widget.NewLabel("")
	r.plan.Wrapping = fyne.TextWrapWord
	r.assume = widget.NewCheck(lang.L("The server takes HEVC, AV1 and several tracks without saying so"), func(bool) { p.changed() })
	r.assume.Checked = d.AssumeEnhanced
	r.fields = container.NewVBox(
		widget.NewForm(widget.NewFormItem(lang.L("Server"), r.url), widget.NewFormItem(lang.L("Stream key"), r.key),
			widget.NewFormItem(lang.L("Video"), container.NewBorder(nil, nil, nil, r.edit, r.output))), r.plan, r.dynamic, r.assume)
	svc, _ := app.ServiceByID(d.Service)
	r.service.SetSelected(svc.Name)
	r.service.OnChanged = func(name string) { p.serviceChanged(r, name) }
	r.url.OnChanged = func(string) { p.changed() }
	r.key.OnChanged = func(string) { p.changed() }
	p.showFields(r)
	r.box = container.NewVBox(
		container.NewBorder(nil, nil, nil, r.remove, r.service),
		r.fields, r.hint, r.status, widget.NewSeparator())
	p.rows = append(p.rows, r)
	p.list.Add(r.box)
}

// serviceChanged fills in the preset's server unless the user typed their own.
func (p *destinationsPanel) serviceChanged(r *destRow, name string) {
	svc := serviceByName(name)
	cur := strings.TrimSpace(r.url.Text)
	preset := cur == ""
	for _, s := range app.Services() {
		preset = preset || (s.URL != "" && cur == s.URL)
	}
	if preset && svc.URL != "" {
		r.url.SetText(svc.URL)
	}
	p.showFields(r)
	p.changed()
}

func (p *destinationsPanel) showFields(r *destRow) {
	if serviceByName(r.service.Selected).ID == "local" {
		r.fields.Hide()
	} else {
		r.fields.Show()
	}
}

func (p *destinationsPanel) removeRow(r *destRow) {
	if len(p.rows) == 1 {
		return // keep one: a new user always has somewhere to go
	}
	for i, x := range p.rows {
		if x == r {
			p.rows = append(p.rows[:i], p.rows[i+1:]...)
		}
	}
	p.list.Remove(r.box)
	go func() { _ = p.keys.Delete(r.id) }()
	p.changed()
}

func (p *destinationsPanel) destinations() []app.Destination {
	var out []app.Destination
	for _, r := range p.rows {
		out = append(out, p.destination(r))
	}
	return out
}

// destination is row r as the engine takes it.
func (p *destinationsPanel) destination(r *destRow) app.Destination {
	svc := serviceByName(r.service.Selected)
	d := app.Destination{Service: svc.ID}
	if svc.ID != "local" {
		d.URL, d.Key, d.DynamicBitrate = r.url.Text, app.StreamKey(r.key.Text), r.dynamic.Checked
		d.Output, d.AssumeEnhanced = outputID(r.output.Selected), r.assume.Checked
		if r.output.Selected == lang.L(customOutput) {
			d.Video = slices.Clone(r.video)
		}
	}
	return d
}

func (p *destinationsPanel) ids() []string {
	var out []string
	for _, r := range p.rows {
		out = append(out, r.id)
	}
	return out
}

func (p *destinationsPanel) clearKeys() {
	for _, r := range p.rows {
		r.key.SetText("")
	}
}

func (p *destinationsPanel) summary() string {
	var names []string
	for _, r := range p.rows {
		names = append(names, r.service.Selected)
	}
	return strings.Join(names, ", ")
}

// refreshHints shows under each destination the hints for what is typed,
// and the video it will receive when that is not the Output tab's.
func (p *destinationsPanel) refreshHints(st app.Settings) {
	for i, d := range p.destinations() {
		r := p.rows[i]
		text := strings.Join(d.Hints(), "\n")
		if r.hint.Text != text {
			r.hint.SetText(text)
		}
		plan := ""
		if d.Output != "" || len(d.Video) > 0 {
			plan = st.DescribeOutput(d)
		}
		if r.plan.Text != plan {
			r.plan.SetText(plan)
		}
	}
}

// outputChosen follows the Video choice: Custom opens the editor when the
// destination has no renditions of its own yet, and going back from a
// cancelled editor restores the choice before.
func (p *destinationsPanel) outputChosen(r *destRow, name string) {
	if name == lang.L(customOutput) && len(r.video) == 0 {
		prev := r.chosen
		r.chosen = name
		p.openEditor(r, p.destWith(r, prev), func() { r.output.SetSelected(prev) })
		return
	}
	r.chosen = name
	p.changed()
}

// editOutput opens the editor on what the destination receives now, whatever
// it was chosen from; saving makes it the destination's Custom output.
func (p *destinationsPanel) editOutput(r *destRow) {
	p.openEditor(r, p.destWith(r, r.output.Selected), nil)
}

func (p *destinationsPanel) openEditor(r *destRow, d app.Destination, cancelled func()) {
	saved := false
	p.editor = openOutputEditor(p.win, p.settings(), d, func(tracks []app.Rendition) {
		saved = true
		r.video = tracks
		if r.output.Selected != lang.L(customOutput) {
			r.output.SetSelected(lang.L(customOutput)) // calls changed
		} else {
			p.changed()
		}
	})
	e := p.editor
	closed := false
	e.d.SetOnClosed(func() {
		if closed {
			return // hidden again (going live): it has been dealt with
		}
		closed = true
		if p.editor == e {
			p.editor = nil
		}
		if !saved && cancelled != nil {
			cancelled()
		}
	})
}

// destWith is row r's destination with the video choice named output.
func (p *destinationsPanel) destWith(r *destRow, output string) app.Destination {
	d := p.destination(r)
	d.Output, d.Video = outputID(output), nil
	if output == lang.L(customOutput) {
		d.Video = slices.Clone(r.video)
	}
	return d
}

// showStatus puts each destination's state and numbers under it.
func (p *destinationsPanel) showStatus(st app.Status) {
	for i, r := range p.rows {
		text := ""
		imp := widget.MediumImportance
		if i < len(st.Stats.Destinations) && st.State.Active() {
			d := st.Stats.Destinations[i]
			text = lang.L("{{.State}} · {{.Kbps}} kb/s · queue {{.QueueMs}} ms · dropped {{.Dropped}} · RTT {{.RTTMs}} ms", map[string]any{
				"State": d.State, "Kbps": fmt.Sprintf("%.0f", d.SentKbps), "QueueMs": fmt.Sprintf("%.0f", d.QueueMs),
				"Dropped": d.Dropped, "RTTMs": fmt.Sprintf("%.0f", d.RTTMs)})
			if d.Output != "" {
				text += "\n" + d.Output
			}
			if d.Fallback != "" {
				text += "\n" + lang.L("sent as H.264 or one track: {{.Why}}", map[string]any{"Why": d.Fallback})
				imp = widget.WarningImportance
			}
			switch {
			case d.Attempt > 0:
				text, imp = lang.L("reconnecting: attempt {{.Attempt}} in {{.Seconds}} s ({{.Why}})", map[string]any{
					"Attempt": d.Attempt, "Seconds": fmt.Sprintf("%.0f", d.NextRetryS), "Why": d.Error}), widget.WarningImportance
			case d.Error != "":
				text, imp = d.State.String()+": "+d.Error, widget.DangerImportance
			}
		}
		if r.status.Text != text {
			r.status.Importance = imp
			r.status.SetText(text)
		}
	}
}

// setLive locks the list while live; keys and servers cannot change mid-stream.
func (p *destinationsPanel) setLive(live bool) {
	p.live = live
	for _, r := range p.rows {
		for _, in := range []fyne.Disableable{r.service, r.url, r.key, r.dynamic, r.output, r.edit, r.assume, r.remove} {
			if live {
				in.Disable()
			} else {
				in.Enable()
			}
		}
	}
	if live && p.editor != nil {
		// Going live (the shortcut, the remote control) while an editor is
		// open: what it would save could not change the stream, so it closes.
		p.editor.d.Hide()
	}
	for _, b := range []*widget.Button{p.add, p.setup} {
		if b != nil {
			enable(b, !live)
		}
	}
}

// offerSetup puts a button that runs the setup again under the list: a
// streamer who skipped it, or whose computer or connection changed, finds it
// where the destinations it fills in are.
func (p *destinationsPanel) offerSetup(run func()) {
	p.setup = widget.NewButtonWithIcon(lang.L("Set up Tally…"), theme.SettingsIcon(), run)
	p.content.Add(p.setup)
	enable(p.setup, !p.live)
}
