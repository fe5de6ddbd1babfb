package scene

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// entries lists a directory's names.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	list, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range list {
		names = append(names, e.Name())
	}
	return names
}

// TestSaveKeepsTheOldFileWhenTheRenameFails: the old file is as it was and
// the temporary file is gone.
func TestSaveKeepsTheOldFileWhenTheRenameFails(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "scenes.json")
	old := []byte("the old collection\n")
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	failure := errors.New("the disk said no")
	rename = func(string, string) error { return failure }
	t.Cleanup(func() { rename = os.Rename })

	if err := Default(1280, 720).Save(path); !errors.Is(err, failure) {
		t.Fatalf("got %v, want the rename's error", err)
	}
	if data, err := os.ReadFile(path); err != nil || string(data) != string(old) {
		t.Errorf("the old file is now %q (%v)", data, err)
	}
	if got := entries(t, dir); !slices.Equal(got, []string{"scenes.json"}) {
		t.Errorf("left behind: %v", got)
	}
}

// TestSaveOntoADirectoryFails: a directory where the file should be stays,
// with what it holds, and no temporary file is left.
func TestSaveOntoADirectoryFails(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "scenes.json")
	if err := os.MkdirAll(filepath.Join(path, "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Default(1280, 720).Save(path); err == nil {
		t.Fatal("saved over a directory")
	}
	if fi, err := os.Stat(filepath.Join(path, "inside")); err != nil || !fi.IsDir() {
		t.Errorf("the directory changed: %v", err)
	}
	if got := entries(t, dir); !slices.Equal(got, []string{"scenes.json"}) {
		t.Errorf("left behind: %v", got)
	}
}

// TestSaveReplacesTheFile: the new collection replaces the old, the file
// keeps its permissions, and no temporary file is left.
func TestSaveReplacesTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "scenes.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Default(1920, 1080)
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Canvas != (Size{1920, 1080}) {
		t.Errorf("canvas %v", got.Canvas)
	}
	if fi, err := os.Stat(path); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) {
		t.Errorf("mode %v (%v), want 0600 kept", fi.Mode(), err)
	}
	if names := entries(t, dir); !slices.Equal(names, []string{"scenes.json"}) {
		t.Errorf("left behind: %v", names)
	}
}

// TestSaveMakesTheDirectory: the studio's first save makes its config
// directory.
func TestSaveMakesTheDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tally", "scenes.json")
	if err := Default(1280, 720).Save(path); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err != nil {
		t.Fatal(err)
	}
}

// TestSaveRefusesAnInvalidCollection: nothing is written, and the error
// names the file and field.
func TestSaveRefusesAnInvalidCollection(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "scenes.json")
	c := Default(1280, 720)
	c.Scenes[0].Layers[0].Source = "nothing"
	err := c.Save(path)
	var e *Error
	if !errors.Is(err, ErrInvalid) || !errors.As(err, &e) || e.File != path || e.Field != "scenes[0].layers[0].source" {
		t.Errorf("got %v", err)
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("wrote %v", names)
	}
}

// TestSaveDoesNotNeedTheFiles: an image that went missing does not stop a
// save (Load will say it is missing).
func TestSaveDoesNotNeedTheFiles(t *testing.T) {
	dir := t.TempDir()
	c := Default(1280, 720)
	if err := c.AddSource(Source{Name: "logo", Type: TypeImage, Path: filepath.Join(dir, "gone.png")}); err != nil {
		t.Fatal(err)
	}
	if err := c.Scenes[0].AddLayer(Layer{Source: "logo", Width: 100, Height: 100}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "scenes.json")
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); !errors.Is(err, ErrInvalid) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("load: got %v, want the missing image", err)
	}
}
