package ui

import (
	"errors"
	"fmt"
	"fyne.io/fyne/v2/lang"
	"image"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/tallystudio/tally/scene"
)

// The layer list shows the top layer first, as OBS does; the collection
// keeps them bottom first. Every index in this file is the collection's.

func (p *scenesPanel) buildLayerRows(sc *scene.Scene) {
	rows := make([]fyne.CanvasObject, 0, len(sc.Layers)+1)
	for i := len(sc.Layers) - 1; i >= 0; i-- {
		l := sc.Layers[i]
		shown := widget.NewCheck("", func(on bool) { p.setHidden(i, !on) })
		shown.Checked = !l.Hidden // set before the callback can see it: building is not an edit
		label := widget.NewLabel(layerLabel(p.col, l))
		label.Truncation = fyne.TextTruncateEllipsis
		if l.Hidden {
			label.Importance = widget.LowImportance
		}
		rows = append(rows, newListRow(container.NewBorder(nil, nil, shown, nil, label), i == p.layer, func() { p.selectLayer(i) }))
	}
	if len(sc.Layers) == 0 {
		empty := widget.NewLabel(lang.L("No layers: the scene is black. Add one."))
		empty.Importance = widget.LowImportance
		rows = append(rows, empty)
	}
	p.layerRows.Objects = rows
	p.layerRows.Refresh()
}

// layerLabel names a layer in the list: its source and the source's type.
func layerLabel(c *scene.Collection, l scene.Layer) string {
	if src, ok := c.Source(l.Source); ok {
		return l.Source + "  ·  " + typeLabel(src.Type)
	}
	return l.Source
}

// selectLayer selects a layer of the selected scene; -1 selects none.
func (p *scenesPanel) selectLayer(i int) {
	if i != p.layer {
		p.layer = i
		p.show()
	}
}

// inScene runs fn on the selected scene of c, the clone an edit works on.
func (p *scenesPanel) inScene(fn func(sc *scene.Scene) error) func(c *scene.Collection) error {
	name := p.selected().Name
	return func(c *scene.Collection) error {
		sc, ok := c.Scene(name)
		if !ok {
			return fmt.Errorf("scene %q: %w", name, scene.ErrNotFound)
		}
		return fn(sc)
	}
}

func (p *scenesPanel) setHidden(i int, hidden bool) {
	p.edit(false, p.inScene(func(sc *scene.Scene) error {
		if i >= len(sc.Layers) {
			return fmt.Errorf("layer %d: %w", i, scene.ErrNotFound)
		}
		sc.Layers[i].Hidden = hidden
		return nil
	}))
}

// moveLayer moves the selected layer by places in the stack: +1 is up, to
// the top of the list.
func (p *scenesPanel) moveLayer(by int) {
	from := p.layer
	to := from + by
	if from < 0 || to < 0 || to >= len(p.selected().Layers) {
		return
	}
	p.layer = to // the selection moves with the layer, in the lists edit draws
	if !p.edit(false, p.inScene(func(sc *scene.Scene) error { return sc.MoveLayer(from, to) })) {
		p.layer = from
		p.show()
	}
}

func (p *scenesPanel) removeSelectedLayer() {
	i := p.layer
	if i < 0 {
		return
	}
	edit := p.inScene(func(sc *scene.Scene) error { return sc.RemoveLayer(i) })
	p.layer = -1
	if !p.edit(false, func(c *scene.Collection) error {
		if err := edit(c); err != nil {
			return err
		}
		dropUnused(c)
		return nil
	}) {
		p.layer = i
		p.show()
	}
}

// setLayerBox moves and sizes a layer of the selected scene, and selects
// it: the overlay's drags and the position fields end here.
func (p *scenesPanel) setLayerBox(i int, r image.Rectangle, live bool) {
	p.layer = i
	p.edit(live, p.inScene(func(sc *scene.Scene) error {
		if i < 0 || i >= len(sc.Layers) {
			return fmt.Errorf("layer %d: %w", i, scene.ErrNotFound)
		}
		l := &sc.Layers[i]
		l.X, l.Y, l.Width, l.Height = r.Min.X, r.Min.Y, r.Dx(), r.Dy()
		return nil
	}))
}

// layout, with selectLayer and setLayerBox, is what the preview's overlay
// draws and changes (layoutTarget). It offers the handles only while the
// Scenes tab shows, the program is the scenes and the selected scene is the
// one on air: otherwise the preview does not show the layers being edited.
func (p *scenesPanel) layout() (image.Point, []layerBox, int, bool) {
	cv := image.Pt(p.col.Canvas.Width, p.col.Canvas.Height)
	sc := p.selected()
	if !p.tabOpen || !p.scenesOn || sc.Name != p.col.ActiveScene().Name {
		return cv, nil, -1, false
	}
	boxes := make([]layerBox, len(sc.Layers))
	for i, l := range sc.Layers {
		boxes[i] = layerBox{rect: image.Rect(l.X, l.Y, l.X+l.Width, l.Y+l.Height), hidden: l.Hidden}
	}
	return cv, boxes, p.layer, true
}

// layerProps are the selected layer's box, fit, opacity and crop. A number
// applies when Enter is pressed in its field or the field loses focus.
type layerProps struct {
	p           *scenesPanel
	content     *fyne.Container
	source      *widget.Label
	x, y, w, h  *numEntry
	crop        [4]*numEntry // left, top, right, bottom
	fit         *widget.Select
	opacity     *widget.Slider
	opacityText *widget.Label
	filling     bool // show is setting the fields: their callbacks are not edits
}

var fitChoices = []struct{ mode, label string }{
	{scene.FitInside, textKey("Fit inside (letterbox)")},
	{scene.FitFill, textKey("Fill (crop the overflow)")},
	{scene.FitStretch, textKey("Stretch")},
}

func newLayerProps(p *scenesPanel) *layerProps {
	lp := &layerProps{p: p, source: widget.NewLabel("")}
	lp.source.Truncation = fyne.TextTruncateEllipsis
	lp.x, lp.y, lp.w, lp.h = newNumEntry("x", lp.commitBox), newNumEntry("y", lp.commitBox),
		newNumEntry("width", lp.commitBox), newNumEntry("height", lp.commitBox)
	for i, name := range []string{"left", "top", "right", "bottom"} {
		lp.crop[i] = newNumEntry(name, lp.commitCrop)
	}
	var fits []string
	for _, f := range fitChoices {
		fits = append(fits, lang.L(f.label))
	}
	lp.fit = widget.NewSelect(fits, func(string) { lp.commitFit() })
	lp.opacity = widget.NewSlider(0, 100)
	lp.opacity.Step = 1
	lp.opacity.OnChanged = func(float64) { lp.commitOpacity(true) }
	lp.opacity.OnChangeEnded = func(float64) { lp.commitOpacity(false) }
	lp.opacityText = widget.NewLabel("100 %")
	form := widget.NewForm(
		widget.NewFormItem(lang.L("Source"), container.NewBorder(nil, nil, nil, p.editSource, lp.source)),
		widget.NewFormItem(lang.L("Position x, y"), container.NewGridWithColumns(2, lp.x, lp.y)),
		widget.NewFormItem(lang.L("Size w × h"), container.NewGridWithColumns(2, lp.w, lp.h)),
		widget.NewFormItem(lang.L("Fit"), lp.fit),
		widget.NewFormItem(lang.L("Opacity"), container.NewBorder(nil, nil, nil, lp.opacityText, lp.opacity)),
		widget.NewFormItem(lang.L("Crop l, t, r, b"), container.NewGridWithColumns(4, lp.crop[0], lp.crop[1], lp.crop[2], lp.crop[3])))
	lp.content = column(lang.L("Selected layer"), form)
	return lp
}

// show fills the fields from the selected layer, or hides them.
func (lp *layerProps) show() {
	l := lp.p.selectedLayer()
	lp.p.setVisible(lp.content, l != nil)
	if l == nil {
		return
	}
	lp.filling = true
	defer func() { lp.filling = false }()
	if t := layerLabel(lp.p.col, *l); lp.source.Text != t {
		lp.source.SetText(t)
	}
	for _, f := range []struct {
		e *numEntry
		v int
	}{{lp.x, l.X}, {lp.y, l.Y}, {lp.w, l.Width}, {lp.h, l.Height},
		{lp.crop[0], l.Crop.Left}, {lp.crop[1], l.Crop.Top}, {lp.crop[2], l.Crop.Right}, {lp.crop[3], l.Crop.Bottom}} {
		f.e.set(f.v)
	}
	for _, f := range fitChoices {
		if f.mode == l.Fit && lp.fit.Selected != lang.L(f.label) {
			lp.fit.SetSelected(lang.L(f.label))
		}
	}
	op := 100.0
	if l.Opacity != nil {
		op = math.Round(*l.Opacity * 100)
	}
	if lp.opacity.Value != op {
		lp.opacity.SetValue(op)
	}
	lp.opacityText.SetText(fmt.Sprintf("%.0f %%", op))
}

// numbers reads whole numbers from fields; a field that holds none is an
// error naming it.
func numbers(es ...*numEntry) ([]int, error) {
	out := make([]int, len(es))
	for i, e := range es {
		n, err := strconv.Atoi(strings.TrimSpace(e.Text))
		if err != nil {
			return nil, fmt.Errorf("%s: a whole number of pixels, please (got %q)", e.what, e.Text)
		}
		out[i] = n
	}
	return out, nil
}

func (lp *layerProps) commitBox() {
	l := lp.p.selectedLayer()
	if lp.filling || l == nil {
		return
	}
	v, err := numbers(lp.x, lp.y, lp.w, lp.h)
	if err != nil {
		lp.refuse(err)
		return
	}
	if r := image.Rect(v[0], v[1], v[0]+v[2], v[1]+v[3]); v[2] <= 0 || v[3] <= 0 {
		lp.refuse(errors.New("width and height must be greater than 0"))
	} else if r != image.Rect(l.X, l.Y, l.X+l.Width, l.Y+l.Height) {
		lp.p.setLayerBox(lp.p.layer, r, false)
	}
}

func (lp *layerProps) commitCrop() {
	l := lp.p.selectedLayer()
	if lp.filling || l == nil {
		return
	}
	v, err := numbers(lp.crop[:]...)
	if err != nil {
		lp.refuse(err)
		return
	}
	c := scene.Crop{Left: v[0], Top: v[1], Right: v[2], Bottom: v[3]}
	if c == l.Crop {
		return
	}
	lp.editLayer(false, func(l *scene.Layer) { l.Crop = c })
}

func (lp *layerProps) commitFit() {
	l := lp.p.selectedLayer()
	if lp.filling || l == nil {
		return
	}
	for _, f := range fitChoices {
		if lang.L(f.label) == lp.fit.Selected && f.mode != l.Fit {
			lp.editLayer(false, func(l *scene.Layer) { l.Fit = f.mode })
		}
	}
}

// commitOpacity applies the slider; live while it is being dragged.
func (lp *layerProps) commitOpacity(live bool) {
	if lp.filling || lp.p.selectedLayer() == nil {
		return
	}
	v := lp.opacity.Value / 100
	cur := 1.0
	if o := lp.p.selectedLayer().Opacity; o != nil {
		cur = *o
	}
	if live && math.Abs(v-cur) < 1e-9 {
		return // the end of a drag still applies, at once
	}
	lp.editLayer(live, func(l *scene.Layer) {
		l.Opacity = nil // opaque: the file leaves the default out
		if v < 1 {
			l.Opacity = &v
		}
	})
}

// editLayer edits the selected layer.
func (lp *layerProps) editLayer(live bool, fn func(l *scene.Layer)) {
	i := lp.p.layer
	lp.p.edit(live, lp.p.inScene(func(sc *scene.Scene) error {
		if i < 0 || i >= len(sc.Layers) {
			return fmt.Errorf("layer %d: %w", i, scene.ErrNotFound)
		}
		fn(&sc.Layers[i])
		return nil
	}))
}

// refuse shows why a field's value was not applied and puts the applied
// value back in the fields.
func (lp *layerProps) refuse(err error) {
	lp.p.editErr = err.Error()
	lp.p.show()
}

// numEntry is a field for a number of pixels. Its value applies on Enter and
// when it loses focus (Tab to the next field), as in OBS's transform fields.
type numEntry struct {
	widget.Entry
	what   string
	commit func()
}

func newNumEntry(what string, commit func()) *numEntry {
	e := &numEntry{what: what, commit: commit}
	e.ExtendBaseWidget(e)
	e.SetPlaceHolder(what)
	e.OnSubmitted = func(string) { commit() }
	return e
}

// set shows a value without applying it.
func (e *numEntry) set(v int) {
	if t := strconv.Itoa(v); e.Text != t {
		e.SetText(t)
	}
}

func (e *numEntry) FocusLost() {
	e.Entry.FocusLost()
	e.commit()
}

// TypedShortcut lets the scene shortcuts through: a focused entry is given
// every shortcut, and would keep Ctrl+2 from switching scenes while the
// pointer was last in a field.
func (e *numEntry) TypedShortcut(sc fyne.Shortcut) {
	if isSceneShortcut(sc) {
		if c, ok := fyne.CurrentApp().Driver().CanvasForObject(e).(fyne.Shortcutable); ok {
			c.TypedShortcut(sc)
			return
		}
	}
	e.Entry.TypedShortcut(sc)
}

// The source types as the add dialog offers them.
var typeChoices = []struct{ typ, label string }{
	{scene.TypeTest, textKey("Test pattern")},
	{scene.TypeColour, textKey("Colour")},
	{scene.TypeImage, textKey("Picture (PNG, JPEG)")},
	{scene.TypeText, textKey("Text")},
	{scene.TypeMedia, textKey("Media file")},
	{scene.TypeCamera, textKey("Camera")},
	{scene.TypeScreen, textKey("Screen")},
}

// soundTypeLabels name the sound-only types in the layer list; the Mixer
// tab adds and edits them, so the add-layer dialog does not offer them.
var soundTypeLabels = map[string]string{
	scene.TypeMicrophone: textKey("Microphone"),
	scene.TypeDesktop:    textKey("Desktop audio"),
	scene.TypeAudioFile:  textKey("Sound file"),
	scene.TypeTone:       textKey("Tone"),
}

func typeLabel(typ string) string {
	for _, t := range typeChoices {
		if t.typ == typ {
			return lang.L(t.label)
		}
	}
	if l, ok := soundTypeLabels[typ]; ok {
		return lang.L(l)
	}
	return typ
}

// newSourceChoice is the first entry of the add dialog's "Show" picker; the
// others are the collection's sources, to show one again.
var newSourceChoice = textKey("A new source")

// sourceForm is the add-layer dialog's content, and the edit-source
// dialog's: which source, and the fields its type takes.
type sourceForm struct {
	use        *widget.Select // newSourceChoice or an existing source's name; nil when editing a source
	name       *widget.Entry
	kind       *widget.Select
	colour     *widget.Entry
	path       *widget.Entry
	browse     *widget.Button
	loop       *widget.Check
	text       *widget.Entry
	size       *widget.Entry
	textColour *widget.Entry
	outline    *widget.Entry
	device     *widget.SelectEntry
	fields     *fyne.Container // holds the form for the type picked
	errText    *widget.Label
	dialog     *dialog.CustomDialog
	devices    func(kind string) []string
	taken      func(name string) bool // a source has this name already
	base       *scene.Source          // the source being edited, nil for a new one
	autoName   string                 // the name the form gave; a type picked later may replace it
}

func newSourceForm(c *scene.Collection, editing *scene.Source, win fyne.Window, devices func(string) []string) *sourceForm {
	f := &sourceForm{name: widget.NewEntry(), colour: widget.NewEntry(), path: widget.NewEntry(),
		loop: widget.NewCheck(lang.L("Start again at the end"), nil), text: widget.NewEntry(), size: widget.NewEntry(),
		textColour: widget.NewEntry(), outline: widget.NewEntry(), device: widget.NewSelectEntry(nil),
		fields: container.NewStack(), errText: widget.NewLabel(""), devices: devices,
		taken: func(n string) bool { _, ok := c.Source(n); return ok && (editing == nil || n != editing.Name) },
		base:  editing}
	f.errText.Wrapping = fyne.TextWrapWord
	f.errText.Importance = widget.DangerImportance
	f.errText.Hide()
	f.colour.SetPlaceHolder(lang.L("#rrggbb, or #rrggbbaa with opacity"))
	f.path.SetPlaceHolder(lang.L("/path/to/file"))
	f.browse = widget.NewButton(lang.L("Browse…"), func() {
		d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
			if err == nil && r != nil {
				f.path.SetText(r.URI().Path())
				_ = r.Close()
			}
		}, win)
		d.Resize(fyne.NewSize(760, 520))
		d.Show()
	})
	f.text.SetPlaceHolder(lang.L("the words"))
	f.size.SetText(strconv.Itoa(scene.DefaultTextSize))
	f.textColour.SetText(scene.DefaultTextColour)
	f.outline.SetPlaceHolder(lang.L("none, or a colour such as #000000"))
	f.device.SetPlaceHolder(lang.L("the first one"))
	var kinds []string
	for _, t := range typeChoices {
		kinds = append(kinds, lang.L(t.label))
	}
	f.kind = widget.NewSelect(kinds, func(string) { f.layoutFields() })
	if editing == nil {
		uses := []string{lang.L(newSourceChoice)}
		for _, s := range c.Sources {
			uses = append(uses, s.Name)
		}
		f.use = widget.NewSelect(uses, func(string) { f.layoutFields() })
		f.use.SetSelected(lang.L(newSourceChoice))
		f.kind.SetSelected(typeLabel(scene.TypeColour))
		f.colour.SetText("#2050a0")
	} else {
		f.fill(*editing)
	}
	f.layoutFields()
	return f
}

// fill puts a source's fields in the form.
func (f *sourceForm) fill(s scene.Source) {
	f.name.SetText(s.Name)
	f.kind.SetSelected(typeLabel(s.Type))
	f.colour.SetText(s.Colour)
	f.path.SetText(s.Path)
	f.loop.SetChecked(s.Loop)
	f.device.SetText(s.Device)
	if t := s.Text; t != nil {
		f.text.SetText(t.Text)
		f.size.SetText(strconv.FormatFloat(t.Size, 'f', -1, 64))
		f.textColour.SetText(t.Colour)
		f.outline.SetText(t.Outline)
	}
}

// typ is the source type picked.
func (f *sourceForm) typ() string {
	for _, t := range typeChoices {
		if lang.L(t.label) == f.kind.Selected {
			return t.typ
		}
	}
	return scene.TypeTest
}

// reusing is the existing source picked, "" for a new one.
func (f *sourceForm) reusing() string {
	if f.use == nil || f.use.Selected == lang.L(newSourceChoice) {
		return ""
	}
	return f.use.Selected
}

// layoutFields shows the fields the picked type takes, and none of another's.
func (f *sourceForm) layoutFields() {
	var items []*widget.FormItem
	if f.use != nil {
		items = append(items, widget.NewFormItem(lang.L("Show"), f.use))
	}
	if f.reusing() == "" {
		typ := f.typ()
		if f.name.Text == "" || f.name.Text == f.autoName {
			f.autoName = uniqueName(strings.Fields(typeLabel(typ))[0], f.taken)
			f.name.SetText(f.autoName)
		}
		items = append(items, widget.NewFormItem(lang.L("Type"), f.kind), widget.NewFormItem(lang.L("Name"), f.name))
		switch typ {
		case scene.TypeColour:
			items = append(items, widget.NewFormItem(lang.L("Colour"), f.colour))
		case scene.TypeImage:
			items = append(items, widget.NewFormItem(lang.L("File"), container.NewBorder(nil, nil, nil, f.browse, f.path)))
		case scene.TypeMedia:
			items = append(items, widget.NewFormItem(lang.L("File"), container.NewBorder(nil, nil, nil, f.browse, f.path)),
				widget.NewFormItem("", f.loop))
		case scene.TypeText:
			items = append(items, widget.NewFormItem(lang.L("Text"), f.text), widget.NewFormItem(lang.L("Size (px)"), f.size),
				widget.NewFormItem(lang.L("Colour"), f.textColour), widget.NewFormItem(lang.L("Outline"), f.outline))
		case scene.TypeCamera, scene.TypeScreen:
			f.device.SetOptions(f.devices(typ))
			items = append(items, widget.NewFormItem(lang.L("Device"), f.device))
		}
	}
	// A new form each time: a form keeps the rows it has drawn by place, and
	// would show the last type's fields under this type's labels.
	f.fields.Objects = []fyne.CanvasObject{widget.NewForm(items...)}
	f.fields.Refresh()
}

// source is the source the fields describe. An edited source keeps what
// the form has no field for (a text's font, box or file, say, written in the
// file by hand), unless its type changed.
func (f *sourceForm) source() (scene.Source, error) {
	s := scene.Source{Name: strings.TrimSpace(f.name.Text), Type: f.typ()}
	if b := f.base; b != nil && b.Type == s.Type {
		name := s.Name
		s = *b
		s.Name = name
		if b.Text != nil {
			t := *b.Text
			s.Text = &t
		}
	}
	switch s.Type {
	case scene.TypeColour:
		s.Colour = strings.TrimSpace(f.colour.Text)
	case scene.TypeImage, scene.TypeMedia:
		path := strings.TrimSpace(f.path.Text)
		if path == "" {
			return s, errors.New("choose a file")
		}
		// A path typed relative means the folder Tally runs in; the
		// collection would read it against its own folder.
		abs, err := filepath.Abs(path)
		if err != nil {
			return s, err
		}
		s.Path, s.Loop = abs, s.Type == scene.TypeMedia && f.loop.Checked
	case scene.TypeText:
		size, err := strconv.ParseFloat(strings.TrimSpace(f.size.Text), 64)
		if err != nil {
			return s, fmt.Errorf("size: a number of pixels, please (got %q)", f.size.Text)
		}
		if s.Text == nil {
			s.Text = &scene.Text{}
		}
		t := s.Text
		t.Text, t.Size, t.Colour, t.Outline = f.text.Text, size, strings.TrimSpace(f.textColour.Text), strings.TrimSpace(f.outline.Text)
		if t.Outline == "" {
			t.OutlineWidth = 0
		}
	case scene.TypeCamera, scene.TypeScreen:
		s.Device = strings.TrimSpace(f.device.Text)
	}
	return s, nil
}

// showDialog puts the form in a dialog whose button runs confirm; the dialog
// stays open, saying why, while confirm refuses.
func (f *sourceForm) showDialog(title, button string, win fyne.Window, confirm func() error, closed func()) {
	ok := widget.NewButton(button, nil)
	ok.Importance = widget.HighImportance
	cancel := widget.NewButton(lang.L("Cancel"), nil)
	content := container.NewBorder(nil, container.NewVBox(f.errText, container.NewHBox(layout.NewSpacer(), cancel, ok, layout.NewSpacer())), nil, nil, f.fields)
	f.dialog = dialog.NewCustomWithoutButtons(title, content, win)
	ok.OnTapped = func() {
		if err := confirm(); err != nil {
			f.errText.SetText(err.Error())
			f.errText.Show()
			return
		}
		f.dialog.Hide()
	}
	cancel.OnTapped = f.dialog.Hide
	f.dialog.SetOnClosed(closed)
	f.dialog.Resize(fyne.NewSize(520, 380))
	f.dialog.Show()
}

// askAddLayer opens the dialog that adds a layer to the selected scene: a
// new source, or one of the collection's shown again (opened once however
// many layers show it).
func (p *scenesPanel) askAddLayer() {
	f := newSourceForm(p.col, nil, p.host.window, p.host.devices)
	p.adding = f
	f.showDialog(lang.L("Add a layer to {{.Scene}}", map[string]any{"Scene": strconv.Quote(p.selected().Name)}), lang.L("Add to scene"), p.host.window,
		func() error { return p.addLayer(f) }, func() { p.adding = nil })
}

// addLayer adds the layer the form describes on top of the selected scene
// and selects it.
func (p *scenesPanel) addLayer(f *sourceForm) error {
	var src scene.Source
	reuse := f.reusing()
	if reuse != "" {
		s, ok := p.col.Source(reuse)
		if !ok {
			return fmt.Errorf("source %q: %w", reuse, scene.ErrNotFound)
		}
		src = *s
	} else {
		var err error
		if src, err = f.source(); err != nil {
			return err
		}
	}
	layer := newLayerFor(p.col, src, reuse != "")
	add := p.inScene(func(sc *scene.Scene) error { return sc.AddLayer(layer) })
	err := p.tryEdit(false, func(c *scene.Collection) error {
		if reuse == "" {
			if err := c.AddSource(src); err != nil {
				return err
			}
		}
		return add(c)
	})
	if err != nil {
		return err
	}
	p.layer = len(p.selected().Layers) - 1
	p.show()
	return nil
}

// newLayerFor is where a new layer of src goes: where another layer shows
// the same source (a logo reused in another scene stays in its corner), a
// title-sized box for words, the whole canvas for anything else.
func newLayerFor(c *scene.Collection, src scene.Source, reuse bool) scene.Layer {
	if reuse {
		for _, sc := range c.Scenes {
			if i := slices.IndexFunc(sc.Layers, func(l scene.Layer) bool { return l.Source == src.Name }); i >= 0 {
				l := sc.Layers[i]
				l.Hidden = false
				if l.Opacity != nil { // the collection it came from keeps its own
					o := *l.Opacity
					l.Opacity = &o
				}
				return l
			}
		}
	}
	cw, ch := c.Canvas.Width, c.Canvas.Height
	if src.Type == scene.TypeText && src.Text != nil {
		size := src.Text.Size
		if size == 0 {
			size = scene.DefaultTextSize
		}
		// About a line of the text: the box then scales it little.
		h := int(math.Ceil(size*1.3)) + 2*(src.Text.OutlineWidth+src.Text.Padding)
		return scene.Layer{Source: src.Name, X: cw / 40, Y: ch / 30, Width: cw * 9 / 16, Height: min(h, ch), Fit: scene.FitInside}
	}
	return scene.Layer{Source: src.Name, Width: cw, Height: ch, Fit: scene.FitInside}
}

// askEditSource opens the selected layer's source in the form: what it
// changes shows in every layer and scene that shows the source.
func (p *scenesPanel) askEditSource() {
	l := p.selectedLayer()
	if l == nil {
		return
	}
	src, ok := p.col.Source(l.Source)
	if !ok {
		return
	}
	if scene.AudioOnly(src.Type) {
		// The form knows pictures only: saving a sound source through it
		// would turn it into a test pattern.
		dialog.ShowInformation(lang.L("Edit source {{.Source}}", map[string]any{"Source": strconv.Quote(src.Name)}),
			lang.L("{{.Type}} {{.Source}} is a sound: its settings are on its strip in the Mixer tab.",
				map[string]any{"Type": typeLabel(src.Type), "Source": strconv.Quote(src.Name)}),
			p.host.window)
		return
	}
	old := src.Name
	f := newSourceForm(p.col, src, p.host.window, p.host.devices)
	p.adding = f
	f.showDialog(lang.L("Edit source {{.Source}}", map[string]any{"Source": strconv.Quote(old)}), lang.L("Save"), p.host.window, func() error {
		next, err := f.source()
		if err != nil {
			return err
		}
		return p.tryEdit(false, func(c *scene.Collection) error {
			if err := c.RenameSource(old, next.Name); err != nil {
				return err
			}
			s, _ := c.Source(next.Name)
			*s = next
			return nil
		})
	}, func() { p.adding = nil })
}
