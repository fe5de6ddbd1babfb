// Package ui is Tally's Fyne user interface. It talks only to the studio engine
// (package app), through the Engine interface, never to capture, encode or rtmpclient.
package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/tallystudio/tally/app"
	"github.com/tallystudio/tally/assets"
)

// Engine is what the window needs from the studio engine.
type Engine interface {
	About() app.BuildInfo
}

// Title is the studio window's title; tests find the window by it.
const Title = "Tally"

// NewStudio builds the studio window. It does not show it.
func NewStudio(a fyne.App, eng Engine) fyne.Window {
	w := a.NewWindow(Title)
	w.SetIcon(assets.Icon)

	w.SetContent(container.NewBorder(nil, statusBar(eng.About()), nil, nil,
		container.NewHSplit(previewSlate(), sidePanel())))
	w.Resize(fyne.NewSize(1100, 680))
	return w
}

// previewSlate is what the preview shows while no source is live: a dark frame with
// a clear "no signal" message rather than an empty area that looks like a hang.
func previewSlate() fyne.CanvasObject {
	bg := canvas.NewRectangle(color.NRGBA{R: 0x12, G: 0x14, B: 0x1a, A: 0xff})
	msg := canvas.NewText("No signal", color.NRGBA{R: 0xd0, G: 0xd4, B: 0xdc, A: 0xff})
	msg.TextSize = 28
	msg.TextStyle = fyne.TextStyle{Bold: true}
	hint := canvas.NewText("Choose a video source to see the preview", color.NRGBA{R: 0x8a, G: 0x90, B: 0x9c, A: 0xff})
	return container.NewStack(bg, container.NewCenter(container.NewVBox(
		container.NewCenter(msg), container.NewCenter(hint))))
}

func sidePanel() fyne.CanvasObject {
	live := widget.NewButton("Go Live", nil)
	live.Importance = widget.DangerImportance
	live.Disable() // enabled once a destination is configured
	return container.NewVBox(
		widget.NewLabelWithStyle("Destination", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		widget.NewLabel("No destination configured"),
		layout.NewSpacer(),
		live,
	)
}

func statusBar(b app.BuildInfo) fyne.CanvasObject {
	return container.NewHBox(widget.NewLabel("Idle"), layout.NewSpacer(), widget.NewLabel(b.Summary()))
}
