// Package assets holds Tally's embedded resources.
package assets

import (
	_ "embed"

	"fyne.io/fyne/v2"
)

//go:embed icon.png
var iconPNG []byte

// Icon is Tally's application icon (the same file FyneApp.toml names).
var Icon = fyne.NewStaticResource("icon.png", iconPNG)
