package main

import (
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/tallystudio/tally/app"
	"github.com/tallystudio/tally/assets"
	"github.com/tallystudio/tally/ui"
)

// appID matches FyneApp.toml; Fyne keys preferences and storage by it.
const appID = "io.github.tallystudio.tally"

func runStudio() int {
	a := fyneapp.NewWithID(appID)
	a.SetIcon(assets.Icon)
	s := ui.NewStudio(a, app.NewEngine(nil), app.SystemKeyring{})
	s.Window.ShowAndRun()
	_ = s.Close()
	return exitOK
}
