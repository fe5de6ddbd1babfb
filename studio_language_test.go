package main

import (
	"context"
	"image"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
)

// The studio starts in each language Tally ships: under LANGUAGE=es, pt_BR
// and de the window opens, draws its preview and stays up (the German one
// saved as docs/screenshot-de.png by make screenshots). Which strings each
// language has is checked in package ui; this is the whole window in each.
func TestStudioOpensInEachLanguageUnderXvfb(t *testing.T) {
	x := requireXvfb(t)
	for _, c := range []struct{ language, locale, shot string }{
		{"es", "es_ES.UTF-8", "screenshot-es.png"}, {"pt_BR", "pt_BR.UTF-8", "screenshot-pt_BR.png"}, {"de", "de_DE.UTF-8", "screenshot-de.png"},
	} {
		t.Run(c.language, func(t *testing.T) {
			cfg := t.TempDir()
			settings := `{"Video":{"Source":"testpattern","Width":1280,"Height":720,"FPS":30,"Bitrate":2500000,` +
				`"KeyframeInterval":2000000000,"Encoder":"libx264","Preset":"veryfast","Profile":"high"},` +
				`"Audio":{"Source":"tone","SampleRate":48000,"Channels":2,"Bitrate":160000}}`
			writeStudioPrefs(t, cfg, settings, "Mixer")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			// LC_MESSAGES too: this test binary set it to C for itself (LANG is
			// C.UTF-8 here; see internal/localeenv), and the studio inherits it.
			st := startStudio(t, ctx, x, "FYNE_THEME=dark", "XDG_CONFIG_HOME="+cfg,
				"LANGUAGE="+c.language, "LANG="+c.locale, "LC_MESSAGES="+c.locale)
			shot := filepath.Join(t.TempDir(), c.shot)
			if c.language == "de" || os.Getenv("TALLY_SCREENSHOT_ALL") != "" {
				shot = screenshotPath(t, c.shot)
			}
			var colors int
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
				img, err := x.Screenshot(ctx, st.window, shot)
				if err != nil {
					t.Fatal(err)
				}
				// The preview's colour bars, at the top left, not its "no signal"
				// text: six of the bars' colours at least.
				b := img.Bounds()
				if colors = peers.DistinctHues(img, image.Rect(b.Min.X, b.Min.Y, b.Min.X+b.Dx()/2, b.Min.Y+b.Dy()/2), 6); colors >= 6 {
					break
				}
			}
			if colors < 6 {
				t.Fatalf("the window in %s shows no picture: %d colourful colours in %s\n%s", c.language, colors, shot, st.logs.String())
			}
			st.stopWith(t, syscall.SIGTERM)
		})
	}
}
