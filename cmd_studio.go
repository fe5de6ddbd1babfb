package main

import (
	"os"
	"os/signal"
	"strconv"
	"syscall"

	fyneapp "fyne.io/fyne/v2/app"

	"github.com/tallystudio/tally/app"
	"github.com/tallystudio/tally/assets"
	"github.com/tallystudio/tally/ui"
)

// appID matches FyneApp.toml; Fyne keys preferences and storage by it.
const appID = "io.github.tallystudio.tally"

func runStudio() int {
	if v, err := strconv.Atoi(os.Getenv("TALLY_PREVIEW_FPS")); err == nil {
		ui.PreviewFPS = v // for measuring the preview's cost
	}
	a := fyneapp.NewWithID(appID)
	a.SetIcon(assets.Icon)
	s := ui.NewStudio(a, app.NewEngine(nil), app.SystemKeyring{})
	// On SIGINT/SIGTERM Fyne ends its main loop itself; the stream is then
	// stopped cleanly below (unpublished, recording finished), as when the
	// window closes. A second signal quits at once.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		for n := 0; ; n++ {
			if _, ok := <-sigs; !ok {
				return
			}
			if n == 1 {
				os.Exit(exitSignal)
			}
		}
	}()
	s.Window.ShowAndRun()
	_ = s.Close()
	return exitOK
}
