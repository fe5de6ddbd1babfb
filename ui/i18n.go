package ui

import (
	"embed"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"
)

// The window's strings, translated: English (the keys themselves), Spanish,
// Brazilian Portuguese and German. Fyne picks the one nearest the system's
// locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), English when none is near.
// A string is its own key, so a missing translation shows the English.
//
//go:embed translations
var translations embed.FS

func init() {
	// Package-level tables are built before this runs, which is why they
	// hold keys (textKey) and translate where they are shown.
	if err := lang.AddTranslationsFS(translations, "translations"); err != nil {
		fyne.LogError("loading Tally's translations", err)
	}
}

// textKey marks a string that is translated where it is shown, with
// lang.L, rather than where it is written: for package-level tables, and
// for values that are compared with what a picker shows.
func textKey(s string) string { return s }
