package ui

import (
	"bytes"
	"image"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/tallystudio/tally/app"
	"github.com/tallystudio/tally/scene"
)

// sceneEngine is an engine that opens nothing: it records the collections
// and scene switches the window asks for, and reports on air what it was
// last asked to put there.
type sceneEngine struct {
	*app.Engine
	mu       sync.Mutex
	applied  *scene.Collection // the last collection set with the scenes source
	sets     int               // SetSources calls with the scenes source
	switched []string
}

func (e *sceneEngine) SetSources(v app.VideoSettings, _ app.AudioSettings) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if v.Source == "scenes" {
		e.applied, e.sets = v.Scenes, e.sets+1
	}
	return nil
}

func (e *sceneEngine) SwitchScene(name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.switched) == 0 || e.switched[len(e.switched)-1] != name {
		e.switched = append(e.switched, name)
	}
	return nil
}

func (e *sceneEngine) Scene() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.switched) == 0 {
		return ""
	}
	return e.switched[len(e.switched)-1]
}

// Devices answers at once: probing the encoders is not what these tests are about.
func (e *sceneEngine) Devices() app.DeviceList {
	return app.DeviceList{Encoders: []string{"libx264"},
		Video: []app.SourceChoice{{Spec: "testpattern", Label: "Test pattern (colour bars)"}, {Spec: "none", Label: "No video"}},
		Audio: []app.SourceChoice{{Spec: "tone", Label: "Test tone (440 Hz, beep each second)"}, {Spec: "none", Label: "No audio"}}}
}

func (e *sceneEngine) RefreshDevices() app.DeviceList { return e.Devices() }

func (e *sceneEngine) last() (*scene.Collection, int, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.applied, e.sets, slices.Clone(e.switched)
}

// newSceneStudio opens the studio on a sceneEngine with its scenes in a
// file of the test's (written from col first, unless col is nil), the
// program set to the scenes and the Scenes tab open.
func newSceneStudio(t *testing.T, col *scene.Collection) (*Studio, *sceneEngine, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "scenes.json")
	if col != nil {
		if err := col.Save(path); err != nil {
			t.Fatal(err)
		}
	}
	a := test.NewApp()
	t.Cleanup(a.Quit)
	eng := &sceneEngine{Engine: app.NewEngine(nil)}
	var s *Studio
	onUI(func() { s = NewStudio(a, eng, &app.MemoryKeys{}, WithScenesFile(path), WithPreviewFPS(0)) })
	t.Cleanup(func() { _ = s.Close() })
	onUI(func() {
		s.sources.video.SetSelected(scenesChoice.Label)
		openTab(t, s, "Scenes")
	})
	return s, eng, path
}

func openTab(t *testing.T, s *Studio, title string) {
	t.Helper()
	for _, it := range s.tabs.Items {
		if it.Text == title {
			s.tabs.Select(it)
			return
		}
	}
	t.Fatalf("no tab %q", title)
}

// twoScenes is a collection with scenes "A" and "B" over a test pattern
// and a box, A on air.
func twoScenes() *scene.Collection {
	c := scene.Default(1280, 720)
	c.Scenes[0].Name, c.Active = "A", "A"
	c.Sources = append(c.Sources, scene.Source{Name: "Box", Type: scene.TypeColour, Colour: "#c03030"})
	c.Scenes[0].Layers = append(c.Scenes[0].Layers, scene.Layer{Source: "Box", X: 200, Y: 150, Width: 320, Height: 180, Fit: scene.FitInside})
	c.Scenes = append(c.Scenes, scene.Scene{Name: "B", Layers: []scene.Layer{{Source: "Box", Width: 1280, Height: 720, Fit: scene.FitStretch}}})
	return c
}

// rowText is what a scene or layer row says.
func rowText(o fyne.CanvasObject) string {
	var parts []string
	for _, obj := range test.LaidOutObjects(o) {
		if l, ok := obj.(*widget.Label); ok {
			parts = append(parts, l.Text)
		}
	}
	return strings.Join(parts, " ")
}

func rowTexts(c *fyne.Container) []string {
	var out []string
	for _, o := range c.Objects {
		out = append(out, rowText(o))
	}
	return out
}

// row is the list row whose text holds want.
func row(t *testing.T, c *fyne.Container, want string) *listRow {
	t.Helper()
	for _, o := range c.Objects {
		if r, ok := o.(*listRow); ok && strings.Contains(rowText(r), want) {
			return r
		}
	}
	t.Fatalf("no row %q among %q", want, rowTexts(c))
	return nil
}

// submit types a value into a field and presses Enter.
func submit(e *numEntry, v string) {
	e.SetText(v)
	e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
}

func encoded(t *testing.T, c *scene.Collection) []byte {
	t.Helper()
	b, err := c.Encode("")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A scene made in the tab, a colour behind a title placed by its fields, is
// what the engine gets and what the file holds.
func TestScenesTabBuildsATwoLayerSceneThatIsAppliedAndSaved(t *testing.T) {
	s, eng, path := newSceneStudio(t, nil)
	onUI(func() {
		tapButton(t, s, "Add scene")
		if s.scenes.sel != "Scene 2" || s.scenes.col.Active != "Scene 2" {
			t.Fatalf("after Add scene: selected %q, on air %q", s.scenes.sel, s.scenes.col.Active)
		}

		tapButton(t, s, "Add layer")
		f := s.scenes.adding
		f.kind.SetSelected("Colour")
		f.name.SetText("Backdrop")
		f.colour.SetText("#1D2939")
		tapButton(t, s, "Add to scene")
		lp := s.scenes.props
		submit(lp.w, "1280")
		submit(lp.h, "720")

		tapButton(t, s, "Add layer")
		f = s.scenes.adding
		f.kind.SetSelected("Text")
		f.name.SetText("Title")
		f.text.SetText("Hello")
		f.size.SetText("40")
		f.textColour.SetText("#ffcc00")
		tapButton(t, s, "Add to scene")
		submit(lp.x, "40")
		submit(lp.y, "30")
		submit(lp.w, "600")
		submit(lp.h, "80")
		if got := rowTexts(s.scenes.layerRows); len(got) != 2 || !strings.HasPrefix(got[0], "Title") || !strings.HasPrefix(got[1], "Backdrop") {
			t.Errorf("layer list %q, want the title on top of the backdrop", got)
		}
	})

	want := scene.Default(1280, 720)
	if err := want.AddScene("Scene 2"); err != nil {
		t.Fatal(err)
	}
	want.Active = "Scene 2"
	want.Sources = append(want.Sources,
		scene.Source{Name: "Backdrop", Type: scene.TypeColour, Colour: "#1d2939"},
		scene.Source{Name: "Title", Type: scene.TypeText, Text: &scene.Text{Text: "Hello", Size: 40, Colour: "#ffcc00"}})
	want.Scenes[1].Layers = []scene.Layer{
		{Source: "Backdrop", Width: 1280, Height: 720, Fit: scene.FitInside},
		{Source: "Title", X: 40, Y: 30, Width: 600, Height: 80, Fit: scene.FitInside},
	}
	wantFile := encoded(t, want)

	eventually(t, "the scene applied", func() bool {
		c, _, _ := eng.last()
		return c != nil && bytes.Equal(encoded(t, c), wantFile)
	})
	eventually(t, "the scene saved", func() bool {
		c, err := scene.Load(path)
		return err == nil && bytes.Equal(encoded(t, c), wantFile)
	})
	if _, _, switched := eng.last(); !slices.Contains(switched, "Scene 2") {
		t.Errorf("scene switches %q: the new scene was not put on air", switched)
	}
}

// A click on a scene puts it on air, and Ctrl+1 and Ctrl+2 the first and
// second scenes; the list and the state bar mark the scene on air.
func TestClickingASceneOrItsShortcutPutsItOnAir(t *testing.T) {
	s, eng, _ := newSceneStudio(t, twoScenes())
	onAir := func(name string) {
		t.Helper()
		eventually(t, name+" on air", func() bool {
			_, _, sw := eng.last()
			return len(sw) > 0 && sw[len(sw)-1] == name && s.sceneLabel.Text == "Scene: "+name &&
				strings.HasPrefix(rowText(row(t, s.scenes.sceneRows, name)), "● ")
		})
	}
	onAir("A")
	onUI(func() { test.Tap(row(t, s.scenes.sceneRows, "B")) })
	onAir("B")
	onUI(func() {
		if got := rowText(row(t, s.scenes.sceneRows, "A")); strings.HasPrefix(got, "●") {
			t.Errorf("A still marked on air: %q", got)
		}
		s.Window.Canvas().(fyne.Shortcutable).TypedShortcut(SceneShortcuts[0])
	})
	onAir("A")
	onUI(func() {
		// From a focused field too: it hands the scene shortcuts on.
		s.scenes.selectLayer(1)
		s.Window.Canvas().Focus(s.scenes.props.x)
		s.Window.Canvas().Focused().(fyne.Shortcutable).TypedShortcut(SceneShortcuts[1])
	})
	onAir("B")
	onUI(func() {
		// A shortcut the list has no scene for does nothing.
		s.Window.Canvas().(fyne.Shortcutable).TypedShortcut(SceneShortcuts[5])
		if s.scenes.col.Active != "B" {
			t.Errorf("Ctrl+6 with two scenes put %q on air", s.scenes.col.Active)
		}
	})
}

// A click on a scene while the program shows another video source puts the
// scenes on the program: that is what the click asks for.
func TestClickingASceneTurnsTheProgramToTheScenes(t *testing.T) {
	s, eng, _ := newSceneStudio(t, twoScenes())
	onUI(func() {
		s.sources.video.SetSelected("Test pattern (colour bars)")
		if !showing(s, "not these scenes") {
			t.Error("the Scenes tab does not say the program shows something else")
		}
		test.Tap(row(t, s.scenes.sceneRows, "B"))
		if s.sources.video.Selected != scenesChoice.Label {
			t.Errorf("video source %q after a click on a scene", s.sources.video.Selected)
		}
	})
	eventually(t, "B on air", func() bool { return eng.Scene() == "B" })
}

// overlayAt is the overlay's position in the window.
func overlayAt(s *Studio) fyne.Position {
	return fyne.CurrentApp().Driver().AbsolutePositionForObject(s.preview.overlay)
}

// Dragging the selected layer on the preview moves it by what the pointer
// moved in canvas pixels; dropped within 8 px of the canvas edge or centre
// line it lands exactly there; a click selects the top-most layer.
func TestDraggingOnThePreviewMovesAndSnapsTheLayer(t *testing.T) {
	s, eng, _ := newSceneStudio(t, twoScenes())
	o := s.preview.overlay
	var k float32
	var origin fyne.Position
	onUI(func() {
		origin, k = fitted(o.Size(), image.Pt(1280, 720))
		if k <= 0 {
			t.Fatalf("the preview is %v", o.Size())
		}
		if _, _, ok := o.BoxOnScreen(); ok {
			t.Error("a box is drawn with no layer selected")
		}
		// A click in the box selects it; one beside it the test pattern under it.
		abs := overlayAt(s)
		test.TapCanvas(s.Window.Canvas(), abs.Add(origin).AddXY(210*k, 160*k))
		if s.scenes.layer != 1 {
			t.Fatalf("a click on the box selected layer %d", s.scenes.layer)
		}
		if pos, size, ok := o.BoxOnScreen(); !ok || absDiff(pos.X, origin.X+200*k) > 0.5 || absDiff(size.Width, 320*k) > 0.5 {
			t.Errorf("box drawn at %v size %v, want at x %.1f width %.1f", pos, size, origin.X+200*k, 320*k)
		}
		test.TapCanvas(s.Window.Canvas(), abs.Add(origin).AddXY(1000*k, 600*k))
		if s.scenes.layer != 0 {
			t.Fatalf("a click beside the box selected layer %d", s.scenes.layer)
		}
		test.TapCanvas(s.Window.Canvas(), abs.Add(origin).AddXY(300*k, 200*k))
	})

	box := func() image.Rectangle {
		l := s.scenes.col.Scenes[0].Layers[1]
		return image.Rect(l.X, l.Y, l.X+l.Width, l.Y+l.Height)
	}
	drag := func(from image.Point, dx, dy int) {
		t.Helper()
		abs := overlayAt(s)
		test.Drag(s.Window.Canvas(), abs.Add(origin).AddXY(float32(from.X)*k, float32(from.Y)*k), float32(dx)*k, float32(dy)*k)
	}
	onUI(func() {
		drag(image.Pt(300, 200), 100, 50) // inside the box, near nothing to snap to
		if got, want := box(), image.Rect(300, 200, 620, 380); got != want {
			t.Errorf("moved to %v, want %v", got, want)
		}
		// Left edge to 5 px from the canvas's, centre 6 px below the canvas's.
		drag(image.Pt(400, 250), -295, 76)
		if got, want := box(), image.Rect(0, 270, 320, 450); got != want {
			t.Errorf("dropped near the edge and centre: %v, want snapped to %v", got, want)
		}
		// The bottom-right handle: 4 px short of the canvas centre line.
		drag(image.Pt(320, 450), 316, 0)
		if got, want := box(), image.Rect(0, 270, 640, 450); got != want {
			t.Errorf("resized to %v, want the right edge snapped to the centre: %v", got, want)
		}
	})
	eventually(t, "the box applied", func() bool {
		c, _, _ := eng.last()
		if c == nil {
			return false
		}
		l := c.Scenes[0].Layers[1]
		return l.X == 0 && l.Y == 270 && l.Width == 640 && l.Height == 180
	})
	onUI(func() {
		if s.scenes.props.x.Text != "0" || s.scenes.props.w.Text != "640" {
			t.Errorf("fields show x %s width %s", s.scenes.props.x.Text, s.scenes.props.w.Text)
		}
	})
}

func absDiff(a, b float32) float32 { return max(a-b, b-a) }

// A drag applies the collection at most about 15 times a second while it
// lasts, and once more when it ends with where it ended.
func TestDraggingAppliesThrottledAndOnceAtTheEnd(t *testing.T) {
	s, eng, _ := newSceneStudio(t, twoScenes())
	o := s.preview.overlay
	var k float32
	var origin fyne.Position
	onUI(func() {
		origin, k = fitted(o.Size(), image.Pt(1280, 720))
		s.scenes.selectLayer(1)
	})
	eventually(t, "the first apply", func() bool { _, n, _ := eng.last(); return n > 0 })
	time.Sleep(200 * time.Millisecond)
	_, before, _ := eng.last()
	start := time.Now()
	for i := range 40 {
		onUI(func() {
			ev := &fyne.DragEvent{Dragged: fyne.Delta{DX: 2 * k}}
			if i == 0 {
				ev.Position = origin.AddXY(300*k, 200*k)
			}
			o.Dragged(ev)
		})
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	time.Sleep(150 * time.Millisecond) // an apply waiting its turn lands
	_, during, _ := eng.last()
	onUI(o.DragEnd)
	eventually(t, "the end applied", func() bool {
		c, n, _ := eng.last()
		return n > during && c != nil && c.Scenes[0].Layers[1].X == 280
	})
	most := int(took.Seconds()*15) + 2
	if n := during - before; n > most || n < 2 {
		t.Errorf("%d applies during a %v drag, want 2..%d", n, took, most)
	}
}

// A scenes file that does not read is moved aside, byte for byte, and not
// written over; the panel names the file and the line, and the studio goes
// on with a new collection that it saves.
func TestInvalidScenesFileIsMovedAsideAndTheErrorShown(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "scenes.json")
	broken := []byte(`{
  "version": 1,
  "canvas": {"width": 1280, "height": 720},
  "sources": [{"name": "Bars", "type": "test"}],
  "scenes": [{"name": "Main", "layers": [{"source": "Bars", "width": -5, "height": 10}]}]
}
`)
	if err := os.WriteFile(path, broken, 0o644); err != nil {
		t.Fatal(err)
	}
	a := test.NewApp()
	defer a.Quit()
	var s *Studio
	onUI(func() {
		s = NewStudio(a, &sceneEngine{Engine: app.NewEngine(nil)}, &app.MemoryKeys{}, WithScenesFile(path), WithPreviewFPS(0))
	})
	defer s.Close()
	aside, _ := filepath.Glob(path + ".invalid-*")
	if len(aside) != 1 {
		t.Fatalf("files moved aside: %q", aside)
	}
	if !regexp.MustCompile(`scenes\.json\.invalid-\d{8}-\d{6}$`).MatchString(aside[0]) {
		t.Errorf("moved aside as %s", aside[0])
	}
	if got, _ := os.ReadFile(aside[0]); !bytes.Equal(got, broken) {
		t.Errorf("the file moved aside holds:\n%s", got)
	}
	onUI(func() {
		openTab(t, s, "Scenes")
		n := s.scenes.notice
		if !n.Visible() || !strings.Contains(n.Text, "scenes.json:5:") || !strings.Contains(n.Text, filepath.Base(aside[0])) ||
			!strings.Contains(n.Text, "width") {
			t.Errorf("the panel says %q; want the file, line and field, and where the file went", n.Text)
		}
		if len(s.scenes.col.Scenes) != 1 || s.scenes.col.Scenes[0].Name != "Scene" {
			t.Errorf("started with %+v, want the default collection", s.scenes.col.Scenes)
		}
	})
	eventually(t, "the new collection saved", func() bool {
		c, err := scene.Load(path)
		return err == nil && c.Scenes[0].Name == "Scene"
	})
	if got, _ := os.ReadFile(aside[0]); !bytes.Equal(got, broken) {
		t.Errorf("the file moved aside was written to")
	}
}

// Reordering layers in the list (top first) moves them in the collection
// (bottom first); unticking a layer hides it; removing the last layer of a
// source drops the source.
func TestReorderingHidingAndRemovingLayersChangeTheCollection(t *testing.T) {
	c := twoScenes()
	c.Sources = append(c.Sources, scene.Source{Name: "Title", Type: scene.TypeText, Text: &scene.Text{Text: "Hi"}})
	c.Scenes[0].Layers = append(c.Scenes[0].Layers, scene.Layer{Source: "Title", X: 10, Y: 10, Width: 400, Height: 80})
	s, eng, _ := newSceneStudio(t, c)
	order := func() []string {
		var out []string
		for _, l := range s.scenes.col.Scenes[0].Layers {
			out = append(out, l.Source)
		}
		return out
	}
	onUI(func() {
		got := rowTexts(s.scenes.layerRows)
		if len(got) != 3 || !strings.HasPrefix(got[0], "Title") || !strings.HasPrefix(got[2], "Test pattern") {
			t.Fatalf("layer list %q, want the top layer first", got)
		}
		test.Tap(row(t, s.scenes.layerRows, "Box"))
		test.Tap(s.scenes.layerUp)
		if got, want := order(), []string{"Test pattern", "Title", "Box"}; !slices.Equal(got, want) {
			t.Errorf("after moving Box up: %q, want %q", got, want)
		}
		if got := rowTexts(s.scenes.layerRows); !strings.HasPrefix(got[0], "Box") {
			t.Errorf("layer list %q, want Box on top", got)
		}
		test.Tap(s.scenes.layerDown)
		test.Tap(s.scenes.layerDown)
		if got, want := order(), []string{"Box", "Test pattern", "Title"}; !slices.Equal(got, want) {
			t.Errorf("after moving Box down twice: %q, want %q", got, want)
		}
		if s.scenes.layerDown.Disabled() != true {
			t.Error("the bottom layer can still move down")
		}

		// Untick the title.
		for _, o := range test.LaidOutObjects(row(t, s.scenes.layerRows, "Title")) {
			if ch, ok := o.(*widget.Check); ok {
				test.Tap(ch)
			}
		}
		if !s.scenes.col.Scenes[0].Layers[2].Hidden {
			t.Error("unticked, the title is not hidden")
		}
		test.Tap(row(t, s.scenes.layerRows, "Title"))
		test.Tap(s.scenes.removeLayer)
		if _, ok := s.scenes.col.Source("Title"); ok {
			t.Error("the title's source stays with no layer showing it")
		}
		if _, ok := s.scenes.col.Source("Box"); !ok {
			t.Error("Box's source went, and scene B still shows it")
		}
	})
	eventually(t, "the order applied", func() bool {
		c, _, _ := eng.last()
		return c != nil && len(c.Scenes[0].Layers) == 2 && c.Scenes[0].Layers[0].Source == "Box"
	})
}

// Deleting a scene asks first; the scene on air goes to its neighbour.
func TestDeletingASceneAsksFirst(t *testing.T) {
	s, eng, _ := newSceneStudio(t, twoScenes())
	onUI(func() { tapButton(t, s, "Delete") })
	eventually(t, "the question", func() bool { return showing(s, `Delete the scene "A"`) })
	onUI(func() {
		if len(s.scenes.col.Scenes) != 2 {
			t.Fatal("deleted before the answer")
		}
		tapButton(t, s, "Yes")
		if len(s.scenes.col.Scenes) != 1 || s.scenes.col.Active != "B" || s.scenes.sel != "B" {
			t.Errorf("after deleting A: %d scenes, %q on air, %q selected", len(s.scenes.col.Scenes), s.scenes.col.Active, s.scenes.sel)
		}
		if !s.scenes.deleteScene.Disabled() {
			t.Error("the last scene can be deleted")
		}
	})
	eventually(t, "B on air", func() bool { return eng.Scene() == "B" })
}

// A value the collection refuses is not applied: the panel says why and the
// field shows the value in force.
func TestAnInvalidFieldIsRefusedAndShown(t *testing.T) {
	s, _, _ := newSceneStudio(t, twoScenes())
	onUI(func() {
		s.scenes.selectLayer(1)
		submit(s.scenes.props.x, "5000") // the whole box off the canvas
		if s.scenes.col.Scenes[0].Layers[1].X != 200 {
			t.Errorf("x is %d", s.scenes.col.Scenes[0].Layers[1].X)
		}
		if !strings.Contains(s.scenes.status.Text, "canvas") || s.scenes.props.x.Text != "200" {
			t.Errorf("status %q, field %q", s.scenes.status.Text, s.scenes.props.x.Text)
		}
		submit(s.scenes.props.w, "wide")
		if !strings.Contains(s.scenes.status.Text, "whole number") {
			t.Errorf("status %q", s.scenes.status.Text)
		}
	})
}

// Renaming the scene on air keeps it on air under its new name.
func TestRenamingTheSceneOnAirKeepsItOnAir(t *testing.T) {
	s, eng, _ := newSceneStudio(t, twoScenes())
	eventually(t, "A on air", func() bool { return eng.Scene() == "A" })
	onUI(func() { tapButton(t, s, "Rename") })
	eventually(t, "the dialog", func() bool { return showing(s, "Rename scene") || dialogEntry(s) != nil })
	onUI(func() {
		dialogEntry(s).SetText("Main")
		tapButton(t, s, "Rename") // the dialog's, found before the panel's
		if s.scenes.sel != "Main" || s.scenes.col.Active != "Main" {
			t.Errorf("after renaming A: selected %q, on air %q", s.scenes.sel, s.scenes.col.Active)
		}
	})
	eventually(t, "Main on air", func() bool { return eng.Scene() == "Main" && s.sceneLabel.Text == "Scene: Main" })
}

// dialogEntry is the entry of the dialog showing, or nil.
func dialogEntry(s *Studio) *widget.Entry {
	for _, o := range s.Window.Canvas().Overlays().List() {
		for _, obj := range test.LaidOutObjects(o) {
			if e, ok := obj.(*widget.Entry); ok {
				return e
			}
		}
	}
	return nil
}

// With the real engine, the scene a click puts on air is what the preview
// shows: the program is the composition.
func TestTheSceneOnAirIsWhatThePreviewShows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scenes.json")
	c := twoScenes()
	c.Canvas = scene.Size{Width: 320, Height: 180}
	c.Scenes[0].Layers[0].Width, c.Scenes[0].Layers[0].Height = 320, 180
	c.Scenes[0].Layers[1] = scene.Layer{Source: "Box", X: 10, Y: 10, Width: 40, Height: 40, Fit: scene.FitStretch}
	c.Scenes[1].Layers[0].Width, c.Scenes[1].Layers[0].Height = 320, 180
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	a := test.NewApp()
	defer a.Quit()
	eng := app.NewEngine(nil)
	var s *Studio
	onUI(func() { s = NewStudio(a, eng, &app.MemoryKeys{}, WithScenesFile(path)) })
	defer s.Close()
	onUI(func() {
		s.output.size.SetSelected("640x360")
		s.sources.video.SetSelected(scenesChoice.Label)
	})
	redInTheMiddle := func() bool {
		img, ok := s.preview.img.Image.(*image.RGBA)
		if !ok {
			return false
		}
		b := img.Bounds()
		px := img.RGBAAt(b.Dx()/2, b.Dy()/2)
		return px.R > 0xa0 && px.G < 0x60 && px.B < 0x60
	}
	eventually(t, "the preview of A", func() bool { return s.preview.HasSignal() && eng.Scene() == "A" })
	time.Sleep(200 * time.Millisecond)
	onUI(func() {
		if redInTheMiddle() {
			t.Fatal("A, the test pattern, is red in the middle: the test cannot tell B from it")
		}
		test.Tap(row(t, s.scenes.sceneRows, "B"))
	})
	eventually(t, "B, all red, in the preview", func() bool { return eng.Scene() == "B" && redInTheMiddle() })
}

// Editing a source changes what the form shows and keeps what it does not
// (a text's box behind it, written in the file by hand); a new name follows
// into the layers that show it.
func TestEditingASourceKeepsWhatTheFormDoesNotShow(t *testing.T) {
	c := twoScenes()
	c.Sources = append(c.Sources, scene.Source{Name: "Title", Type: scene.TypeText,
		Text: &scene.Text{Text: "Hi", Background: "#000000b0", Padding: 16}})
	c.Scenes[0].Layers = append(c.Scenes[0].Layers, scene.Layer{Source: "Title", X: 10, Y: 10, Width: 400, Height: 80})
	s, eng, _ := newSceneStudio(t, c)
	onUI(func() {
		test.Tap(row(t, s.scenes.layerRows, "Title"))
		tapButton(t, s, "Edit source…")
		f := s.scenes.adding
		if f == nil || f.text.Text != "Hi" || f.kind.Selected != "Text" {
			t.Fatalf("the form shows %+v", f)
		}
		f.text.SetText("Hello")
		f.name.SetText("Caption")
		tapButton(t, s, "Save")
		src, ok := s.scenes.col.Source("Caption")
		if !ok || src.Text.Text != "Hello" || src.Text.Background != "#000000b0" || src.Text.Padding != 16 {
			t.Errorf("the source after the edit: %+v %+v", src, src.Text)
		}
		if l := s.scenes.col.Scenes[0].Layers[2]; l.Source != "Caption" {
			t.Errorf("the layer shows %q", l.Source)
		}
	})
	eventually(t, "the edit applied", func() bool {
		c, _, _ := eng.last()
		if c == nil {
			return false
		}
		src, ok := c.Source("Caption")
		return ok && src.Text.Text == "Hello"
	})
}

// A sound layer is named by what it is, and "Edit source…" on it sends the
// user to the Mixer tab instead of opening a picture form that would save
// the tone as a test pattern.
func TestEditingASoundLayerLeavesItASound(t *testing.T) {
	c := twoScenes()
	c.Sources = append(c.Sources, scene.Source{Name: "Beep", Type: scene.TypeTone, Frequency: 660})
	c.Scenes[0].Layers = append(c.Scenes[0].Layers, scene.Layer{Source: "Beep"})
	s, _, _ := newSceneStudio(t, c)
	onUI(func() {
		r := row(t, s.scenes.layerRows, "Beep")
		if !strings.Contains(rowText(r), "Tone") {
			t.Errorf("the layer reads %q, want its type named", rowText(r))
		}
		test.Tap(r)
		tapButton(t, s, "Edit source…")
		if s.scenes.adding != nil {
			t.Error("the picture form opened for a tone")
		}
		if src, _ := s.scenes.col.Source("Beep"); src.Type != scene.TypeTone || src.Frequency != 660 {
			t.Errorf("the source is now %+v", src)
		}
	})
}
