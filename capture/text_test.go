package capture

import (
	"errors"
	"image"
	"image/color"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

var (
	red   = color.NRGBA{R: 255, A: 255}
	green = color.NRGBA{G: 255, A: 255}
	blue  = color.NRGBA{B: 255, A: 255}
)

// renderText makes a text source, reads its first picture and closes it.
func renderText(t *testing.T, o TextOptions) *image.NRGBA {
	t.Helper()
	v, err := NewText(o)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	return readNRGBA(t, v, 5*time.Second)
}

func countColour(img *image.NRGBA, c color.NRGBA) (n int) {
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			if img.NRGBAAt(x, y) == c {
				n++
			}
		}
	}
	return n
}

func corners(img *image.NRGBA) []color.NRGBA {
	b := img.Rect
	return []color.NRGBA{
		img.NRGBAAt(b.Min.X, b.Min.Y), img.NRGBAAt(b.Max.X-1, b.Min.Y),
		img.NRGBAAt(b.Min.X, b.Max.Y-1), img.NRGBAAt(b.Max.X-1, b.Max.Y-1),
	}
}

func TestNewTextDrawsOpaqueLettersOfItsColourOnTransparency(t *testing.T) {
	img := renderText(t, TextOptions{Text: "Hello, Tally", Size: 32, Colour: red})
	if n := countColour(img, red); n < 50 {
		t.Errorf("%d opaque pixels of the text colour", n)
	}
	if n := countColour(img, color.NRGBA{}); n < img.Rect.Dx()*img.Rect.Dy()/3 {
		t.Errorf("only %d transparent pixels in %v", n, img.Rect)
	}
	for _, c := range corners(img) {
		if c.A != 0 {
			t.Errorf("a corner is %v, want transparent", c)
		}
	}
	// Only the text's colour is drawn: every pixel is red at some alpha.
	for i := 0; i < len(img.Pix); i += 4 {
		if a := img.Pix[i+3]; a != 0 && (img.Pix[i] != 255 || img.Pix[i+1] != 0 || img.Pix[i+2] != 0) {
			t.Fatalf("pixel %v is not the text colour", img.Pix[i:i+4])
		}
	}
	// Just large enough: a line of 32-pixel text is not much taller than 32.
	if h := img.Rect.Dy(); h < 32 || h > 48 {
		t.Errorf("a line of 32-pixel text is %d pixels tall", h)
	}
}

func TestNewTextBackgroundFillsTheCorners(t *testing.T) {
	img := renderText(t, TextOptions{Text: "Hi", Size: 24, Colour: red, Background: blue, Padding: 6})
	for _, c := range corners(img) {
		if c != blue {
			t.Errorf("a corner is %v, want the background %v", c, blue)
		}
	}
	if countColour(img, red) == 0 {
		t.Error("no pixels of the text colour over the background")
	}
	plain := renderText(t, TextOptions{Text: "Hi", Size: 24, Colour: red})
	if img.Rect.Dx() != plain.Rect.Dx()+12 || img.Rect.Dy() != plain.Rect.Dy()+12 {
		t.Errorf("padded picture is %v, unpadded %v: want 6 pixels more on each side", img.Rect, plain.Rect)
	}
}

func TestNewTextTranslucentBackgroundKeepsItsAlpha(t *testing.T) {
	bg := color.NRGBA{R: 10, G: 20, B: 30, A: 100}
	img := renderText(t, TextOptions{Text: "Hi", Size: 24, Colour: red, Background: bg, Padding: 2})
	for _, c := range corners(img) {
		if c != bg {
			t.Errorf("a corner is %v, want %v", c, bg)
		}
	}
}

func TestNewTextOutlineDrawsPixelsOfTheOutlineColour(t *testing.T) {
	img := renderText(t, TextOptions{Text: "Outline", Size: 32, Colour: red, Outline: green, OutlineWidth: 3})
	if n := countColour(img, green); n < 50 {
		t.Errorf("%d pixels of the outline colour", n)
	}
	if countColour(img, red) == 0 {
		t.Error("the letters are hidden under the outline")
	}
	for _, c := range corners(img) {
		if c.A != 0 {
			t.Errorf("a corner is %v, want transparent", c)
		}
	}
	plain := renderText(t, TextOptions{Text: "Outline", Size: 32, Colour: red, OutlineWidth: 3}) // Outline.A == 0: none
	if countColour(plain, green) != 0 {
		t.Error("an outline drawn with a transparent outline colour")
	}
	if img.Rect.Dx() != plain.Rect.Dx()+6 || img.Rect.Dy() != plain.Rect.Dy()+6 {
		t.Errorf("outlined picture is %v, plain %v: want room for 3 pixels on each side", img.Rect, plain.Rect)
	}
}

func TestNewTextLargerSizeIsTaller(t *testing.T) {
	small := renderText(t, TextOptions{Text: "Size", Size: 16, Colour: red})
	large := renderText(t, TextOptions{Text: "Size", Size: 64, Colour: red})
	if large.Rect.Dy() <= small.Rect.Dy()*3 || large.Rect.Dx() <= small.Rect.Dx()*3 {
		t.Errorf("64-pixel text is %v, 16-pixel %v", large.Rect, small.Rect)
	}
}

func TestNewTextMoreLinesAreTallerAndAlignedLeft(t *testing.T) {
	one := renderText(t, TextOptions{Text: "one line", Size: 20, Colour: red})
	three := renderText(t, TextOptions{Text: "one line\r\nand\none", Size: 20, Colour: red})
	if three.Rect.Dy() < 2*one.Rect.Dy() {
		t.Errorf("three lines are %v, one %v", three.Rect, one.Rect)
	}
	if three.Rect.Dx() != one.Rect.Dx() {
		t.Errorf("three lines are %d wide, the widest of them alone %d", three.Rect.Dx(), one.Rect.Dx())
	}
}

func TestNewTextEmptyIsA2x2TransparentPicture(t *testing.T) {
	v, err := NewText(TextOptions{Size: 20, Colour: red, Background: blue, Padding: 10})
	if err != nil {
		t.Fatal(err)
	}
	img := readNRGBA(t, v, time.Second)
	if img.Rect != image.Rect(0, 0, 2, 2) || countColour(img, color.NRGBA{}) != 4 {
		t.Errorf("empty text is %v with pixels %v", img.Rect, img.Pix)
	}
	checkStillThenEOF(t, v)
}

func TestNewTextLongTextIsClippedTo4096(t *testing.T) {
	img := renderText(t, TextOptions{Text: strings.Repeat("W", 400), Size: 200, Colour: red})
	if img.Rect.Dx() != 4096 {
		t.Errorf("400 W at 200 pixels is %v, want clipped to 4096 wide", img.Rect)
	}
	img = renderText(t, TextOptions{Text: strings.Repeat("x\n", 1000), Size: 100, Colour: red})
	if img.Rect.Dy() != 4096 || img.Rect.Dx() > 200 {
		t.Errorf("1000 lines at 100 pixels are %v, want clipped to 4096 tall", img.Rect)
	}
}

func TestTextReadReturnsThePictureOnceThenBlocksUntilClose(t *testing.T) {
	v, err := NewText(TextOptions{Text: "still", Size: 20, Colour: red})
	if err != nil {
		t.Fatal(err)
	}
	readNRGBA(t, v, time.Second)
	checkStillThenEOF(t, v)
}

func TestNewTextFontErrorsNameThePath(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.ttf")
	_, err := NewText(TextOptions{Text: "x", Size: 20, Font: missing})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing font: err = %v, want fs.ErrNotExist naming %s", err, missing)
	}
	garbage := writeFile(t, "garbage.ttf", []byte("definitely not a font, only some words in a file"))
	_, err = NewText(TextOptions{Text: "x", Size: 20, Font: garbage})
	if err == nil || !strings.Contains(err.Error(), garbage) || !strings.Contains(err.Error(), "not a TrueType or OpenType font") {
		t.Errorf("garbage font: err = %v, want it to name %s and say it is not a font", err, garbage)
	}
	dir := t.TempDir()
	if _, err := NewText(TextOptions{Text: "x", Size: 20, Font: dir}); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("a directory as the font: err = %v", err)
	}
}

func TestNewTextRefusesABadSizeOutlineOrPadding(t *testing.T) {
	for _, o := range []TextOptions{
		{Text: "x"},
		{Text: "x", Size: -3},
		{Text: "x", Size: math.NaN()},
		{Text: "x", Size: math.Inf(1)},
		{Text: "x", Size: 5000},
		{Text: "x", Size: 20, OutlineWidth: -1},
		{Text: "x", Size: 20, OutlineWidth: 1000},
		{Text: "x", Size: 20, Padding: -1},
	} {
		if v, err := NewText(o); err == nil {
			v.Close()
			t.Errorf("NewText(%+v) did not fail", o)
		}
	}
}

func TestTextFromAFileIsDrawnAgainWhenTheFileChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "now-playing.txt")
	if err := os.WriteFile(path, []byte("Hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := NewText(TextOptions{File: path, Text: "ignored", Size: 24, Colour: red})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	first := readNRGBA(t, v, time.Second)
	if want := renderText(t, TextOptions{Text: "Hi", Size: 24, Colour: red}); first.Rect != want.Rect {
		t.Errorf("the file's text is %v, \"Hi\" alone %v (a trailing newline is no line)", first.Rect, want.Rect)
	}
	if err := os.WriteFile(path, []byte("Hi there, a much longer line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	second := readNRGBA(t, v, 5*time.Second)
	if second.Rect.Dx() <= first.Rect.Dx() {
		t.Errorf("longer text is %v, shorter %v", second.Rect, first.Rect)
	}
}

func TestTextFromAFileWaitsWhileItsTextIsUnchanged(t *testing.T) {
	path := writeFile(t, "same.txt", []byte("same"))
	v, err := NewText(TextOptions{File: path, Size: 24, Colour: red})
	if err != nil {
		t.Fatal(err)
	}
	readNRGBA(t, v, time.Second)
	// A new modification time with the same words is no change to show.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	pending := readAsync(v)
	select {
	case r := <-pending:
		t.Fatalf("Read returned (%v, %v) though the text did not change", r.img, r.err)
	case <-time.After(4 * textPoll):
	}
	v.Close()
	if r := <-pending; !errors.Is(r.err, io.EOF) {
		t.Fatalf("Read pending at Close returned %v, want io.EOF", r.err)
	}
}

func TestTextFromAMissingFileIsEmptyUntilTheFileAppears(t *testing.T) {
	path := filepath.Join(t.TempDir(), "later.txt")
	v, err := NewText(TextOptions{File: path, Size: 24, Colour: red})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	empty := readNRGBA(t, v, time.Second)
	if empty.Rect != image.Rect(0, 0, 2, 2) || countColour(empty, color.NRGBA{}) != 4 {
		t.Fatalf("a missing file is %v with pixels %v, want 2x2 transparent", empty.Rect, empty.Pix)
	}
	if err := os.WriteFile(path, []byte("here now"), 0o644); err != nil {
		t.Fatal(err)
	}
	img := readNRGBA(t, v, 5*time.Second)
	if img.Rect.Dx() < 50 || countColour(img, red) == 0 {
		t.Errorf("the text that appeared is %v with %d pixels of its colour", img.Rect, countColour(img, red))
	}
}

func TestTextFromAFileReadsOnly64KiB(t *testing.T) {
	// 64 KiB of newlines, then words: the words are past what is read.
	data := append([]byte(strings.Repeat("\n", maxTextFile)), "hidden words"...)
	v, err := NewText(TextOptions{File: writeFile(t, "big.txt", data), Size: 24, Colour: red})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if img := readNRGBA(t, v, 5*time.Second); img.Rect != image.Rect(0, 0, 2, 2) {
		t.Errorf("picture is %v, want empty text", img.Rect)
	}
}

func TestTextFileCloseStopsThePollerBeforeReturning(t *testing.T) {
	before := runtime.NumGoroutine()
	path := writeFile(t, "poll.txt", []byte("polled"))
	v, err := NewText(TextOptions{File: path, Size: 24, Colour: red})
	if err != nil {
		t.Fatal(err)
	}
	readNRGBA(t, v, time.Second)
	pending := readAsync(v)
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-v.(*textFile).done:
	default:
		t.Fatal("Close returned while the poller was still running")
	}
	select {
	case r := <-pending:
		if !errors.Is(r.err, io.EOF) {
			t.Fatalf("Read pending at Close returned %v, want io.EOF", r.err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not unblock a pending Read")
	}
	if err := v.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// The poller and the Read's goroutine are gone.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before NewText", n, before)
	}
}
