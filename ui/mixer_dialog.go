package ui

import (
	"fmt"
	"fyne.io/fyne/v2/lang"
	"math"
	"slices"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tallystudio/tally/scene"
)

// filterKinds are the filters the dialog adds, as it names them, with the
// settings each takes: the field, its label, its unit and its default (what
// an empty field means, scene.Filter's zero).
var filterKinds = []struct {
	kind, label string
	params      []filterParam
}{
	{scene.FilterNoiseGate, textKey("Noise gate"), []filterParam{
		{"threshold_db", textKey("Threshold"), "dB", "-40"}, {"attack_ms", textKey("Attack"), "ms", "5"}, {"release_ms", textKey("Release"), "ms", "250"}}},
	{scene.FilterCompressor, textKey("Compressor"), []filterParam{
		{"threshold_db", textKey("Threshold"), "dB", "-18"}, {"ratio", textKey("Ratio"), ": 1", "4"},
		{"attack_ms", textKey("Attack"), "ms", "20"}, {"release_ms", textKey("Release"), "ms", "250"}}},
	{scene.FilterLimiter, textKey("Limiter"), []filterParam{{"ceiling_db", textKey("Ceiling"), "dBFS", "-1"}}},
	{scene.FilterNoiseSuppression, textKey("Noise suppression"), []filterParam{{"reduction_db", textKey("Reduction"), "dB", "12"}}},
}

type filterParam struct{ field, label, unit, def string }

func filterLabel(kind string) string {
	for _, k := range filterKinds {
		if k.kind == kind {
			return lang.L(k.label)
		}
	}
	return kind
}

// param is a filter's setting by its field name in the file.
func param(f *scene.Filter, field string) *float64 {
	switch field {
	case "threshold_db":
		return &f.ThresholdDB
	case "ratio":
		return &f.Ratio
	case "attack_ms":
		return &f.AttackMS
	case "release_ms":
		return &f.ReleaseMS
	case "ceiling_db":
		return &f.CeilingDB
	case "reduction_db":
		return &f.ReductionDB
	}
	panic("ui: no filter setting " + field)
}

// The push choices, as the dialog offers them.
var pushChoices = []struct{ push, label string }{
	{"", textKey("Off")},
	{scene.PushTalk, textKey("Push to talk")},
	{scene.PushMute, textKey("Push to mute")},
}

// defaultPushKey is the key a microphone's push starts with: one no field
// types and no shortcut of the studio uses.
const defaultPushKey = "F9"

// soundDialog is a strip's settings: a source's filters, sync offset, mono,
// whether it plays in every scene and a microphone's push key, or the
// master's limiter. Each change applies at once, as a fader does, so the
// effect of a filter is heard while it is set; Close closes.
type soundDialog struct {
	m       *mixerPanel
	name    string // the source; "" for the master
	d       dialog.Dialog
	body    *fyne.Container
	listKey string // the filters the rows are for; rebuilt when it changes
	filling bool   // refresh is setting the fields: their callbacks are not edits
	status  *widget.Label

	sync          *numEntry
	mono, global  *widget.Check
	push, pushKey *widget.Select
	filterRows    *fyne.Container
	params        [][]*numEntry // per filter, per setting of its kind
	limiter       *widget.Check
	ceiling       *numEntry
	pushRow       *fyne.Container
}

// showSettings opens the filters dialog of a source, or the master's for "".
func (m *mixerPanel) showSettings(name string) {
	if m.dialog != nil {
		m.dialog.d.Hide()
	}
	sd := &soundDialog{m: m, name: name}
	sd.status = widget.NewLabel("")
	sd.status.Wrapping = fyne.TextWrapWord
	sd.status.Importance = widget.DangerImportance
	title := lang.L("Master: limiter")
	if name == "" {
		sd.limiter = widget.NewCheck(lang.L("Limiter: the mix never passes the ceiling"), func(bool) { sd.commitMaster() })
		sd.ceiling = newNumEntry("-1", sd.commitMaster)
		sd.ceiling.what = lang.L("Ceiling")
		sd.body = container.NewVBox(sd.limiter,
			widget.NewForm(widget.NewFormItem(lang.L("Ceiling"), container.NewBorder(nil, nil, nil, widget.NewLabel(lang.L("dBFS (true peak)")), sd.ceiling))))
	} else {
		title = lang.L("Sound of {{.Source}}", map[string]any{"Source": name})
		sd.buildSource()
	}
	content := container.NewBorder(nil, sd.status, nil, nil, container.NewVScroll(sd.body))
	sd.d = dialog.NewCustom(title, lang.L("Close"), content, m.host.window)
	sd.d.SetOnClosed(func() {
		if m.dialog == sd {
			m.dialog = nil
		}
	})
	m.dialog = sd
	sd.refresh()
	sd.d.Resize(fyne.NewSize(560, 600))
	sd.d.Show()
}

// showText shows a value in a field without applying it.
func (e *numEntry) showText(t string) {
	if e.Text != t {
		e.SetText(t)
	}
}

// buildSource lays out a source's settings.
func (sd *soundDialog) buildSource() {
	sd.sync = newNumEntry("0", sd.commitSync)
	sd.sync.what = lang.L("Sync offset")
	sd.mono = widget.NewCheck(lang.L("Mono: both channels carry their average"), func(bool) { sd.commitFlags() })
	sd.global = widget.NewCheck(lang.L("Heard in every scene"), func(bool) { sd.commitFlags() })
	var pushLabels []string
	for _, p := range pushChoices {
		pushLabels = append(pushLabels, lang.L(p.label))
	}
	sd.push = widget.NewSelect(pushLabels, func(string) { sd.commitPush() })
	sd.pushKey = widget.NewSelect(scene.PushKeys, func(string) { sd.commitPush() })
	sd.pushRow = container.NewGridWithColumns(2, sd.push, sd.pushKey)
	form := widget.NewForm(
		widget.NewFormItem(lang.L("Sync offset"), container.NewBorder(nil, nil, nil, widget.NewLabel(lang.L("ms later")), sd.sync)),
		widget.NewFormItem("", sd.mono),
		widget.NewFormItem("", sd.global))
	if s := sd.source(); s != nil && s.Type == scene.TypeMicrophone { // push keys are a microphone's
		form.Append(lang.L("Hotkey"), sd.pushRow)
	}
	sd.filterRows = container.NewVBox()
	var adds []fyne.CanvasObject
	for _, k := range filterKinds {
		kind := k.kind
		adds = append(adds, newKeyButton(lang.L(k.label), theme.ContentAddIcon(), sd.m, func() { sd.addFilter(kind) }))
	}
	sd.body = container.NewVBox(form, widget.NewSeparator(),
		widget.NewLabelWithStyle(lang.L("Filters, in the order they run (before the fader)"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		sd.filterRows,
		widget.NewLabel(lang.L("Add a filter:")),
		container.NewGridWithColumns(2, adds...))
}

// source is the dialog's source in the collection now; nil once it is gone.
func (sd *soundDialog) source() *scene.Source {
	s, ok := sd.m.host.collection().Source(sd.name)
	if !ok {
		return nil
	}
	return s
}

// refresh shows the collection's settings (UI thread), after any edit.
func (sd *soundDialog) refresh() {
	sd.filling = true
	defer func() { sd.filling = false }()
	c := sd.m.host.collection()
	if sd.name == "" {
		sd.limiter.SetChecked(c.Master.LimiterOn())
		sd.ceiling.showText(fmtParam(c.Master.Ceiling(), scene.DefaultCeilingDB))
		enable(sd.ceiling, c.Master.LimiterOn())
		return
	}
	s := sd.source()
	if s == nil {
		sd.d.Hide()
		return
	}
	a := s.Audio
	if a == nil {
		a = &scene.Audio{}
	}
	sd.sync.showText(fmtParam(float64(a.SyncMS), 0))
	sd.mono.SetChecked(a.Mono)
	sd.global.SetChecked(a.IsGlobal(s.Type))
	for _, p := range pushChoices {
		if p.push == a.Push && sd.push.Selected != lang.L(p.label) {
			sd.push.SetSelected(lang.L(p.label))
		}
	}
	key := a.PushKey
	if key == "" {
		key = defaultPushKey
	}
	if sd.pushKey.Selected != key {
		sd.pushKey.SetSelected(key)
	}
	enable(sd.pushKey, a.Push != "")

	kinds := make([]string, len(a.Filters))
	for i, f := range a.Filters {
		kinds[i] = f.Kind
	}
	if k := strings.Join(kinds, ","); k != sd.listKey {
		sd.listKey = k
		sd.buildFilterRows(a.Filters)
	}
	for i := range a.Filters {
		f := &a.Filters[i]
		for j, p := range paramsOf(f.Kind) {
			sd.params[i][j].showText(fmtParam(*param(f, p.field), 0))
		}
	}
	sd.body.Refresh()
}

func paramsOf(kind string) []filterParam {
	for _, k := range filterKinds {
		if k.kind == kind {
			return k.params
		}
	}
	return nil
}

// fmtParam is a setting as a field shows it: empty at its default (the
// placeholder names the default).
func fmtParam(v, def float64) string {
	if v == def {
		return ""
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// buildFilterRows lays out a row per filter: its name, buttons to move it
// or take it out, and its settings.
func (sd *soundDialog) buildFilterRows(fs []scene.Filter) {
	sd.params = make([][]*numEntry, len(fs))
	rows := make([]fyne.CanvasObject, 0, len(fs)+1)
	for i, f := range fs {
		up := newKeyButton("", theme.MoveUpIcon(), sd.m, func() { sd.moveFilter(i, i-1) })
		down := newKeyButton("", theme.MoveDownIcon(), sd.m, func() { sd.moveFilter(i, i+1) })
		remove := newKeyButton(lang.L("Remove"), theme.DeleteIcon(), sd.m, func() { sd.removeFilter(i) })
		enable(up, i > 0)
		enable(down, i < len(fs)-1)
		head := container.NewBorder(nil, nil,
			widget.NewLabelWithStyle(fmt.Sprintf("%d. %s", i+1, filterLabel(f.Kind)), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
			container.NewHBox(up, down, remove))
		form := widget.NewForm()
		for _, p := range paramsOf(f.Kind) {
			e := newNumEntry(p.def, func() { sd.commitParam(i, p.field) })
			e.what = lang.L(p.label)
			sd.params[i] = append(sd.params[i], e)
			form.Append(lang.L(p.label), container.NewBorder(nil, nil, nil, widget.NewLabel(p.unit), e))
		}
		rows = append(rows, container.NewVBox(head, form))
	}
	if len(fs) == 0 {
		rows = append(rows, widget.NewLabel(lang.L("None: the sound goes to the fader as it comes.")))
	}
	sd.filterRows.Objects = rows
	sd.filterRows.Refresh()
}

// edit applies a change to the dialog's source and shows why it was
// refused, if it was.
func (sd *soundDialog) edit(fn func(a *scene.Audio) error) {
	if sd.filling {
		return
	}
	err := sd.m.host.edit(false, onAudio(sd.name, fn))
	sd.setError(err)
}

func (sd *soundDialog) setError(err error) {
	text := ""
	if err != nil {
		text = err.Error()
	}
	setText(sd.status, text)
}

// number reads a field: empty is the default (0), anything else a number.
func number(e *numEntry) (float64, error) {
	t := strings.TrimSpace(e.Text)
	if t == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: a number, please (got %q)", e.what, e.Text)
	}
	return v, nil
}

func (sd *soundDialog) commitSync() {
	if sd.filling {
		return
	}
	v, err := number(sd.sync)
	if err != nil {
		sd.setError(err)
		return
	}
	sd.edit(func(a *scene.Audio) error { a.SyncMS = int(math.Round(v)); return nil })
}

func (sd *soundDialog) commitFlags() {
	s := sd.source()
	if sd.filling || s == nil {
		return
	}
	mono, global, typ := sd.mono.Checked, sd.global.Checked, s.Type
	sd.edit(func(a *scene.Audio) error {
		a.Mono = mono
		// Kept unset while it says what the type does anyway, so the file
		// shows only what was chosen.
		a.Global = nil
		if a.IsGlobal(typ) != global {
			a.Global = &global
		}
		return nil
	})
}

func (sd *soundDialog) commitPush() {
	if sd.filling {
		return
	}
	push := ""
	for _, p := range pushChoices {
		if lang.L(p.label) == sd.push.Selected {
			push = p.push
		}
	}
	key := sd.pushKey.Selected
	sd.edit(func(a *scene.Audio) error {
		a.Push, a.PushKey = push, ""
		if push != "" {
			a.PushKey = key
		}
		return nil
	})
}

func (sd *soundDialog) addFilter(kind string) {
	sd.edit(func(a *scene.Audio) error {
		if len(a.Filters) >= scene.MaxFilters {
			return fmt.Errorf("a source may have at most %d filters", scene.MaxFilters)
		}
		a.Filters = append(a.Filters, scene.Filter{Kind: kind})
		return nil
	})
}

func (sd *soundDialog) removeFilter(i int) {
	sd.edit(func(a *scene.Audio) error {
		if i >= len(a.Filters) {
			return fmt.Errorf("filter %d: %w", i+1, scene.ErrNotFound)
		}
		a.Filters = slices.Delete(a.Filters, i, i+1)
		return nil
	})
}

func (sd *soundDialog) moveFilter(from, to int) {
	sd.edit(func(a *scene.Audio) error {
		if from >= len(a.Filters) || to < 0 || to >= len(a.Filters) {
			return nil
		}
		a.Filters[from], a.Filters[to] = a.Filters[to], a.Filters[from]
		return nil
	})
}

func (sd *soundDialog) commitParam(i int, field string) {
	if sd.filling || i >= len(sd.params) {
		return
	}
	var e *numEntry
	for j, p := range paramsOf(sd.kindAt(i)) {
		if p.field == field {
			e = sd.params[i][j]
		}
	}
	if e == nil {
		return
	}
	v, err := number(e)
	if err != nil {
		sd.setError(err)
		return
	}
	sd.edit(func(a *scene.Audio) error {
		if i >= len(a.Filters) {
			return fmt.Errorf("filter %d: %w", i+1, scene.ErrNotFound)
		}
		*param(&a.Filters[i], field) = v
		return nil
	})
}

func (sd *soundDialog) kindAt(i int) string {
	if s := sd.source(); s != nil && s.Audio != nil && i < len(s.Audio.Filters) {
		return s.Audio.Filters[i].Kind
	}
	return ""
}

// commitMaster applies the master's limiter and ceiling.
func (sd *soundDialog) commitMaster() {
	if sd.filling {
		return
	}
	v, err := number(sd.ceiling)
	if err != nil {
		sd.setError(err)
		return
	}
	on := sd.limiter.Checked
	err = sd.m.host.edit(false, onMaster(func(ms *scene.Master) {
		ms.Limiter = nil
		if !on {
			ms.Limiter = &on
		}
		ms.CeilingDB = v
		if v == scene.DefaultCeilingDB {
			ms.CeilingDB = 0
		}
	}))
	sd.setError(err)
}
