package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"github.com/go-gl/glfw/v3.3/glfw"

	"github.com/tallystudio/tally/app"
	"github.com/tallystudio/tally/assets"
	"github.com/tallystudio/tally/ui"
)

// appID matches FyneApp.toml; Fyne keys preferences and storage by it.
const appID = "io.github.tallystudio.tally"

func runStudio(stderr io.Writer) (code int) {
	if err := findDisplay(); err != nil {
		reportNoDisplay(stderr, err)
		return exitNoDisplay
	}
	// findDisplay cannot see a display that answers and then refuses us (an
	// X server without our credentials): GLFW's init fails, and Fyne's first
	// window panics with GLFW's error. That panic, and only that one, gets the
	// same answer as no display at all.
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		var ge *glfw.Error
		if err, ok := r.(error); !ok || !errors.As(err, &ge) {
			panic(r)
		}
		reportNoDisplay(stderr, fmt.Errorf("%w: the window system answered but would not open a window", errNoDisplay))
		code = exitNoDisplay
	}()
	var opts []ui.Option
	if v, err := strconv.Atoi(os.Getenv("TALLY_PREVIEW_FPS")); err == nil {
		opts = append(opts, ui.WithPreviewFPS(v)) // for measuring the preview's cost
	}
	limitSoftwareGL()
	a := fyneapp.NewWithID(appID)
	a.SetIcon(assets.Icon)
	a.Settings().SetTheme(ui.NewTheme())
	// Asked before NewStudio, which saves settings: a first run then
	// offers the setup over the window.
	firstRun := ui.FirstRun(a.Preferences())
	s := ui.NewStudio(a, app.NewEngine(nil), app.SystemKeyring{}, opts...)
	if firstRun {
		s.OfferSetup()
	}
	// SIGINT/SIGTERM end the main loop; the stream is then stopped cleanly
	// below (unpublished, recording finished), as when the window closes, and
	// a second signal meanwhile quits at once. The watcher is released on
	// return, after the stream has stopped.
	defer onInterrupt(stderr, "tally", func() { quitMainLoop(a) })()
	s.Window.ShowAndRun()
	_ = s.Close()
	return exitOK
}

// reportNoDisplay is the whole answer to `tally` without a display: one line,
// with the way to stream headless.
func reportNoDisplay(stderr io.Writer, err error) {
	fmt.Fprintf(stderr, "tally: %v. The studio needs a desktop; to stream without a window, use tally stream (tally stream -h).\n", err)
}

// quitMainLoop asks Fyne's main loop to end, as Fyne's own signal handler
// does. That handler is not enough: it registers from a goroutine the loop
// starts, so a signal soon after the window maps can reach ours alone, and
// the studio used to keep running. If the loop is already shutting down,
// Fyne may have closed its queue and the post panics; the loop is ending
// then anyway, which is all this asks.
func quitMainLoop(a fyne.App) {
	defer func() { _ = recover() }()
	fyne.Do(a.Driver().Quit)
}

// limitSoftwareGL keeps Mesa's software renderer (llvmpipe, what a machine
// without a GPU draws the window with) to one thread unless the user chose
// otherwise. By default it starts one per core and wakes them all for every
// repaint, taking each core away from the decoders and the encoder for
// milliseconds thirty times a second: the program then misses frames (3
// runs of the studio live with a two-layer scene on 2 cores: 29, 71 and 60
// repeated frames in 20 s with every core, 9, 28 and 19 with one) while the
// window costs no less CPU. A hardware driver ignores the variable.
func limitSoftwareGL() {
	if _, set := os.LookupEnv("LP_NUM_THREADS"); !set {
		_ = os.Setenv("LP_NUM_THREADS", "1")
	}
}
