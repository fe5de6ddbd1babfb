package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
	"github.com/tallystudio/tally/scene"
)

// The real studio in a real X server with the Mixer tab open on
// docs/scenes/sound.json, its sound the mix: the two tones' strips and the
// master's meters move (saved as docs/screenshot-mixer.png by make
// screenshots); F9 held on the keyboard opens the push-to-talk microphone,
// through the window's own key events, and letting it go closes it; the
// studio quits cleanly.
func TestStudioMixerUnderXvfb(t *testing.T) {
	x := requireXvfb(t)

	cfg := t.TempDir()
	col, err := scene.Load(filepath.Join("docs", "scenes", "sound.json"))
	if err != nil {
		t.Fatal(err)
	}
	// A third tone, muted, shows how a muted strip looks. The microphone
	// is push to talk, so whatever device the machine has stays silent
	// unless the test holds the key.
	if err := errors.Join(
		col.AddSource(scene.Source{Name: "Alert", Type: scene.TypeTone, Frequency: 1200,
			Audio: &scene.Audio{GainDB: -20, Muted: true, Global: new(true)}}),
		col.AddSource(scene.Source{Name: "Microphone", Type: scene.TypeMicrophone,
			Audio: &scene.Audio{Push: scene.PushTalk, PushKey: "F9"}})); err != nil {
		t.Fatal(err)
	}
	if err := col.Save(filepath.Join(cfg, "tally", "scenes.json")); err != nil {
		t.Fatal(err)
	}
	settings := `{"Video":{"Source":"scenes","Width":1280,"Height":720,"FPS":30,"Bitrate":2500000,` +
		`"KeyframeInterval":2000000000,"Encoder":"libx264","Preset":"veryfast","Profile":"high"},` +
		`"Audio":{"Source":"scenes","SampleRate":48000,"Channels":2,"Bitrate":160000},` +
		`"Destinations":[{"ID":"dest-xvfb","Service":"local"}]}`

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	st := startReturningStudio(t, ctx, x, cfg, settings, "Mixer")
	shot := screenshotPath(t, "screenshot-mixer.png")
	// The tab is the right part of the window; its meters' bars are the
	// meter colour (ui/theme.go's colorMeterRMS) only when sound moves them.
	var bars int
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		img, err := x.Screenshot(ctx, st.window, shot)
		if err != nil {
			t.Fatal(err)
		}
		b := img.Bounds()
		if bars = meterPixels(img, image.Rect(b.Min.X+b.Dx()*63/100, b.Min.Y, b.Max.X, b.Max.Y)); bars > 1500 {
			break
		}
	}
	if bars <= 1500 {
		t.Errorf("the mixer's meters do not move: %d pixels of bar in %s\n%s", bars, shot, st.logs.String())
	}

	// The microphone's strip says "● Talking" in the success colour while
	// F9 is held, and nothing is in that colour otherwise.
	talking := func() int {
		img, err := x.Screenshot(ctx, st.window, filepath.Join(t.TempDir(), "ptt.png"))
		if err != nil {
			t.Fatal(err)
		}
		return successPixels(img)
	}
	if n := talking(); n > 0 {
		t.Errorf("%d pixels of the talking colour before F9 is pressed", n)
	}
	for _, step := range []struct {
		action string
		held   bool
	}{{"keydown", true}, {"keyup", false}} {
		if err := xdotoolKey(ctx, x, st.window, step.action, "F9"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return (talking() > 30) == step.held })
	}
	st.stopWith(t, syscall.SIGTERM)
	t.Logf("screenshot: %s", shot)
}

// xdotoolKey presses (keydown) or lets go of (keyup) a key in a window,
// focused first, as a hand on the keyboard does.
func xdotoolKey(ctx context.Context, x *peers.Xvfb, win, action, key string) error {
	cmd := exec.CommandContext(ctx, "xdotool", "windowfocus", "--sync", win, action, key)
	cmd.Env = x.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("xdotool %s %s: %v: %s", action, key, err, out)
	}
	return nil
}

// successPixels counts the pixels of Fyne's dark success colour, in which
// a strip says that its push-to-talk microphone is open.
func successPixels(img image.Image) int {
	return countPixels(img, img.Bounds(), func(r, g, b uint32) bool { return r < 0x70 && g > 0xe0 && b < 0x70 })
}

// meterPixels counts the pixels of the meters' RMS bar colour in a region.
func meterPixels(img image.Image, r image.Rectangle) int {
	return countPixels(img, r, func(r, g, b uint32) bool { return r < 0x60 && g > 0xb0 && b > 0x40 && b < 0x90 })
}
