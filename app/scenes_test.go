package app

import (
	"errors"
	"image"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tallystudio/tally/scene"
)

// fakeCamera delivers grey frames at 100 fps whose brightness moves with
// each frame; after failAfter frames (0: never) it fails as an unplugged
// device does.
type fakeCamera struct {
	w, h      int
	failAfter int
	n         int
	once      sync.Once
	closed    chan struct{}
}

func newFakeCamera(w, h, failAfter int) *fakeCamera {
	return &fakeCamera{w: w, h: h, failAfter: failAfter, closed: make(chan struct{})}
}

var errUnplugged = errors.New("device unplugged")

func (c *fakeCamera) Read() (image.Image, func(), error) {
	select {
	case <-c.closed:
		return nil, nil, io.EOF
	case <-time.After(10 * time.Millisecond):
	}
	c.n++
	if c.failAfter > 0 && c.n > c.failAfter {
		return nil, nil, errUnplugged
	}
	img := image.NewYCbCr(image.Rect(0, 0, c.w, c.h), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = uint8(100 + c.n%100)
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = 128, 128
	}
	return img, nil, nil
}

func (c *fakeCamera) Close() error { c.once.Do(func() { close(c.closed) }); return nil }

// twoCameras is a 64x64 canvas: camera "left" on the left half, "right" on
// the right half.
func twoCameras(t *testing.T) *scene.Collection {
	t.Helper()
	col, err := scene.Parse([]byte(`{"version":1,"canvas":{"width":64,"height":64},
		"sources":[{"name":"left","type":"camera"},{"name":"right","type":"camera","device":"2"}],
		"scenes":[{"name":"main","layers":[
			{"source":"left","x":0,"y":0,"width":32,"height":64,"fit":"stretch"},
			{"source":"right","x":32,"y":0,"width":32,"height":64,"fit":"stretch"}]}]}`), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return col
}

// A layer whose device fails mid-stream shows its slate in its own box, the
// other layer keeps moving, and the window is told which source was lost.
func TestSceneLayerThatFailsShowsItsSlateWhileTheOthersMove(t *testing.T) {
	cams := map[string]*fakeCamera{"left": newFakeCamera(32, 64, 5), "right": newFakeCamera(32, 64, 0)}
	r, err := newSceneReaderWith(twoCameras(t), 30, quietLog(), func(src scene.Source, _ image.Point, _ int) (opened, error) {
		return opened{video: cams[src.Name]}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	var rights []uint8
	var left uint8
	deadline := time.Now().Add(10 * time.Second)
	for len(rights) < 10 && time.Now().Before(deadline) {
		img, release, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		y := img.(*image.YCbCr)
		var right uint8
		left, right = y.Y[y.YOffset(16, 32)], y.Y[y.YOffset(48, 32)]
		if release != nil {
			release()
		}
		if left == 40 { // the slate: the left camera is gone
			rights = append(rights, right)
		}
	}
	if len(rights) < 10 {
		t.Fatalf("the failed layer never showed its slate (left is Y%d)", left)
	}
	moved := 0
	for i := 1; i < len(rights); i++ {
		if rights[i] != rights[i-1] {
			moved++
		}
	}
	if moved < 5 {
		t.Errorf("the working layer stood still while the other showed its slate: %v", rights)
	}
	errs := strings.Join(r.sourceErrors(), "; ")
	if !strings.Contains(errs, `"left"`) || !strings.Contains(errs, errUnplugged.Error()) || strings.Contains(errs, `"right"`) {
		t.Errorf("source errors %q; want the left camera named, with why", errs)
	}
}

// A new version of the collection that keeps a source does not reopen it,
// and one that drops a source closes it.
func TestSceneCollectionEditsReopenOnlyWhatChanged(t *testing.T) {
	opens := map[string]int{}
	cams := map[string]*fakeCamera{}
	var mu sync.Mutex
	open := func(src scene.Source, _ image.Point, _ int) (opened, error) {
		mu.Lock()
		defer mu.Unlock()
		opens[src.Name]++
		cams[src.Name] = newFakeCamera(32, 64, 0)
		return opened{video: cams[src.Name]}, nil
	}
	col := twoCameras(t)
	r, err := newSceneReaderWith(col, 30, quietLog(), open)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	next := col.Clone()
	next.Scenes[0].Layers[1].X = 30 // moved: nothing to reopen
	if err := r.SetCollection(next); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if opens["left"] != 1 || opens["right"] != 1 {
		t.Errorf("moving a layer reopened sources: %v", opens)
	}
	right := cams["right"]
	mu.Unlock()
	if err := next.RemoveSource("right"); err != nil {
		t.Fatal(err)
	}
	if err := r.SetCollection(next); err != nil {
		t.Fatal(err)
	}
	select {
	case <-right.closed:
	case <-time.After(5 * time.Second):
		t.Error("a source the collection dropped is still open")
	}
}

// Switching to a scene the collection lacks is an error that says so, and
// leaves the scene on air.
func TestSceneSwitchToUnknownSceneKeepsTheSceneOnAir(t *testing.T) {
	r, err := newSceneReaderWith(twoCameras(t), 30, quietLog(), func(scene.Source, image.Point, int) (opened, error) {
		return opened{video: newFakeCamera(32, 64, 0)}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Switch("nope"); !errors.Is(err, ErrNoScene) {
		t.Errorf("switch to an unknown scene: %v, want ErrNoScene", err)
	}
	if r.Active() != "main" {
		t.Errorf("scene on air %q after a failed switch", r.Active())
	}
}

// A fade goes through the mix of both scenes: halfway, the picture is
// between the two, and after the fade it is the new scene alone.
func TestSceneFadePassesThroughTheMixOfBothScenes(t *testing.T) {
	col, err := scene.Parse([]byte(`{"version":1,"canvas":{"width":64,"height":64},
		"transition":{"kind":"fade","duration_ms":400},
		"sources":[{"name":"dark","type":"colour","colour":"#101010"},{"name":"light","type":"colour","colour":"#f0f0f0"}],
		"scenes":[{"name":"a","layers":[{"source":"dark"}]},{"name":"b","layers":[{"source":"light"}]}]}`), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r, err := newSceneReader(col, 30, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	luma := func() uint8 {
		img, release, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		y := img.(*image.YCbCr)
		return y.Y[y.YOffset(32, 32)]
	}
	for range 3 {
		luma()
	}
	dark := luma()
	if err := r.Switch("b"); err != nil {
		t.Fatal(err)
	}
	var seen []uint8
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		seen = append(seen, luma())
	}
	light := seen[len(seen)-1]
	between := 0
	for _, v := range seen {
		if v > dark+20 && v+20 < light {
			between++
		}
	}
	if light < dark+150 || between < 3 {
		t.Errorf("dark Y%d, then %v: want several frames between the two scenes and the light one at the end", dark, seen)
	}
}

// A tone whose frequency or clock changes is opened again: the sound it
// makes depends on them, where a fader's move keeps it playing.
func TestToneSettingsThatChangeItsSoundReopenIt(t *testing.T) {
	base := scene.Source{Name: "t", Type: scene.TypeTone, Frequency: 440}
	key := func(s scene.Source) string { return sourceKey(s, image.Pt(640, 360), 30) }
	freq, clock, gain := base, base, base
	freq.Frequency = 660
	clock.ClockPPM = 1000
	gain.Audio = &scene.Audio{GainDB: -6}
	if key(freq) == key(base) || key(clock) == key(base) {
		t.Error("a new frequency or clock keeps the tone open as it was")
	}
	if key(gain) != key(base) {
		t.Error("a fader's move reopens the tone")
	}
}
