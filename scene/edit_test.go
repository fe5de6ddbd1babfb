package scene

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// threeScenes is a valid collection of scenes A, B and C with B on air.
func threeScenes(t *testing.T) *Collection {
	t.Helper()
	c := Default(1280, 720)
	c.Scenes[0].Name, c.Active = "A", "B"
	for _, name := range []string{"B", "C"} {
		if err := c.AddScene(name); err != nil {
			t.Fatal(err)
		}
	}
	mustValid(t, c)
	return c
}

func mustValid(t *testing.T, c *Collection) {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatalf("the edit left the collection invalid: %v", err)
	}
}

func sceneNames(c *Collection) []string {
	var names []string
	for _, s := range c.Scenes {
		names = append(names, s.Name)
	}
	return names
}

// TestAddSceneKeepsNamesUnique: a taken name is ErrExists, a bad one
// ErrInvalid, and the limit holds.
func TestAddSceneKeepsNamesUnique(t *testing.T) {
	c := threeScenes(t)
	if err := c.AddScene("B"); !errors.Is(err, ErrExists) {
		t.Errorf("a second B: got %v", err)
	}
	for _, bad := range []string{"", " B", "B\n", string(make([]byte, MaxNameLength+1))} {
		if err := c.AddScene(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: got %v", bad, err)
		}
	}
	for i := len(c.Scenes); i < MaxScenes; i++ {
		if err := c.AddScene(fmt.Sprint("scene ", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.AddScene("one too many"); !errors.Is(err, ErrInvalid) {
		t.Errorf("scene %d: got %v", MaxScenes+1, err)
	}
	mustValid(t, c)
}

// TestRenameSceneMovesActive: the scene on air stays on air under its new
// name.
func TestRenameSceneMovesActive(t *testing.T) {
	c := threeScenes(t)
	if err := c.RenameScene("B", "Bee"); err != nil {
		t.Fatal(err)
	}
	if c.Active != "Bee" || c.ActiveScene().Name != "Bee" {
		t.Errorf("active %q", c.Active)
	}
	if err := c.RenameScene("A", "C"); !errors.Is(err, ErrExists) {
		t.Errorf("onto C: got %v", err)
	}
	if err := c.RenameScene("Z", "Y"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Z: got %v", err)
	}
	if err := c.RenameScene("A", "A"); err != nil {
		t.Errorf("A to A: %v", err)
	}
	mustValid(t, c)
}

// TestRemoveScenePicksAnother: removing the scene on air puts its neighbour
// on; the last scene stays.
func TestRemoveScenePicksAnother(t *testing.T) {
	c := threeScenes(t)
	if err := c.RemoveScene("B"); err != nil {
		t.Fatal(err)
	}
	if c.Active != "C" {
		t.Errorf("after B: active %q, want C, which took its place", c.Active)
	}
	if err := c.RemoveScene("C"); err != nil {
		t.Fatal(err)
	}
	if c.Active != "A" {
		t.Errorf("after C, the last: active %q, want A, the one before", c.Active)
	}
	if err := c.RemoveScene("A"); !errors.Is(err, ErrInvalid) {
		t.Errorf("the last scene: got %v", err)
	}
	if err := c.RemoveScene("Z"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Z: got %v", err)
	}
	mustValid(t, c)

	// With Active "" (the first), removing the first puts the next on.
	c = threeScenes(t)
	c.Active = ""
	if err := c.RemoveScene("A"); err != nil {
		t.Fatal(err)
	}
	if c.ActiveScene().Name != "B" {
		t.Errorf("active %q, want B", c.ActiveScene().Name)
	}
	mustValid(t, c)
}

// TestMoveSceneKeepsWhatIsOnAir: reordering the list never switches scenes,
// even when Active is "" (the first).
func TestMoveSceneKeepsWhatIsOnAir(t *testing.T) {
	c := threeScenes(t)
	c.Active = ""
	if err := c.MoveScene("C", 0); err != nil {
		t.Fatal(err)
	}
	if got := sceneNames(c); !slices.Equal(got, []string{"C", "A", "B"}) {
		t.Errorf("order %v", got)
	}
	if c.ActiveScene().Name != "A" {
		t.Errorf("on air %q, want A still", c.ActiveScene().Name)
	}
	if err := c.MoveScene("C", 2); err != nil {
		t.Fatal(err)
	}
	if got := sceneNames(c); !slices.Equal(got, []string{"A", "B", "C"}) {
		t.Errorf("order %v", got)
	}
	for _, to := range []int{-1, 3} {
		if err := c.MoveScene("A", to); !errors.Is(err, ErrInvalid) {
			t.Errorf("to %d: got %v", to, err)
		}
	}
	if err := c.MoveScene("Z", 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("Z: got %v", err)
	}
	if err := c.SetActive("Z"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetActive Z: got %v", err)
	}
	mustValid(t, c)
}

// TestLayerEdits: add checks the layer and the limit; remove and move check
// the index and keep the others' order.
func TestLayerEdits(t *testing.T) {
	c := Default(1280, 720)
	s := &c.Scenes[0]
	for i := 1; i < 4; i++ {
		if err := s.AddLayer(Layer{Source: "Test pattern", X: i, Width: 100, Height: 100}); err != nil {
			t.Fatal(err)
		}
	}
	xs := func() []int {
		var out []int
		for _, l := range s.Layers {
			out = append(out, l.X)
		}
		return out
	}
	if err := s.MoveLayer(3, 0); err != nil {
		t.Fatal(err)
	}
	if got := xs(); !slices.Equal(got, []int{3, 0, 1, 2}) {
		t.Errorf("after moving 3 to the bottom: %v", got)
	}
	if err := s.MoveLayer(0, 2); err != nil {
		t.Fatal(err)
	}
	if got := xs(); !slices.Equal(got, []int{0, 1, 3, 2}) {
		t.Errorf("after moving 0 up to 2: %v", got)
	}
	if err := s.RemoveLayer(1); err != nil {
		t.Fatal(err)
	}
	if got := xs(); !slices.Equal(got, []int{0, 3, 2}) {
		t.Errorf("after removing 1: %v", got)
	}
	for _, bad := range [][2]int{{-1, 0}, {0, 3}} {
		if err := s.MoveLayer(bad[0], bad[1]); !errors.Is(err, ErrNotFound) {
			t.Errorf("move %v: got %v", bad, err)
		}
	}
	if err := s.RemoveLayer(3); !errors.Is(err, ErrNotFound) {
		t.Errorf("remove 3: got %v", err)
	}
	var e *Error
	if err := s.AddLayer(Layer{Source: "Test pattern", Width: -5, Height: 10}); !errors.As(err, &e) || e.Field != "layers[3].width" || !errors.Is(err, ErrInvalid) {
		t.Errorf("a negative width: got %v", err)
	}
	for len(s.Layers) < MaxLayers {
		if err := s.AddLayer(Layer{Source: "Test pattern"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddLayer(Layer{Source: "Test pattern"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("layer %d: got %v", MaxLayers+1, err)
	}
	mustValid(t, c)
}

// TestSourceEdits: a rename follows into the layers, a removal takes its
// layers with it, and an added source is checked.
func TestSourceEdits(t *testing.T) {
	c := Default(1280, 720)
	if err := c.AddSource(Source{Name: "bg", Type: "colour", Colour: "#000000"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Scenes[0].AddLayer(Layer{Source: "bg", Width: 10, Height: 10}); err != nil {
		t.Fatal(err)
	}
	if err := c.RenameSource("Test pattern", "Bars"); err != nil {
		t.Fatal(err)
	}
	if c.Scenes[0].Layers[0].Source != "Bars" {
		t.Errorf("the layer still shows %q", c.Scenes[0].Layers[0].Source)
	}
	mustValid(t, c)
	if err := c.RenameSource("Bars", "bg"); !errors.Is(err, ErrExists) {
		t.Errorf("onto bg: got %v", err)
	}
	if err := c.RemoveSource("Bars"); err != nil {
		t.Fatal(err)
	}
	if len(c.Sources) != 1 || len(c.Scenes[0].Layers) != 1 || c.Scenes[0].Layers[0].Source != "bg" {
		t.Errorf("after removing Bars: %+v", c)
	}
	mustValid(t, c)
	for _, bad := range []Source{
		{Name: "bg", Type: "test"},
		{Name: "", Type: "test"},
		{Name: "x", Type: "webcam"},
		{Name: "x", Type: "colour", Colour: "red"},
		{Name: "x", Type: "text"},
	} {
		if err := c.AddSource(bad); err == nil {
			t.Errorf("added %+v", bad)
		}
	}
	if err := c.RemoveSource("Bars"); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing Bars again: got %v", err)
	}
}

// TestCloneSharesNothing: editing a clone leaves the original as it was.
func TestCloneSharesNothing(t *testing.T) {
	half := 0.5
	c := Default(1280, 720)
	c.Sources = append(c.Sources, Source{Name: "t", Type: "text", Text: &Text{Text: "hi"}})
	c.Scenes[0].Layers = append(c.Scenes[0].Layers, Layer{Source: "t", Width: 10, Height: 10, Opacity: &half})
	orig := c.Clone()
	d := c.Clone()
	d.Sources[1].Text.Text = "changed"
	*d.Scenes[0].Layers[1].Opacity = 1
	d.Scenes[0].Layers[0].X = 99
	d.Scenes[0].Name = "changed"
	if err := d.AddScene("new"); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, orig) {
		t.Errorf("the original changed: %+v", c)
	}
}

// TestRandomEditsStayValid applies many random edits, each allowed to fail,
// and checks after each that the collection still validates.
func TestRandomEditsStayValid(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	c := Default(640, 360)
	name := func() string { return fmt.Sprint("n", r.IntN(6)) }
	for i := range 5000 {
		var op string
		switch r.IntN(10) {
		case 0:
			op, _ = "AddScene", c.AddScene(name())
		case 1:
			op, _ = "RenameScene", c.RenameScene(name(), name())
		case 2:
			op, _ = "RemoveScene", c.RemoveScene(name())
		case 3:
			op, _ = "MoveScene", c.MoveScene(name(), r.IntN(8)-1)
		case 4:
			op, _ = "SetActive", c.SetActive(name())
		case 5:
			op, _ = "AddSource", c.AddSource(Source{Name: name(), Type: TypeTest})
		case 6:
			op, _ = "RenameSource", c.RenameSource(name(), name())
		case 7:
			op, _ = "RemoveSource", c.RemoveSource(name())
		case 8:
			if len(c.Sources) > 0 {
				src := c.Sources[r.IntN(len(c.Sources))].Name
				op, _ = "AddLayer", c.Scenes[r.IntN(len(c.Scenes))].AddLayer(Layer{Source: src, X: r.IntN(600), Width: 1 + r.IntN(100), Height: 1 + r.IntN(100)})
			}
		case 9:
			s := &c.Scenes[r.IntN(len(c.Scenes))]
			op, _ = "MoveLayer", s.MoveLayer(r.IntN(4), r.IntN(4))
			_ = s.RemoveLayer(r.IntN(8))
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("edit %d (%s): %v", i, op, err)
		}
	}
}
