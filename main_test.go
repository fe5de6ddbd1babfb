package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
	"github.com/tallystudio/tally/scene"
	"github.com/tallystudio/tally/ui"
)

// TestMain lets the test binary stand in for bin/tally: tests re-execute it with
// TALLY_TEST_AS_MAIN=1 to run the real command, including the window's main loop,
// which must own the process's main thread.
func TestMain(m *testing.M) {
	if os.Getenv("TALLY_TEST_AS_MAIN") == "1" {
		main()
	}
	code := m.Run()
	peers.RemoveFixtures()
	os.Exit(code)
}

// studioRun is the studio window running under Xvfb for a test.
type studioRun struct {
	cmd    *exec.Cmd
	logs   *bytes.Buffer // stdout and stderr
	exited chan error    // Wait's result; put it back after taking it, for the cleanup
	window string        // the X window id
}

// startStudio starts `tally` (the window) on x with env added, waits for its
// window, and kills it when the test ends.
func startStudio(t *testing.T, ctx context.Context, x *peers.Xvfb, env ...string) studioRun {
	t.Helper()
	st := studioRun{cmd: tallyCommand(ctx), logs: new(bytes.Buffer), exited: make(chan error, 1)}
	st.cmd.Env = append(append(x.Env(), "TALLY_TEST_AS_MAIN=1"), env...)
	st.cmd.Stdout, st.cmd.Stderr = st.logs, st.logs
	if err := st.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { st.exited <- st.cmd.Wait() }()
	t.Cleanup(func() {
		_ = st.cmd.Process.Kill()
		<-st.exited
	})
	win, err := x.WaitWindow(ctx, ui.Title)
	if err != nil {
		select {
		case werr := <-st.exited:
			st.exited <- werr // for the cleanup, which waits for it
			t.Fatalf("tally exited (%v) before its window appeared:\n%s", werr, st.logs.String())
		default:
		}
		// Where it is stuck, and what the X server shows: the studio's
		// goroutines (SIGQUIT makes Go print them) and the window tree.
		_ = st.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case werr := <-st.exited:
			st.exited <- werr
		case <-time.After(5 * time.Second):
		}
		t.Fatalf("%v\nwindows:\n%s\ntally's output:\n%s", err, x.WindowTree(), st.logs.String())
	}
	st.window = win
	return st
}

// stopWith sends sig and waits, at most 30 s, for the studio to exit cleanly.
func (st studioRun) stopWith(t *testing.T, sig os.Signal) {
	t.Helper()
	_ = st.cmd.Process.Signal(sig)
	select {
	case err := <-st.exited:
		st.exited <- err // for the cleanup
		if err != nil {
			t.Fatalf("exit after %v: %v\n%s", sig, err, st.logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the studio did not quit within 30 s of %v\n%s", sig, st.logs.String())
	}
}

// acceptAndClose listens on a unix socket and closes every connection at
// once: a display server that answers and then refuses.
func acceptAndClose(t *testing.T, addr string) {
	t.Helper()
	ln, err := net.Listen("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
}

// tallyCommand returns a command that runs this test binary as `tally args...`.
func tallyCommand(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), "TALLY_TEST_AS_MAIN=1")
	// A process it started (a session bus the keyring autolaunched) may keep
	// its output pipes open after it exits: Wait must not wait for that.
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

func TestVersionReportsRuntimeLibavAndEncoders(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"version"}, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d, stderr: %s", code, errOut.String())
	}
	s := out.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^Tally \S+$`),
		regexp.MustCompile(`(?m)^Go 1\.\d+`),
		regexp.MustCompile(`(?m)^FFmpeg \S*8\.`),            // go-astiav v0.42 needs FFmpeg 8
		regexp.MustCompile(`(?m)^\s+libavcodec\s+6[2-9]\.`), // libavcodec 62 is FFmpeg 8
		regexp.MustCompile(`(?m)^\s+h264\s+libx264\s`),
		regexp.MustCompile(`(?m)^\s+aac\s+aac\s`),
	} {
		if !want.MatchString(s) {
			t.Errorf("version output lacks %s:\n%s", want, s)
		}
	}
}

func TestUnknownCommandIsAUsageError(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"frobnicate"}, &out, &errOut); code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	if !strings.Contains(errOut.String(), `unknown command "frobnicate"`) {
		t.Errorf("stderr does not name the bad command: %q", errOut.String())
	}
}

func TestHelpListsCommands(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"help"}, &out, &out); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out.String(), "version") {
		t.Errorf("help does not list the version command:\n%s", out.String())
	}
}

// The real studio in a real X server, as a returning user who composes
// scenes left it: it opens on the Scenes tab with the picture in picture of
// docs/scenes/pip.json composed in the preview; a click on the small picture
// selects its layer, whose box the preview draws; a click on Go Live streams
// the composition to nginx-rtmp, and the window shows the live state and
// stats (saved as docs/screenshot.png by make screenshots); SIGTERM stops
// cleanly with the server's recording intact. Dragging the title down with
// the pointer, live, moves it in the saved scenes.
func TestStudioGoesLiveUnderXvfb(t *testing.T) {
	x := requireXvfb(t)
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})

	// A returning user's settings: 720p scenes and the tone, one custom
	// server, the Scenes tab open; and their scenes: the picture in picture,
	// and a second scene to switch to.
	cfg := t.TempDir()
	scenesFile := filepath.Join(cfg, "tally", "scenes.json")
	writeScenes(t, scenesFile)
	settings := `{"Video":{"Source":"scenes","Width":1280,"Height":720,"FPS":30,"Bitrate":2500000,` +
		`"KeyframeInterval":2000000000,"Encoder":"libx264","Preset":"veryfast","Profile":"high"},` +
		`"Audio":{"Source":"tone","SampleRate":48000,"Channels":2,"Bitrate":160000},` +
		`"Destinations":[{"ID":"dest-xvfb","Service":"custom","URL":"` + ng.URL() + `/xvfbshow"}]}`

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	st := startReturningStudio(t, ctx, x, cfg, settings, "Scenes")
	logs, win := st.logs, st.window
	shot := screenshotPath(t, "screenshot.png")
	// The window maps before its first frame is drawn; wait for the colour bars.
	var colors int
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		img, err := x.Screenshot(ctx, win, shot)
		if err != nil {
			t.Fatal(err)
		}
		if colors = peers.DistinctHues(img, img.Bounds(), 6); colors >= 6 {
			break
		}
	}
	if colors < 6 {
		t.Fatalf("window shows no picture: %d colourful colours in %s\n%s", colors, shot, logs.String())
	}

	// A click on the small picture selects its layer: the preview draws its
	// box in the layer-box colour.
	img, err := x.Screenshot(ctx, win, shot)
	if err != nil {
		t.Fatal(err)
	}
	pic, ok := previewPicture(img)
	if !ok {
		t.Fatalf("no 16:9 picture at the top left of %s", shot)
	}
	k := float64(pic.Dy()) / 720
	if err := x.Click(ctx, win, pic.Min.X+int(1008*k), pic.Min.Y+int(553*k)); err != nil {
		t.Fatal(err)
	}
	pip := image.Rect(pic.Min.X+int(760*k), pic.Min.Y+int(410*k), pic.Min.X+int(1256*k), pic.Min.Y+int(696*k))
	waitFor(t, func() bool {
		img, err := x.Screenshot(ctx, win, shot)
		return err == nil && layerBoxPixels(img, pip) > 200
	})

	// Go Live is the bottom-right button.
	w, h, err := x.Size(ctx, win)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Click(ctx, win, w-40, h-23); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(ng.ErrorLog(), "publish: name='xvfbshow'") })
	time.Sleep(5 * time.Second) // let the stats and the graph fill in
	// Once a second the test pattern flashes white with the beep, which
	// would hide the composition: the screenshot waits for the bars.
	for range 10 {
		if img, err = x.Screenshot(ctx, win, shot); err != nil {
			t.Fatal(err)
		}
		if bluePixels(img, pic) > 1000 {
			break
		}
		time.Sleep(70 * time.Millisecond)
	}
	// The live state is drawn in red at the bottom left ("● LIVE").
	if !hasRedText(img, image.Rect(0, h-40, 200, h)) {
		t.Errorf("no red LIVE state in the bottom bar of %s", shot)
	}

	// The title (32,24)-(752,120) on the canvas, dragged 100 px down from
	// its middle: nothing is within snapping distance on the way.
	from := image.Pt(pic.Min.X+int(392*k), pic.Min.Y+int(72*k))
	if err := dragPointer(ctx, x, win, from, from.Add(image.Pt(0, int(math.Round(100*k))))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // saved half a second after the drag

	st.stopWith(t, syscall.SIGTERM)
	if col, err := scene.Load(scenesFile); err != nil {
		t.Errorf("the scenes file after the drag: %v", err)
	} else if l := col.Scenes[0].Layers[3]; l.Source != "Title" || l.X != 32 || l.Y < 120 || l.Y > 128 {
		t.Errorf("after dragging the title 100 px down: %+v, want it at x 32, y 124 (±4)", l)
	}
	log := ng.PublisherLog()
	if del, disc := strings.Index(log, "deleteStream"), strings.LastIndex(log, "disconnect"); del < 0 || del > disc {
		t.Errorf("no deleteStream before the disconnect")
	}
	rec := ng.Recording("xvfbshow")
	pr := peers.ProbeFile(t, rec)
	if v := pr.Stream("video"); v == nil || v.Width != 1280 || v.Frames() < 120 || pr.Stream("audio") == nil {
		t.Fatalf("recording of the studio's stream: %+v", pr.Streams)
	}
	if errs := peers.DecodeErrors(t, rec); errs != "" {
		t.Errorf("recording does not decode cleanly: %s", errs)
	}
	t.Logf("screenshot: %s", shot)
}

// dragPointer drags with the left button from one point of a window to
// another, in steps, as a hand does.
func dragPointer(ctx context.Context, x *peers.Xvfb, win string, from, to image.Point) error {
	args := []string{"mousemove", "--window", win, strconv.Itoa(from.X), strconv.Itoa(from.Y), "mousedown", "1"}
	for i := 1; i <= 10; i++ {
		p := from.Add(to.Sub(from).Mul(i).Div(10))
		args = append(args, "sleep", "0.03", "mousemove", "--window", win, strconv.Itoa(p.X), strconv.Itoa(p.Y))
	}
	args = append(args, "sleep", "0.1", "mouseup", "1")
	cmd := exec.CommandContext(ctx, "xdotool", args...)
	cmd.Env = x.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("xdotool drag: %v: %s", err, out)
	}
	return nil
}

// writeScenes writes a collection for the studio: docs/scenes/pip.json and a
// second scene.
func writeScenes(t *testing.T, path string) {
	t.Helper()
	col, err := scene.Load(filepath.Join("docs", "scenes", "pip.json"))
	if err != nil {
		t.Fatal(err)
	}
	err = errors.Join(
		col.AddSource(scene.Source{Name: "Backdrop", Type: scene.TypeColour, Colour: "#1d2939"}),
		col.AddSource(scene.Source{Name: "Be right back", Type: scene.TypeText,
			Text: &scene.Text{Text: "Be right back", Size: 96, Colour: "#fcd34d"}}),
		col.AddScene("Be right back"))
	if err != nil {
		t.Fatal(err)
	}
	brb, _ := col.Scene("Be right back")
	brb.Layers = []scene.Layer{{Source: "Backdrop", Width: 1280, Height: 720},
		{Source: "Be right back", X: 240, Y: 300, Width: 800, Height: 130}, {Source: "Title", X: 32, Y: 24, Width: 720, Height: 96}}
	col.Normalise()
	if err := col.Save(path); err != nil {
		t.Fatal(err)
	}
}

// previewPicture finds the program picture in a screenshot of the studio.
// The preview is the box at the top left that is not the window's
// background (the colour at its corner); the picture is what is inside the
// black bars the preview fits it between.
func previewPicture(img image.Image) (image.Rectangle, bool) {
	b := img.Bounds()
	bg := img.At(b.Min.X+1, b.Min.Y+1)
	isBG := func(x, y int) bool { return img.At(x, y) == bg }
	black := func(x, y int) bool {
		r, g, b, _ := img.At(x, y).RGBA()
		return r|g|b == 0
	}
	// Down a column a third of the way across: the preview, then its bars.
	x := b.Min.X + b.Dx()/3
	top := b.Min.Y
	for top < b.Max.Y && isBG(x, top) {
		top++
	}
	bottom := top
	for bottom+3 < b.Max.Y && !(isBG(x, bottom) && isBG(x, bottom+1) && isBG(x, bottom+2)) {
		bottom++
	}
	for top < bottom && black(x, top) {
		top++
	}
	for bottom > top && black(x, bottom-1) {
		bottom--
	}
	// Along a row through the middle: the preview's left edge, then a bar's.
	y := (top + bottom) / 2
	left := b.Min.X
	for left < b.Max.X && isBG(left, y) {
		left++
	}
	for left < b.Max.X && black(left, y) {
		left++
	}
	h := bottom - top
	if h < 90 {
		return image.Rectangle{}, false
	}
	return image.Rect(left, top, left+h*1280/720, bottom), true
}

// countPixels counts the pixels in a region whose 8-bit red, green and blue
// match a colour test.
func countPixels(img image.Image, r image.Rectangle, match func(r, g, b uint32) bool) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if match(cr>>8, cg>>8, cb>>8) {
				n++
			}
		}
	}
	return n
}

// layerBoxPixels counts the pixels of the layer-box colour (ui/theme.go's
// colorLayerBox) in a region.
func layerBoxPixels(img image.Image, r image.Rectangle) int {
	return countPixels(img, r, func(r, g, b uint32) bool { return r > 0xf0 && g > 0x98 && g < 0xb8 && b < 0x30 })
}

// bluePixels counts the pixels of the test pattern's blue bar in a region.
func bluePixels(img image.Image, r image.Rectangle) int {
	return countPixels(img, r, func(r, g, b uint32) bool { return b > 0xa0 && r < 0x40 && g < 0x40 })
}

// hasRedText tells whether a region holds the danger colour's text.
func hasRedText(img image.Image, r image.Rectangle) bool {
	return countPixels(img, r, func(r, g, b uint32) bool { return r > 200 && g < 110 && b < 110 }) > 20
}

func TestCommandsStartQuietlyUnderCUTF8(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := tallyCommand(ctx, "version")
	env := []string{"LANG=C.UTF-8"}
	for _, kv := range cmd.Env {
		if !strings.HasPrefix(kv, "LANG=") && !strings.HasPrefix(kv, "LC_") && !strings.HasPrefix(kv, "LANGUAGE=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tally version: %v, stderr: %s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("tally version wrote to stderr under LANG=C.UTF-8:\n%s", stderr.String())
	}
}

// `tally` over SSH or on a server: one line that says no display was found
// and points to `tally stream`, exit exitNoDisplay, and no GLFW panic with
// its stack trace. Covers no display set, a DISPLAY nothing listens on, a
// Wayland-only session (this GLFW speaks X11), and a DISPLAY that answers
// but is no X server (caught from GLFW's panic; GLFW's own log line naming
// the cause may come first).
func TestStudioWithoutDisplaySaysSoInOneLine(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("the display is named by the environment only on Linux and the BSDs")
	}
	for _, tc := range []struct {
		name     string
		env      []string
		fakeX    string // an abstract socket that accepts and hangs up, as a display that refuses us
		oneLine  bool
		wantLine string
	}{
		{name: "no DISPLAY or WAYLAND_DISPLAY", oneLine: true, wantLine: "neither DISPLAY nor WAYLAND_DISPLAY is set"},
		{name: "DISPLAY with no X server", env: []string{"DISPLAY=:60999"}, oneLine: true, wantLine: "does not answer"},
		{name: "only WAYLAND_DISPLAY", env: []string{"WAYLAND_DISPLAY=wayland-60999"}, oneLine: true, wantLine: "DISPLAY is not set"},
		{name: "DISPLAY answers but refuses", env: []string{"DISPLAY=:60998"}, fakeX: "@/tmp/.X11-unix/X60998", wantLine: "would not open a window"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fakeX != "" {
				if runtime.GOOS != "linux" {
					t.Skip("abstract sockets are Linux only")
				}
				acceptAndClose(t, tc.fakeX)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := tallyCommand(ctx)
			env := []string{"XDG_CONFIG_HOME=" + t.TempDir()}
			for _, kv := range cmd.Env {
				if !strings.HasPrefix(kv, "DISPLAY=") && !strings.HasPrefix(kv, "WAYLAND_DISPLAY=") {
					env = append(env, kv)
				}
			}
			cmd.Env = append(env, tc.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitNoDisplay {
				t.Fatalf("tally: %v, want exit %d; stderr:\n%s", err, exitNoDisplay, stderr.String())
			}
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			if tc.oneLine && len(lines) != 1 {
				t.Errorf("stderr has %d lines, want 1:\n%s", len(lines), stderr.String())
			}
			last := lines[len(lines)-1]
			for _, want := range []string{"tally: no display found", tc.wantLine, "tally stream"} {
				if !strings.Contains(last, want) {
					t.Errorf("the last line lacks %q: %s", want, last)
				}
			}
			for _, bad := range []string{"goroutine", "panic", "NotInitialized"} {
				if strings.Contains(stderr.String(), bad) {
					t.Errorf("stderr has %q:\n%s", bad, stderr.String())
				}
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout: %s", stdout.String())
			}
		})
	}
}

// writeStudioPrefs gives a studio started with XDG_CONFIG_HOME=cfg a
// returning user's settings and the tab it opens on.
// requireXvfb starts an X server of the test's own, with the tools the
// window tests drive it with.
func requireXvfb(t *testing.T) *peers.Xvfb {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("Xvfb runs on Linux only")
	}
	peers.Require(t, "xdotool")
	peers.Require(t, "import")
	return peers.StartXvfb(t)
}

// startReturningStudio starts the studio in x as a returning user whose
// configuration (in cfg) holds these settings and has tab open, in the dark
// theme the screenshots use.
func startReturningStudio(t *testing.T, ctx context.Context, x *peers.Xvfb, cfg, settings, tab string) studioRun {
	t.Helper()
	writeStudioPrefs(t, cfg, settings, tab)
	return startStudio(t, ctx, x, "FYNE_THEME=dark", "XDG_CONFIG_HOME="+cfg)
}

// screenshotPath is where a window test saves its screenshot: docs/ under
// make screenshots (TALLY_SCREENSHOT_DIR), else the test's own folder.
func screenshotPath(t *testing.T, name string) string {
	dir := os.Getenv("TALLY_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	return filepath.Join(dir, name)
}

func writeStudioPrefs(t *testing.T, cfg, settings, tab string) {
	t.Helper()
	prefs, _ := json.Marshal(map[string]string{"settings.v1": settings, "studio.tab": tab})
	dir := filepath.Join(cfg, "fyne", appID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "preferences.json"), prefs, 0o644); err != nil {
		t.Fatal(err)
	}
}
