package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// Every colour name Tally draws with has a value in both variants, and the
// theme answers Fyne's own names as Fyne does.
func TestThemeHasEveryColourInBothVariants(t *testing.T) {
	names := []fyne.ThemeColorName{colorMeterTrack, colorMeterRMS, colorMeterPeak, colorMeterClip, colorMeterText,
		colorPreviewBack, colorPreviewTitle, colorPreviewHint, colorGraphBack, colorGraphFill, colorLayerBox, colorSnapGuide}
	th := NewTheme()
	for _, v := range []fyne.ThemeVariant{theme.VariantDark, theme.VariantLight} {
		for _, n := range names {
			if _, ok := paletteColor(n, v); !ok {
				t.Errorf("%s has no colour in variant %d", n, v)
			}
			if _, _, _, a := th.Color(n, v).RGBA(); a == 0 {
				t.Errorf("the theme answers %s in variant %d with a transparent colour", n, v)
			}
		}
		if th.Color(theme.ColorNameForeground, v) != theme.DefaultTheme().Color(theme.ColorNameForeground, v) {
			t.Errorf("variant %d: Fyne's own foreground changed", v)
		}
	}
	if len(palettes[theme.VariantDark]) != len(names) || len(palettes[theme.VariantLight]) != len(names) {
		t.Errorf("palettes hold %d and %d colours; the test lists %d", len(palettes[theme.VariantDark]), len(palettes[theme.VariantLight]), len(names))
	}
}
