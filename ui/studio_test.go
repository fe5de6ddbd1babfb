package ui

import (
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/tallystudio/tally/app"
)

type fakeEngine struct{}

func (fakeEngine) About() app.BuildInfo {
	return app.BuildInfo{Tally: "1.2.3", Go: "go1.26", FFmpeg: "8.1"}
}

func TestStudioShowsNoSignalSlateAndBuildSummary(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	w := NewStudio(a, fakeEngine{})
	defer w.Close()
	if w.Title() != "Tally" {
		t.Errorf("title %q, want Tally", w.Title())
	}
	var texts []string
	for _, o := range test.LaidOutObjects(w.Content()) {
		if l, ok := o.(*widget.Label); ok {
			texts = append(texts, l.Text)
		}
	}
	want := "Tally 1.2.3 · go1.26 · FFmpeg 8.1"
	found := false
	for _, s := range texts {
		found = found || s == want
	}
	if !found {
		t.Errorf("no label %q among %q", want, texts)
	}
}
