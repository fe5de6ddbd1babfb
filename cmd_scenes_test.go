package main

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tallystudio/tally/capture"
	"github.com/tallystudio/tally/internal/peers"
)

// Colours of the test collection, far apart in every channel.
var (
	sceneBlue  = color.NRGBA{0x20, 0x40, 0xc0, 0xff}
	sceneRed   = color.NRGBA{0xe0, 0x20, 0x20, 0xff}
	sceneGreen = color.NRGBA{0x20, 0xc0, 0x40, 0xff}
)

// writeTestCollection writes a 640x360 collection into dir: scene "main" is
// a blue background, a red 200x112 picture-in-picture at (400,220), a
// 100x100 logo at (20,20) that is a green disc on full transparency, and a
// white title in a black box at (20,250); scene "other" is all green.
func writeTestCollection(t *testing.T, dir string) string {
	t.Helper()
	logo := image.NewNRGBA(image.Rect(0, 0, 100, 100))
	for y := range 100 {
		for x := range 100 {
			if dx, dy := x-50, y-50; dx*dx+dy*dy <= 30*30 {
				logo.SetNRGBA(x, y, sceneGreen)
			}
		}
	}
	f, err := os.Create(filepath.Join(dir, "logo.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, logo); err != nil {
		t.Fatal(err)
	}
	f.Close()
	hex := func(c color.NRGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }
	doc := fmt.Sprintf(`{
  "version": 1,
  "canvas": {"width": 640, "height": 360},
  "transition": {"kind": "cut"},
  "sources": [
    {"name": "bg", "type": "colour", "colour": %q},
    {"name": "pip", "type": "colour", "colour": %q},
    {"name": "green", "type": "colour", "colour": %q},
    {"name": "logo", "type": "image", "path": "logo.png"},
    {"name": "title", "type": "text", "text": {"text": "TALLY", "size": 48, "colour": "#ffffff", "background": "#000000", "padding": 8}}
  ],
  "scenes": [
    {"name": "main", "layers": [
      {"source": "bg"},
      {"source": "pip", "x": 400, "y": 220, "width": 200, "height": 112},
      {"source": "logo", "x": 20, "y": 20, "width": 100, "height": 100},
      {"source": "title", "x": 20, "y": 250, "width": 300, "height": 80}
    ]},
    {"name": "other", "layers": [{"source": "green"}]}
  ],
  "active": "main"
}
`, hex(sceneBlue), hex(sceneRed), hex(sceneGreen))
	path := filepath.Join(dir, "scenes.json")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// bt709 is what an RGB colour becomes in limited-range BT.709 YCbCr.
func bt709(c color.NRGBA) (y, cb, cr float64) {
	r, g, b := float64(c.R)/255, float64(c.G)/255, float64(c.B)/255
	ly := 0.2126*r + 0.7152*g + 0.0722*b
	return 16 + 219*ly, 128 + 224*(b-ly)/1.8556, 128 + 224*(r-ly)/1.5748
}

// colourAt reports whether the picture at (x, y) is c, within tol.
func colourAt(img *image.YCbCr, x, y int, c color.NRGBA, tol float64) (bool, string) {
	wy, wcb, wcr := bt709(c)
	yi, ci := img.YOffset(x, y), img.COffset(x, y)
	gy, gcb, gcr := float64(img.Y[yi]), float64(img.Cb[ci]), float64(img.Cr[ci])
	ok := math.Abs(gy-wy) <= tol && math.Abs(gcb-wcb) <= tol && math.Abs(gcr-wcr) <= tol
	return ok, fmt.Sprintf("(%d,%d) is Y%.0f Cb%.0f Cr%.0f, want Y%.0f Cb%.0f Cr%.0f", x, y, gy, gcb, gcr, wy, wcb, wcr)
}

// pixelCheck is a colour expected at a point of a picture.
type pixelCheck struct {
	what string
	x, y int
	want color.NRGBA
}

func checkPixels(t *testing.T, img *image.YCbCr, tol float64, checks []pixelCheck) {
	t.Helper()
	for _, c := range checks {
		if ok, got := colourAt(img, c.x, c.y, c.want, tol); !ok {
			t.Errorf("%s: %s", c.what, got)
		}
	}
}

// recordingFrames decodes a recording's pictures at its own size.
func recordingFrames(t *testing.T, path string, w, h int, each func(i int, img *image.YCbCr) bool) {
	t.Helper()
	f, err := capture.OpenFile(path, false, w, h, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v := f.Video()
	for i := 0; ; i++ {
		img, release, err := v.Read()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		var pic *image.YCbCr
		switch p := img.(type) {
		case *capture.Frame:
			pic = p.YCbCr
		case *image.YCbCr:
			pic = p
		default:
			t.Fatalf("decoded a %T", img)
		}
		more := each(i, pic)
		if release != nil {
			release()
		}
		if !more {
			return
		}
	}
}

// The composed picture reaches the server: the background, the
// picture-in-picture inside its rectangle and not outside it, the logo's
// disc with the background showing through its transparent corners, and the
// title's white letters in their black box. Then "scene other" on standard
// input puts the other scene on within two frames of the command, with no
// gap in the timestamps and a clean decode.
func TestStreamScenesComposeAndSwitchFromStandardInput(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})
	path := writeTestCollection(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := tallyCommand(ctx, "stream", "--url", ng.URL(), "--scenes", path, "--audio", "tone", "--fps", "30",
		"--vbitrate", "3000k", "--duration", "8s", "--stats", "none", "--log-level", "info")
	cmd.Env = append(cmd.Env, "TALLY_STREAM_KEY="+streamKey)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second)
	if _, err := io.WriteString(stdin, "scene other\n"); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tally stream: %v\n%s", err, stderr.String())
	}
	m := regexp.MustCompile(`msg="scene on air" scene=other at=([0-9.]+)`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no scene switch logged:\n%s", stderr.String())
	}
	at, _ := strconv.ParseFloat(m[1], 64)

	rec := ng.Recording(streamKey)
	waitFor(t, ng.Unpublished)
	time.Sleep(300 * time.Millisecond)
	if errs := peers.DecodeErrors(t, rec); errs != "" {
		t.Errorf("the recording does not decode cleanly: %s", errs)
	}
	pts := peers.PacketTimes(t, rec, "v:0")
	for i := 1; i < len(pts); i++ {
		if d := pts[i] - pts[i-1]; d < 0.030 || d > 0.037 {
			t.Errorf("video timestamps jump %.3f s at %.3f s", d, pts[i])
		}
	}

	const tol = 12
	firstOther := -1
	checked := false
	recordingFrames(t, rec, 640, 360, func(i int, img *image.YCbCr) bool {
		if dir := os.Getenv("TALLY_FRAME_DIR"); dir != "" && i%30 == 0 {
			savePNG(t, filepath.Join(dir, fmt.Sprintf("frame%03d.png", i)), img)
		}
		if ok, _ := colourAt(img, 300, 100, sceneGreen, tol); ok {
			firstOther = i
			return false
		}
		if i != 60 { // two seconds in: well settled, still the main scene
			return true
		}
		checked = true
		checkPixels(t, img, tol, []pixelCheck{
			{"background", 300, 100, sceneBlue},
			{"background left of the picture-in-picture", 390, 276, sceneBlue},
			{"background above the picture-in-picture", 500, 210, sceneBlue},
			{"picture-in-picture", 500, 276, sceneRed},
			{"picture-in-picture near its top-left corner", 404, 224, sceneRed},
			{"picture-in-picture near its bottom-right corner", 596, 328, sceneRed},
			{"logo's disc", 70, 70, sceneGreen},
			{"background through the logo's transparent corner", 24, 24, sceneBlue},
		})
		bright, dark := 0, 0
		for y := 250; y < 330; y++ {
			for x := 20; x < 320; x++ {
				switch v := img.Y[img.YOffset(x, y)]; {
				case v > 200:
					bright++
				case v < 40:
					dark++
				}
			}
		}
		if bright < 300 || dark < 3000 {
			t.Errorf("title box: %d white and %d black pixels; want letters in a box", bright, dark)
		}
		return true
	})
	if !checked {
		t.Fatal("the recording ends before two seconds")
	}
	if firstOther < 0 || firstOther >= len(pts) {
		t.Fatalf("the other scene never shows (switch at %.3f s)", at)
	}
	late := pts[firstOther] - at
	t.Logf("switch at %.3f s; the other scene first shows at %.3f s (frame %d), %.1f frames later",
		at, pts[firstOther], firstOther, late*30)
	if late > 2.0/30+0.005 || late < -1.0/30 {
		t.Errorf("the other scene shows %.3f s after the command, want within two frames", late)
	}
}

// Every example collection in docs/scenes streams to nginx-rtmp and the
// recording decodes cleanly at the canvas size.
func TestStreamExampleCollections(t *testing.T) {
	files, err := filepath.Glob("docs/scenes/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example collections: %v", err)
	}
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})
	for i, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			key := fmt.Sprintf("%s-%d", streamKey, i)
			_, stderr, code := runTally(t, 60*time.Second, []string{"TALLY_STREAM_KEY=" + key},
				"stream", "--url", ng.URL(), "--scenes", file, "--audio", "tone", "--duration", "3s", "--stats", "none")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			rec := ng.Recording(key)
			waitFor(t, ng.Unpublished)
			time.Sleep(300 * time.Millisecond)
			if errs := peers.DecodeErrors(t, rec); errs != "" {
				t.Errorf("the recording does not decode cleanly: %s", errs)
			}
			if n := peers.ProbeFile(t, rec).Stream("video").Frames(); n < 80 {
				t.Errorf("%d frames in 3 s", n)
			}
			if filepath.Base(file) == "starting-soon.json" {
				checkStartingSoon(t, rec)
			}
		})
	}
}

// checkStartingSoon finds the example's still picture in its recording: the
// background colour, the logo's opaque centre, and the background through
// the logo's transparent corner.
func checkStartingSoon(t *testing.T, rec string) {
	f, err := os.Open("docs/scenes/logo.png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	logo, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	bg := color.NRGBA{0x10, 0x18, 0x28, 0xff}
	centre := color.NRGBAModel.Convert(logo.At(100, 100)).(color.NRGBA)
	if corner := color.NRGBAModel.Convert(logo.At(2, 2)).(color.NRGBA); corner.A != 0 || centre.A != 255 {
		t.Fatalf("logo.png: corner %v and centre %v; the check wants a transparent corner and an opaque centre", corner, centre)
	}
	recordingFrames(t, rec, 1280, 720, func(i int, img *image.YCbCr) bool {
		if i < 45 {
			return true
		}
		checkPixels(t, img, 12, []pixelCheck{
			{"background", 20, 20, bg},
			{"logo's centre", 640, 240, centre},
			{"background through the logo's corner", 543, 143, bg},
		})
		return false
	})
}

// savePNG keeps a decoded frame for a person to look at (TALLY_FRAME_DIR).
func savePNG(t *testing.T, path string, img image.Image) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// A scene file with a mistake stops `tally stream --scenes` before anything
// opens, with exit code 3 and a message naming the file, the line and the
// field; the file itself is left as it was.
func TestStreamScenesRefusesMalformedFilesNamingLineAndField(t *testing.T) {
	dir := t.TempDir()
	good := writeTestCollection(t, dir)
	doc, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	var many strings.Builder
	for i := range 1000 {
		if i > 0 {
			many.WriteString(",")
		}
		many.WriteString(`{"source": "bg"}`)
	}
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"missing image", `"logo.png"`, `"gone.png"`, `:9: sources[3].path`},
		{"negative size", `"width": 200, "height": 112`, `"width": -200, "height": 112`, `:15: scenes[0].layers[1].width`},
		{"unknown source type", `"type": "colour", "colour": "#e02020"`, `"type": "hologram", "colour": "#e02020"`, `:7: sources[1].type`},
		{"layer off the canvas", `"x": 400, "y": 220`, `"x": 4000, "y": 220`, `:15: scenes[0].layers[1]: is entirely off the canvas`},
		{"missing font", `"size": 48,`, `"font": "nope.ttf", "size": 48,`, `:10: sources[4].text.font`},
		{"1000 layers", `{"source": "green"}`, many.String(), `scenes[1].layers`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(string(doc), tc.from, tc.to, 1)
			if bad == string(doc) {
				t.Fatalf("the test collection has no %q", tc.from)
			}
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".json")
			if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
				t.Fatal(err)
			}
			var out, errOut strings.Builder
			code := run([]string{"stream", "--scenes", path, "--duration", "1s"}, &out, &errOut)
			if code != exitSettings || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, firstLine(errOut.String()), exitSettings, tc.want)
			}
			if after, _ := os.ReadFile(path); string(after) != bad {
				t.Error("the scene file changed")
			}
		})
	}
}
