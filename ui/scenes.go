package ui

import (
	"errors"
	"fmt"
	"fyne.io/fyne/v2/lang"
	"image/color"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tallystudio/tally/scene"
)

// WithScenesFile makes the studio keep its scene collection in path instead
// of tally/scenes.json under os.UserConfigDir.
func WithScenesFile(path string) Option { return func(s *Studio) { s.scenesPath = path } }

// defaultScenesFile is where docs/SCENES.md says the studio keeps its
// collection; "" when the system names no configuration directory.
func defaultScenesFile() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "tally", "scenes.json")
}

// SceneShortcuts put scene 1…9 of the list on air: Ctrl+1 … Ctrl+9 (Cmd on
// macOS), as OBS users bind them.
var SceneShortcuts = func() (out [9]*desktop.CustomShortcut) {
	for i := range out {
		out[i] = &desktop.CustomShortcut{KeyName: fyne.KeyName(strconv.Itoa(i + 1)), Modifier: fyne.KeyModifierShortcutDefault}
	}
	return out
}()

// isSceneShortcut tells whether sc is one of SceneShortcuts.
func isSceneShortcut(sc fyne.Shortcut) bool {
	for _, s := range SceneShortcuts {
		if sc.ShortcutName() == s.ShortcutName() {
			return true
		}
	}
	return false
}

// scenesStart is the collection the studio starts with, and what the user
// is told about its file.
type scenesStart struct {
	col     *scene.Collection
	notice  string // what happened to the file; "" when it loaded
	save    bool   // the file may be written: false while it holds something Tally could not read
	saveNow bool   // write it at once: it does not exist yet
}

// asideLayout is the time in the name a broken scenes file is moved to.
const asideLayout = "20060102-150405"

// loadScenes reads the studio's collection from path. A file that is not
// there yet gives the default collection for a w x h output, to be saved. A
// file that is there but broken is never written over: it is moved aside
// (scenes.json.invalid-YYYYMMDD-HHMMSS) and the default takes its place, or,
// if it cannot be moved, the default is kept in memory only.
func loadScenes(path string, w, h int, now time.Time) scenesStart {
	if w < scene.MinCanvasSize || h < scene.MinCanvasSize || w%2 != 0 || h%2 != 0 ||
		w > scene.MaxCanvasWidth || h > scene.MaxCanvasHeight {
		w, h = 1280, 720
	}
	def := scene.Default(w, h)
	if path == "" {
		return scenesStart{col: def, notice: lang.L("There is no configuration folder to keep scenes in: edits last until Tally quits.")}
	}
	col, err := scene.Load(path)
	switch {
	case err == nil:
		return scenesStart{col: col, save: true}
	case errors.Is(err, scene.ErrInvalid):
		// Tested first: a collection naming a missing picture is both.
		aside, merr := moveAside(path, now)
		if merr != nil {
			return scenesStart{col: def, notice: fmt.Sprintf("%v\n%s", err, lang.L("Tally could not move the file aside ({{.Why}}), so it will not save over it: "+
				"edits last until Tally quits.", map[string]any{"Why": merr}))}
		}
		return scenesStart{col: def, save: true, saveNow: true, notice: fmt.Sprintf("%s\n%v", lang.L(
			"Your scenes file could not be read, so Tally started a new collection. The file is kept as {{.Aside}}: "+
				"fix it, then put it back as {{.Name}} while Tally is closed.", map[string]any{"Aside": aside, "Name": filepath.Base(path)}), err)}
	case errors.Is(err, fs.ErrNotExist):
		return scenesStart{col: def, save: true, saveNow: true}
	default:
		return scenesStart{col: def, notice: fmt.Sprintf("%v\n%s", err, lang.L("Tally will not save over that file: edits last until Tally quits."))}
	}
}

// moveAside renames a file Tally could not read to a name beside it that
// says when, and never over another file.
func moveAside(path string, now time.Time) (string, error) {
	base := path + ".invalid-" + now.Format(asideLayout)
	aside := base
	for n := 2; ; n++ {
		if _, err := os.Lstat(aside); errors.Is(err, fs.ErrNotExist) {
			break
		}
		aside = fmt.Sprintf("%s-%d", base, n)
	}
	return aside, os.Rename(path, aside)
}

// scenesHost is what the scenes panel asks of the studio.
type scenesHost struct {
	window fyne.Window
	// edited is called after each edit that changed the collection; live
	// says more are coming at once (a drag), so applying may be throttled.
	edited func(live bool)
	// useScenes makes the collection the program's video.
	useScenes func()
	// live tells whether a stream is on.
	live func() bool
	// devices lists the devices of a source type (camera, screen) by label.
	devices func(kind string) []string
	// viewChanged is called when what the preview overlay draws changed.
	viewChanged func()
}

// scenesPanel edits the scene collection: the list of scenes, the layers of
// the selected scene and the selected layer (layers.go).
//
// col is never changed in place. An edit is made on a clone that replaces
// col once it validates, so a collection handed to the engine or the saver
// is never written to again, and an edit that fails leaves nothing half done.
type scenesPanel struct {
	content *fyne.Container
	col     *scene.Collection
	host    scenesHost

	sel      string // the scene the layer list shows
	layer    int    // the selected layer as the collection counts (0 is the bottom); -1 for none
	onAir    string // the scene the engine says is on air; "" when the program is not the scenes
	scenesOn bool   // the program's video is the collection
	tabOpen  bool

	onAirLabel *widget.Label
	banner     *fyne.Container
	sceneRows  *fyne.Container
	layerHead  *widget.Label
	layerRows  *fyne.Container
	listKey    string // what the lists show; they are rebuilt only when it changes
	notice     *widget.Label
	status     *widget.Label
	editErr    string // the last edit refused
	applyErr   string // the engine refused the collection
	saveErr    string // the file could not be written
	lost       string // sources that failed while running

	renameScene, deleteScene, sceneUp, sceneDown *widget.Button
	transition                                   *widget.Select
	fadeMS                                       *numEntry
	filling                                      bool // show is setting the transition: not an edit
	removeLayer, layerUp, layerDown, editSource  *widget.Button
	props                                        *layerProps
	adding                                       *sourceForm // the add or edit dialog's form while it is open
}

func newScenesPanel(col *scene.Collection, host scenesHost) *scenesPanel {
	p := &scenesPanel{col: col, host: host, layer: -1}
	p.sel = col.ActiveScene().Name

	p.onAirLabel = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	bannerText := widget.NewLabel(lang.L("The program shows the video picked in the Sources tab, not these scenes."))
	bannerText.Wrapping = fyne.TextWrapWord
	bannerText.Importance = widget.WarningImportance
	p.banner = container.NewBorder(nil, nil, nil, widget.NewButton(lang.L("Show scenes"), host.useScenes), bannerText)

	p.sceneRows = container.NewVBox()
	add := widget.NewButtonWithIcon(lang.L("Add scene"), theme.ContentAddIcon(), p.addScene)
	p.renameScene = widget.NewButton(lang.L("Rename"), p.askRename)
	p.deleteScene = widget.NewButtonWithIcon(lang.L("Delete"), theme.DeleteIcon(), p.askDelete)
	p.sceneUp = widget.NewButtonWithIcon("", theme.MoveUpIcon(), func() { p.moveScene(-1) })
	p.sceneDown = widget.NewButtonWithIcon("", theme.MoveDownIcon(), func() { p.moveScene(1) })

	p.transition = widget.NewSelect([]string{lang.L("Cut"), lang.L("Fade")}, func(string) { p.commitTransition() })
	p.fadeMS = newNumEntry("ms", p.commitTransition)
	transition := widget.NewForm(widget.NewFormItem(lang.L("Transition"),
		container.NewGridWithColumns(2, p.transition, container.NewBorder(nil, nil, nil, widget.NewLabel(lang.L("ms")), p.fadeMS))))

	p.layerHead = widget.NewLabelWithStyle(lang.L("Layers"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	p.layerRows = container.NewVBox()
	addLayer := widget.NewButtonWithIcon(lang.L("Add layer"), theme.ContentAddIcon(), p.askAddLayer)
	p.removeLayer = widget.NewButtonWithIcon(lang.L("Remove"), theme.ContentRemoveIcon(), p.removeSelectedLayer)
	p.layerUp = widget.NewButtonWithIcon("", theme.MoveUpIcon(), func() { p.moveLayer(1) })
	p.layerDown = widget.NewButtonWithIcon("", theme.MoveDownIcon(), func() { p.moveLayer(-1) })
	p.editSource = widget.NewButton(lang.L("Edit source…"), p.askEditSource)
	p.props = newLayerProps(p)

	p.notice = widget.NewLabel("")
	p.notice.Wrapping = fyne.TextWrapWord
	p.notice.Importance = widget.WarningImportance
	p.status = widget.NewLabel("")
	p.status.Wrapping = fyne.TextWrapWord
	p.status.Importance = widget.DangerImportance

	p.content = container.NewVBox(
		p.notice,
		p.banner,
		column(lang.L("Scenes"), p.onAirLabel, p.sceneRows,
			container.NewHBox(add, p.renameScene, p.deleteScene, p.sceneUp, p.sceneDown), transition),
		widget.NewSeparator(),
		container.NewVBox(p.layerHead, p.layerRows,
			container.NewHBox(addLayer, p.removeLayer, p.layerUp, p.layerDown)),
		p.props.content,
		p.status)
	p.notice.Hide()
	p.show()
	return p
}

// edit changes the collection through fn, on a clone, and keeps the result
// when it validates; otherwise it shows why and keeps what was there. live
// says more edits follow at once (a drag). It tells whether the edit stood.
func (p *scenesPanel) edit(live bool, fn func(c *scene.Collection) error) bool {
	if err := p.tryEdit(live, fn); err != nil {
		p.editErr = err.Error()
		p.show()
		return false
	}
	return true
}

// tryEdit is edit for a dialog, which shows the error itself.
func (p *scenesPanel) tryEdit(live bool, fn func(c *scene.Collection) error) error {
	next := p.col.Clone()
	err := fn(next)
	if err == nil {
		next.Normalise()
		err = next.Validate()
	}
	if err != nil {
		return err
	}
	p.col, p.editErr = next, ""
	p.show()
	p.host.edited(live)
	return nil
}

// commitTransition applies the transition picked and the fade's length.
func (p *scenesPanel) commitTransition() {
	if p.filling {
		return
	}
	kind := scene.TransitionCut
	if p.transition.Selected == lang.L("Fade") {
		kind = scene.TransitionFade
	}
	ms, err := strconv.Atoi(strings.TrimSpace(p.fadeMS.Text))
	switch {
	case err != nil && kind == scene.TransitionFade:
		p.editErr = fmt.Sprintf("fade: a number of milliseconds, please (got %q)", p.fadeMS.Text)
		p.show()
		return
	case err != nil:
		ms = p.col.Transition.DurationMS
	case kind == scene.TransitionFade && ms == 0:
		ms = scene.DefaultFadeMS
	}
	if kind == p.col.Transition.Kind && ms == p.col.Transition.DurationMS {
		return
	}
	p.edit(false, func(c *scene.Collection) error {
		c.Transition = scene.Transition{Kind: kind, DurationMS: ms}
		return nil
	})
}

// selected is the scene the layer list shows; it is never nil, since a
// collection keeps a scene and the selection follows renames and removals.
func (p *scenesPanel) selected() *scene.Scene {
	if sc, ok := p.col.Scene(p.sel); ok {
		return sc
	}
	sc := p.col.ActiveScene()
	p.sel, p.layer = sc.Name, -1
	return sc
}

// selectedLayer is the selected layer of the selected scene, or nil.
func (p *scenesPanel) selectedLayer() *scene.Layer {
	sc := p.selected()
	if p.layer < 0 || p.layer >= len(sc.Layers) {
		p.layer = -1
		return nil
	}
	return &sc.Layers[p.layer]
}

// putOnAir selects a scene and puts it on air, live or not; the program's
// video becomes the scenes if it was something else, since that is what a
// click on a scene asks for.
func (p *scenesPanel) putOnAir(name string) {
	if name != p.sel {
		p.sel, p.layer = name, -1
	}
	if !p.scenesOn {
		p.host.useScenes()
	}
	p.edit(false, func(c *scene.Collection) error { return c.SetActive(name) })
}

// putOnAirAt puts the i-th scene of the list (0 is the first) on air.
func (p *scenesPanel) putOnAirAt(i int) {
	if i >= 0 && i < len(p.col.Scenes) {
		p.putOnAir(p.col.Scenes[i].Name)
	}
}

// addScene adds an empty scene and selects it. It goes on air only when
// nothing is streaming: an empty scene is black, and viewers should not see
// one because a scene was being prepared.
func (p *scenesPanel) addScene() {
	name := uniqueName("Scene", func(n string) bool { _, ok := p.col.Scene(n); return ok })
	if !p.edit(false, func(c *scene.Collection) error { return c.AddScene(name) }) {
		return
	}
	if p.host.live() {
		p.sel, p.layer = name, -1
		p.show()
		return
	}
	p.putOnAir(name)
}

func (p *scenesPanel) askRename() {
	old := p.selected().Name
	e := widget.NewEntry()
	e.SetText(old)
	d := dialog.NewForm(lang.L("Rename scene"), lang.L("Rename"), lang.L("Cancel"), []*widget.FormItem{widget.NewFormItem(lang.L("Name"), e)}, func(ok bool) {
		if ok {
			p.rename(old, strings.TrimSpace(e.Text))
		}
	}, p.host.window)
	d.Resize(fyne.NewSize(420, 160))
	d.Show()
	p.host.window.Canvas().Focus(e)
}

func (p *scenesPanel) rename(old, name string) {
	if p.edit(false, func(c *scene.Collection) error { return c.RenameScene(old, name) }) && p.sel == old {
		p.sel = name
		p.show()
	}
}

func (p *scenesPanel) askDelete() {
	name := p.selected().Name
	if len(p.col.Scenes) == 1 {
		p.editErr = lang.L("The last scene cannot be deleted: add another first.")
		p.show()
		return
	}
	msg := lang.L("Delete the scene {{.Scene}} and its {{.Layers}} layers?", map[string]any{"Scene": strconv.Quote(name), "Layers": len(p.selected().Layers)})
	if name == p.onAir && p.host.live() {
		msg += " " + lang.L("It is on air: the scene after it takes its place.")
	}
	dialog.NewConfirm(lang.L("Delete scene?"), msg, func(ok bool) {
		if ok {
			p.deleteSceneNamed(name)
		}
	}, p.host.window).Show()
}

func (p *scenesPanel) deleteSceneNamed(name string) {
	i := sceneIndex(p.col, name)
	if !p.edit(false, func(c *scene.Collection) error {
		if err := c.RemoveScene(name); err != nil {
			return err
		}
		dropUnused(c)
		return nil
	}) {
		return
	}
	p.sel, p.layer = p.col.Scenes[min(i, len(p.col.Scenes)-1)].Name, -1
	p.show()
}

// moveScene moves the selected scene by one place in the list.
func (p *scenesPanel) moveScene(by int) {
	name := p.selected().Name
	to := sceneIndex(p.col, name) + by
	if to < 0 || to >= len(p.col.Scenes) {
		return
	}
	p.edit(false, func(c *scene.Collection) error { return c.MoveScene(name, to) })
}

// dropUnused removes the sources no layer of any scene shows any more: as
// in OBS, a source goes with its last layer, so the list of sources to
// reuse holds only what is in use. Global sound (a microphone) needs no
// layer, and stays with its mixer settings.
func dropUnused(c *scene.Collection) {
	used := map[string]bool{}
	for _, sc := range c.Scenes {
		for _, l := range sc.Layers {
			used[l.Source] = true
		}
	}
	kept := c.Sources[:0]
	for _, s := range c.Sources {
		if used[s.Name] || (scene.HasSound(s.Type) && s.Audio.IsGlobal(s.Type)) {
			kept = append(kept, s)
		}
	}
	c.Sources = kept
}

// sceneIndex is the place of the scene with this name in the list, -1 for none.
func sceneIndex(c *scene.Collection, name string) int {
	for i, sc := range c.Scenes {
		if sc.Name == name {
			return i
		}
	}
	return -1
}

// uniqueName is base, or base 2, base 3… whichever is not taken.
func uniqueName(base string, taken func(string) bool) string {
	name := base
	for n := 2; taken(name); n++ {
		name = fmt.Sprintf("%s %d", base, n)
	}
	return name
}

// showOnAir takes the scene the engine reports on air (UI thread).
func (p *scenesPanel) showOnAir(name string) {
	if name != p.onAir {
		p.onAir = name
		p.show()
	}
}

// setScenesOn says whether the program's video is the collection (UI thread).
func (p *scenesPanel) setScenesOn(on bool) {
	if on != p.scenesOn {
		p.scenesOn = on
		p.show()
	}
}

// setTabOpen says whether the Scenes tab shows, which is when the preview
// offers its layer handles (UI thread).
func (p *scenesPanel) setTabOpen(open bool) {
	if open != p.tabOpen {
		p.tabOpen = open
		p.host.viewChanged()
	}
}

func (p *scenesPanel) setNotice(text string) {
	p.notice.SetText(text)
	p.setVisible(p.notice, text != "")
}

// setVisible shows or hides a part of the panel. The panel is laid out again
// when that changes: a box does not move what follows it out of the way by
// itself.
func (p *scenesPanel) setVisible(o fyne.CanvasObject, on bool) {
	if o.Visible() == on {
		return
	}
	setShown(o, on)
	if p.content != nil {
		p.content.Refresh()
	}
}

// setApplyError shows why the engine refused the collection, or clears it.
func (p *scenesPanel) setApplyError(err error) {
	p.applyErr = ""
	if err != nil {
		p.applyErr = err.Error()
	}
	p.showStatus()
}

// setSaveError shows why the file could not be written, or clears it.
func (p *scenesPanel) setSaveError(err error) {
	p.saveErr = ""
	if err != nil {
		p.saveErr = lang.L("Scenes not saved: {{.Why}}", map[string]any{"Why": err.Error()})
	}
	p.showStatus()
}

// setLost shows sources that failed while running.
func (p *scenesPanel) setLost(lost []string) {
	text := strings.Join(lost, "\n")
	if text != p.lost {
		p.lost = text
		p.showStatus()
	}
}

func (p *scenesPanel) showStatus() {
	var parts []string
	for _, s := range []string{p.editErr, p.applyErr, p.saveErr, p.lost} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if text := strings.Join(parts, "\n"); p.status.Text != text {
		p.status.SetText(text)
	}
}

// show brings the panel up to date with the collection and the selection
// (UI thread). The lists are rebuilt only when what they show changed: a
// drag updates the box many times a second and only the fields follow.
func (p *scenesPanel) show() {
	sc := p.selected()
	p.selectedLayer() // drops a selection the scene no longer has
	if key := p.lists(); key != p.listKey {
		p.listKey = key
		p.buildSceneRows()
		p.buildLayerRows(sc)
	}
	p.setVisible(p.banner, !p.scenesOn)
	p.setVisible(p.onAirLabel, p.scenesOn)
	onAir := lang.L("On air: {{.Scene}}", map[string]any{"Scene": p.onAir})
	if p.onAir == "" {
		onAir = lang.L("Starting…")
	}
	if p.onAirLabel.Text != onAir {
		p.onAirLabel.SetText(onAir)
	}
	if head := lang.L("Layers of {{.Scene}} (top first)", map[string]any{"Scene": strconv.Quote(sc.Name)}); p.layerHead.Text != head {
		p.layerHead.SetText(head)
	}
	p.filling = true
	if kind := map[string]string{scene.TransitionCut: lang.L("Cut"), scene.TransitionFade: lang.L("Fade")}[p.col.Transition.Kind]; p.transition.Selected != kind {
		p.transition.SetSelected(kind)
	}
	p.fadeMS.set(p.col.Transition.DurationMS)
	enable(p.fadeMS, p.col.Transition.Kind == scene.TransitionFade)
	p.filling = false
	enable(p.deleteScene, len(p.col.Scenes) > 1)
	i := sceneIndex(p.col, sc.Name)
	enable(p.sceneUp, i > 0)
	enable(p.sceneDown, i < len(p.col.Scenes)-1)
	hasLayer := p.layer >= 0
	enable(p.removeLayer, hasLayer)
	enable(p.editSource, hasLayer)
	enable(p.layerUp, hasLayer && p.layer < len(sc.Layers)-1)
	enable(p.layerDown, hasLayer && p.layer > 0)
	p.props.show()
	p.showStatus()
	p.host.viewChanged()
}

// lists sums up what the scene and layer lists show.
func (p *scenesPanel) lists() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\x00%s\x00%v\x00%d", p.sel, p.onAir, p.scenesOn, p.layer)
	for _, sc := range p.col.Scenes {
		b.WriteString("\x01" + sc.Name)
	}
	for _, l := range p.selected().Layers {
		fmt.Fprintf(&b, "\x02%s\x00%v", layerLabel(p.col, l), l.Hidden)
	}
	return b.String()
}

func (p *scenesPanel) buildSceneRows() {
	rows := make([]fyne.CanvasObject, 0, len(p.col.Scenes))
	for i, sc := range p.col.Scenes {
		text := sc.Name
		if i < len(SceneShortcuts) {
			text = fmt.Sprintf("%s   (%s%d)", sc.Name, shortcutPrefix(), i+1)
		}
		l := widget.NewLabel(text)
		l.Truncation = fyne.TextTruncateEllipsis
		if p.scenesOn && sc.Name == p.onAir {
			l.SetText("● " + text)
			l.Importance = widget.DangerImportance
			l.TextStyle.Bold = true
		}
		name := sc.Name
		rows = append(rows, newListRow(l, sc.Name == p.sel, func() { p.putOnAir(name) }))
	}
	p.sceneRows.Objects = rows
	p.sceneRows.Refresh()
}

// shortcutPrefix is how the system writes the shortcut modifier.
func shortcutPrefix() string {
	if runtime.GOOS == "darwin" {
		return "⌘"
	}
	return "Ctrl+"
}

func enable(w fyne.Disableable, on bool) {
	if on {
		w.Enable()
	} else {
		w.Disable()
	}
}

// listRow is a line of the scene or layer list: a tap on it (not on a
// control in it) calls onTap. The selected line has the theme's selection
// colour behind it.
type listRow struct {
	widget.BaseWidget
	bg      *canvas.Rectangle
	content fyne.CanvasObject
	onTap   func()
}

func newListRow(content fyne.CanvasObject, selected bool, onTap func()) *listRow {
	r := &listRow{bg: canvas.NewRectangle(color.Transparent), content: content, onTap: onTap}
	if selected {
		r.bg.FillColor = theme.Color(theme.ColorNameSelection)
	}
	r.bg.CornerRadius = theme.InputRadiusSize()
	r.ExtendBaseWidget(r)
	return r
}

func (r *listRow) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewStack(r.bg, r.content))
}

func (r *listRow) Tapped(*fyne.PointEvent) { r.onTap() }

// The studio's side of the collection: applying edits and saving them.

// liveApplyEvery is the most often a drag re-applies the collection: often
// enough that the program follows the pointer, seldom enough that the
// engine keeps up. The drag's end applies at once.
const liveApplyEvery = time.Second / 15

// saveDelay is how long the file waits after an edit before it is written,
// so that a drag or a run of typing is one save.
var saveDelay = 500 * time.Millisecond

// scenesEdited applies and saves the panel's collection after an edit (UI
// thread). It goes to the engine the way a source pick does, through
// applyLoop, off the UI thread and in order.
func (s *Studio) scenesEdited(live bool) {
	s.queueSave(s.scenes.col)
	if s.mixer != nil {
		s.mixer.show()
	}
	if s.applyTimer != nil {
		if live {
			return // the apply waiting its turn will take this edit too
		}
		s.applyTimer.Stop()
		s.applyTimer = nil
	}
	if wait := liveApplyEvery - time.Since(s.lastApply); live && wait > 0 {
		var t *time.Timer
		t = time.AfterFunc(wait, func() {
			runOnUI(func() {
				if s.applyTimer != t || s.ctx.Err() != nil {
					return // stopped, or overtaken by an apply at the drag's end
				}
				s.applyTimer, s.lastApply = nil, time.Now()
				s.applySources()
			})
		})
		s.applyTimer = t
		return
	}
	s.lastApply = time.Now()
	s.applySources()
}

// queueSave hands a version of the collection to saveLoop, replacing one it
// has not written yet.
func (s *Studio) queueSave(c *scene.Collection) {
	if !s.saveScenes {
		return
	}
	for {
		select {
		case s.saves <- c:
			return
		default:
		}
		select {
		case <-s.saves:
		default:
		}
	}
}

// saveLoop writes the collection saveDelay after the last edit, and what is
// still unwritten when the studio closes. Saving flushes to disk, which can
// take a while: it is never done on the UI thread.
func (s *Studio) saveLoop() {
	defer s.loops.Done()
	var pending *scene.Collection
	var due <-chan time.Time
	for {
		select {
		case c := <-s.saves:
			pending, due = c, time.After(saveDelay)
		case <-due:
			err := s.writeScenes(pending)
			pending, due = nil, nil
			if s.ctx.Err() == nil {
				runOnUI(func() { s.scenes.setSaveError(err) })
			}
		case <-s.ctx.Done():
			select {
			case c := <-s.saves:
				pending = c
			default:
			}
			if pending != nil {
				_ = s.writeScenes(pending)
			}
			return
		}
	}
}

func (s *Studio) writeScenes(c *scene.Collection) error {
	err := c.Save(s.scenesPath)
	if err != nil {
		s.log.Warn("scenes not saved", "file", s.scenesPath, "err", err)
	}
	return err
}

// devicesOf lists the devices of a source type as the collection names them:
// the labels the video picker offers for "camera:" or "screen:" (UI thread).
func (s *Studio) devicesOf(kind string) []string {
	var out []string
	for _, c := range s.sources.videoChoices {
		if name, ok := strings.CutPrefix(c.Spec, kind+":"); ok {
			out = append(out, name)
		}
	}
	return out
}

// showScene shows the scene the engine has on air (UI thread).
func (s *Studio) showScene(name string) {
	s.scenes.showOnAir(name)
	text := ""
	if name != "" {
		// The bar has room for a name, not for the longest one allowed.
		if r := []rune(name); len(r) > 32 {
			name = string(r[:31]) + "…"
		}
		text = lang.L("Scene: {{.Scene}}", map[string]any{"Scene": name})
	}
	if s.sceneLabel.Text != text {
		s.sceneLabel.SetText(text)
	}
}
