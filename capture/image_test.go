package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// readResult is what one Read returned.
type readResult struct {
	img image.Image
	err error
}

// readAsync starts a Read and returns where its result arrives.
func readAsync(v VideoReader) <-chan readResult {
	ch := make(chan readResult, 1)
	go func() {
		img, _, err := v.Read()
		ch <- readResult{img, err}
	}()
	return ch
}

// readNRGBA reads one picture, failing the test if it takes longer than d or
// is not an *image.NRGBA.
func readNRGBA(t *testing.T, v VideoReader, d time.Duration) *image.NRGBA {
	t.Helper()
	select {
	case r := <-readAsync(v):
		if r.err != nil {
			t.Fatalf("Read: %v", r.err)
		}
		n, ok := r.img.(*image.NRGBA)
		if !ok {
			t.Fatalf("Read returned %T, not *image.NRGBA", r.img)
		}
		return n
	case <-time.After(d):
		v.Close() // unblocks the Read
		t.Fatalf("no picture within %v", d)
	}
	return nil
}

// checkStillThenEOF proves a still source's contract after its first Read: the
// next Read blocks until Close, then returns io.EOF, and so does every later one.
func checkStillThenEOF(t *testing.T, v VideoReader) {
	t.Helper()
	pending := readAsync(v)
	select {
	case r := <-pending:
		t.Fatalf("second Read returned (%T, %v) before Close", r.img, r.err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := v.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case r := <-pending:
		if !errors.Is(r.err, io.EOF) || r.img != nil {
			t.Fatalf("Read pending at Close returned (%v, %v), want io.EOF", r.img, r.err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not unblock a pending Read")
	}
	if img, _, err := v.Read(); !errors.Is(err, io.EOF) || img != nil {
		t.Fatalf("Read after Close returned (%v, %v), want io.EOF", img, err)
	}
	if err := v.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOpenImageKeepsPerPixelAlphaOfAPNG(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 5, 3))
	for y := 0; y < 3; y++ {
		for x := 0; x < 5; x++ {
			src.SetNRGBA(x, y, color.NRGBA{R: uint8(40 * x), G: uint8(80 * y), B: 200, A: uint8(1 + 50*x + 10*y)})
		}
	}
	got := openPNG(t, "alpha.png", src)
	if got.Rect != src.Rect {
		t.Fatalf("picture is %v, want %v", got.Rect, src.Rect)
	}
	for y := 0; y < 3; y++ {
		for x := 0; x < 5; x++ {
			if g, w := got.NRGBAAt(x, y), src.NRGBAAt(x, y); g != w {
				t.Errorf("pixel (%d,%d) is %v, want %v", x, y, g, w)
			}
		}
	}
}

func TestOpenImageConvertsAPaletteOrGreyPNGToNRGBA(t *testing.T) {
	src := image.NewGray(image.Rect(0, 0, 4, 4))
	src.SetGray(1, 2, color.Gray{Y: 77})
	got := openPNG(t, "grey.png", src)
	if c := got.NRGBAAt(1, 2); c != (color.NRGBA{R: 77, G: 77, B: 77, A: 255}) {
		t.Errorf("grey pixel is %v", c)
	}
}

func TestOpenImageDecodesAJPEGOpaque(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 32, 16))
	for i := 0; i < len(src.Pix); i += 4 {
		src.Pix[i], src.Pix[i+1], src.Pix[i+2], src.Pix[i+3] = 200, 100, 50, 255
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	v, err := OpenImage(writeFile(t, "photo.jpg", buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	got := readNRGBA(t, v, time.Second)
	if got.Rect != src.Rect {
		t.Fatalf("picture is %v, want %v", got.Rect, src.Rect)
	}
	near := func(a, b uint8) bool { return a-b < 8 || b-a < 8 }
	for y := 0; y < 16; y++ {
		for x := 0; x < 32; x++ {
			c := got.NRGBAAt(x, y)
			if c.A != 255 {
				t.Fatalf("pixel (%d,%d) has alpha %d: a JPEG is opaque", x, y, c.A)
			}
			if !near(c.R, 200) || !near(c.G, 100) || !near(c.B, 50) {
				t.Fatalf("pixel (%d,%d) is %v, want about (200,100,50)", x, y, c)
			}
		}
	}
}

func TestOpenImageMissingFileWrapsErrNotExistAndNamesThePath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nowhere.png")
	_, err := OpenImage(path)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name %s", err, path)
	}
}

func TestOpenImageRefusesAFileThatIsNotAnImage(t *testing.T) {
	for name, data := range map[string][]byte{
		"garbage.png":   []byte("this is not a picture at all, just words"),
		"empty.png":     nil,
		"truncated.png": append([]byte("\x89PNG\r\n\x1a\n"), 0, 0, 0, 13, 'I', 'H'),
		"broken.jpg":    {0xff, 0xd8, 0xff, 0x00, 1, 2, 3},
	} {
		path := writeFile(t, name, data)
		_, err := OpenImage(path)
		if err == nil {
			t.Errorf("%s: opened", name)
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %q does not name the path", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
	path := writeFile(t, "garbage.png", []byte("not an image"))
	if _, err := OpenImage(path); err == nil || !strings.Contains(err.Error(), "not a PNG or JPEG") {
		t.Errorf("garbage: err = %v, want it to say it is not a PNG or JPEG", err)
	}
}

// pngHeader is a PNG signature and IHDR chunk for an 8-bit RGBA picture of the
// given size, and nothing else: no pixels.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 4+13)
	copy(ihdr, "IHDR")
	binary.BigEndian.PutUint32(ihdr[4:], w)
	binary.BigEndian.PutUint32(ihdr[8:], h)
	ihdr[12], ihdr[13] = 8, 6 // bit depth, colour type RGBA; compression, filter, interlace 0
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(ihdr)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(ihdr))
	return b.Bytes()
}

func TestOpenImageRefusesAHugePNGFromItsHeaderWithoutAllocating(t *testing.T) {
	path := writeFile(t, "huge.png", pngHeader(100000, 100000))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := OpenImage(path)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "100000x100000 is too large") || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want it to name the path and say 100000x100000 is too large", err)
	}
	if took > time.Second {
		t.Errorf("refusing took %v", took)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("allocated %d bytes to refuse it", n)
	}
	// Just over the limit on one side is refused too; the limit itself is not
	// (that header is then refused for its missing pixels, not its size).
	if _, err := OpenImage(writeFile(t, "wide.png", pngHeader(8193, 1))); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("8193x1: err = %v, want too large", err)
	}
	if _, err := OpenImage(writeFile(t, "edge.png", pngHeader(8192, 1))); err == nil || strings.Contains(err.Error(), "too large") {
		t.Errorf("8192x1 without pixels: err = %v, want a decode error", err)
	}
}

func TestImageReadReturnsThePictureOnceThenBlocksUntilClose(t *testing.T) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewNRGBA(image.Rect(0, 0, 3, 3))); err != nil {
		t.Fatal(err)
	}
	v, err := OpenImage(writeFile(t, "small.png", buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	readNRGBA(t, v, time.Second)
	checkStillThenEOF(t, v)
}

// openPNG writes img as a PNG file called name and reads it back through
// OpenImage.
func openPNG(t *testing.T, name string, img image.Image) *image.NRGBA {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	v, err := OpenImage(writeFile(t, name, buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	return readNRGBA(t, v, time.Second)
}
