package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// Tally's own colour names, beside Fyne's. Every colour the ui draws with
// itself (not through a standard widget) is one of these, with a light and a
// dark value in palettes below: the one place to change how Tally looks.
const (
	colorMeterTrack   fyne.ThemeColorName = "tallyMeterTrack"
	colorMeterRMS     fyne.ThemeColorName = "tallyMeterRMS"
	colorMeterPeak    fyne.ThemeColorName = "tallyMeterPeak"
	colorMeterClip    fyne.ThemeColorName = "tallyMeterClip"
	colorMeterText    fyne.ThemeColorName = "tallyMeterText"
	colorPreviewBack  fyne.ThemeColorName = "tallyPreviewBackground"
	colorPreviewTitle fyne.ThemeColorName = "tallyPreviewTitle"
	colorPreviewHint  fyne.ThemeColorName = "tallyPreviewHint"
	colorGraphBack    fyne.ThemeColorName = "tallyGraphBackground"
	colorGraphFill    fyne.ThemeColorName = "tallyGraphFill"
	colorLayerBox     fyne.ThemeColorName = "tallyLayerBox"
	colorSnapGuide    fyne.ThemeColorName = "tallySnapGuide"
)

// The preview and the meter stay dark in the light variant too, as a video
// monitor does: a picture is judged against black, not against white. The
// layer box and snap guides are drawn over the picture, so they are the same
// in both variants: bright enough to read over video, in hues a test pattern
// or a face rarely has.
var palettes = map[fyne.ThemeVariant]map[fyne.ThemeColorName]color.NRGBA{
	theme.VariantDark: {
		colorMeterTrack:   {R: 0x26, G: 0x29, B: 0x30, A: 0xff},
		colorMeterRMS:     {R: 0x3c, G: 0xc8, B: 0x64, A: 0xff},
		colorMeterPeak:    {R: 0xf0, G: 0xd0, B: 0x40, A: 0xff},
		colorMeterClip:    {R: 0xff, G: 0x40, B: 0x40, A: 0xff},
		colorMeterText:    {R: 0xc0, G: 0xc4, B: 0xcc, A: 0xff},
		colorPreviewBack:  {R: 0x12, G: 0x14, B: 0x1a, A: 0xff},
		colorPreviewTitle: {R: 0xd0, G: 0xd4, B: 0xdc, A: 0xff},
		colorPreviewHint:  {R: 0x8a, G: 0x90, B: 0x9c, A: 0xff},
		colorGraphBack:    {R: 0x1a, G: 0x1c, B: 0x22, A: 0xff},
		colorGraphFill:    {R: 0x3c, G: 0x8c, B: 0xe6, A: 0xff},
		colorLayerBox:     {R: 0xff, G: 0xa8, B: 0x1e, A: 0xff},
		colorSnapGuide:    {R: 0xe8, G: 0x4c, B: 0xe8, A: 0xff},
	},
	theme.VariantLight: {
		colorMeterTrack:   {R: 0x26, G: 0x29, B: 0x30, A: 0xff},
		colorMeterRMS:     {R: 0x2e, G: 0xa8, B: 0x52, A: 0xff},
		colorMeterPeak:    {R: 0xe0, G: 0xb8, B: 0x20, A: 0xff},
		colorMeterClip:    {R: 0xe8, G: 0x2c, B: 0x2c, A: 0xff},
		colorMeterText:    {R: 0x30, G: 0x34, B: 0x3c, A: 0xff},
		colorPreviewBack:  {R: 0x12, G: 0x14, B: 0x1a, A: 0xff},
		colorPreviewTitle: {R: 0xd0, G: 0xd4, B: 0xdc, A: 0xff},
		colorPreviewHint:  {R: 0x8a, G: 0x90, B: 0x9c, A: 0xff},
		colorGraphBack:    {R: 0xe8, G: 0xea, B: 0xee, A: 0xff},
		colorGraphFill:    {R: 0x28, G: 0x78, B: 0xd2, A: 0xff},
		colorLayerBox:     {R: 0xff, G: 0xa8, B: 0x1e, A: 0xff},
		colorSnapGuide:    {R: 0xe8, G: 0x4c, B: 0xe8, A: 0xff},
	},
}

// Theme is Fyne's default theme with Tally's colour names added.
type Theme struct{ fyne.Theme }

// NewTheme returns Tally's theme, for the application's settings.
func NewTheme() *Theme { return &Theme{Theme: theme.DefaultTheme()} }

// Color answers Tally's names from the palettes and the rest as Fyne does.
func (t *Theme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if c, ok := paletteColor(n, v); ok {
		return c
	}
	return t.Theme.Color(n, v)
}

func paletteColor(n fyne.ThemeColorName, v fyne.ThemeVariant) (color.NRGBA, bool) {
	p, ok := palettes[v]
	if !ok {
		p = palettes[theme.VariantDark]
	}
	c, ok := p[n]
	return c, ok
}

// colorOf is one of Tally's colours in the variant showing now. It does not
// depend on NewTheme being installed, so tests and embedders see the same.
func colorOf(n fyne.ThemeColorName) color.NRGBA {
	v := theme.VariantDark
	if a := fyne.CurrentApp(); a != nil {
		v = a.Settings().ThemeVariant()
	}
	c, _ := paletteColor(n, v)
	return c
}
