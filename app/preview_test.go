package app

import (
	"image"
	"image/color"
	"testing"

	"github.com/tallystudio/tally/capture"
	"github.com/tallystudio/tally/internal/raceflag"
)

// A 16:9 frame in a 4:3 preview keeps its shape: black bars above and below,
// and the colours survive the YCbCr to RGB conversion.
func TestPreviewFitsWithBarsAndKeepsColours(t *testing.T) {
	src := image.NewYCbCr(image.Rect(0, 0, 64, 36), image.YCbCrSubsampleRatio420)
	y, cb, cr := color.RGBToYCbCr(200, 30, 40)
	// image/color's conversion is full range; the preview assumes studio range
	// as libav's YUV does, so build the studio-range values.
	y = uint8(16 + int(y)*219/255)
	for i := range src.Y {
		src.Y[i] = y
	}
	for i := range src.Cb {
		src.Cb[i], src.Cr[i] = cb, cr
	}
	dst := image.NewRGBA(image.Rect(0, 0, 40, 30))
	scaleToRGBA(dst, src)
	if c := dst.RGBAAt(20, 2); c != (color.RGBA{0, 0, 0, 255}) {
		t.Errorf("top bar is %v, want black", c)
	}
	c := dst.RGBAAt(20, 15)
	if c.R < 170 || c.G > 70 || c.B > 80 {
		t.Errorf("centre is %v, want about (200,30,40)", c)
	}
	rgba := image.NewRGBA(image.Rect(0, 0, 30, 30))
	for i := 0; i < len(rgba.Pix); i += 4 {
		rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2], rgba.Pix[i+3] = 10, 200, 30, 255
	}
	scaleToRGBA(dst, rgba)
	if c := dst.RGBAAt(2, 15); c != (color.RGBA{0, 0, 0, 255}) {
		t.Errorf("side bar is %v", c)
	}
	if c := dst.RGBAAt(20, 15); c != (color.RGBA{10, 200, 30, 255}) {
		t.Errorf("RGBA centre is %v", c)
	}
}

// The preview's per-frame cost: a 1280x720 program frame to a 640x360 RGBA
// preview. At 30 fps, 5% of a core is 1.67 ms per frame.
func BenchmarkPreview720pTo360p(b *testing.B) {
	src := image.NewYCbCr(image.Rect(0, 0, 1280, 720), image.YCbCrSubsampleRatio420)
	newPatternLike(src)
	dst := image.NewRGBA(image.Rect(0, 0, 640, 360))
	b.ReportAllocs()
	for b.Loop() {
		scaleToRGBA(dst, src)
	}
}

func BenchmarkPreview1080pTo540p(b *testing.B) {
	src := image.NewYCbCr(image.Rect(0, 0, 1920, 1080), image.YCbCrSubsampleRatio420)
	newPatternLike(src)
	dst := image.NewRGBA(image.Rect(0, 0, 960, 540))
	b.ReportAllocs()
	for b.Loop() {
		scaleToRGBA(dst, src)
	}
}

func newPatternLike(img *image.YCbCr) {
	for i := range img.Y {
		img.Y[i] = uint8(i)
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = uint8(i*3), uint8(i*7)
	}
}

// bgrxFrame is a w×h screen grab as the screen source delivers it: blue,
// green, red and a padding byte per pixel, rows padded to stride.
func bgrxFrame(w, h, stride int, px func(x, y int) color.RGBA) *capture.BGRX {
	m := &capture.BGRX{Pix: make([]byte, stride*h), Stride: stride, Rect: image.Rect(0, 0, w, h)}
	for y := range h {
		for x := range w {
			c := px(x, y)
			o := y*stride + x*4
			m.Pix[o], m.Pix[o+1], m.Pix[o+2], m.Pix[o+3] = c.B, c.G, c.R, byte(x^y) // padding: anything
		}
	}
	return m
}

// A BGRX screen grab is previewed with its colours (red stays red: bytes 2,
// 1, 0 become R, G, B) and opaque whatever its padding byte holds, pixel for
// pixel as the slow At path draws it, and without allocating.
func TestPreviewBGRXKeepsColoursAndAllocatesNothing(t *testing.T) {
	grad := func(x, y int) color.RGBA { return color.RGBA{byte(x * 3), byte(y * 5), byte(x + y), 0xff} }
	for _, tc := range []struct {
		name string
		src  image.Image
	}{
		{"whole", bgrxFrame(96, 54, 96*4+40, grad)},
		{"sub-picture", func() image.Image {
			// A grab whose rectangle does not start at 0,0: its memory starts
			// at Rect.Min, as BGRXPix says.
			m := bgrxFrame(96, 54, 96*4, grad)
			m.Rect = image.Rect(10, 20, 106, 74)
			return m
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := image.NewRGBA(image.Rect(0, 0, 40, 30))
			scaleToRGBA(dst, tc.src)
			// The same through the generic path: an image that hides the
			// BGRXPix method.
			want := image.NewRGBA(dst.Rect)
			scaleToRGBA(want, struct{ image.Image }{tc.src})
			if string(dst.Pix) != string(want.Pix) {
				t.Fatal("the BGRX path and the generic path draw different previews")
			}
			if c := dst.RGBAAt(20, 2); c != (color.RGBA{0, 0, 0, 255}) {
				t.Errorf("top bar is %v, want black", c)
			}
			// 96x54 fits 40x22 at y 4: preview row 15 is source row
			// (2·11+1)·54/44 = 28, column 0 source column 96/80 = 1.
			b := tc.src.Bounds()
			if c, w := dst.RGBAAt(0, 15), grad(1, 28); b.Min == (image.Point{}) && c != w {
				t.Errorf("left edge is %v, want %v", c, w)
			}
			// The race detector makes sync.Pool drop a quarter of what is
			// put back, on purpose: count allocations only without it.
			if n := testing.AllocsPerRun(10, func() { scaleToRGBA(dst, tc.src) }); n != 0 && !raceflag.Enabled {
				t.Errorf("a BGRX preview allocates %.0f times", n)
			}
		})
	}
	red := bgrxFrame(32, 18, 32*4, func(int, int) color.RGBA { return color.RGBA{255, 0, 0, 0} })
	dst := image.NewRGBA(image.Rect(0, 0, 32, 18))
	scaleToRGBA(dst, red)
	if c := dst.RGBAAt(16, 9); c != (color.RGBA{255, 0, 0, 255}) {
		t.Errorf("red BGRX previews as %v", c)
	}
	// A grab whose memory is shorter than its rectangle previews black.
	red.Pix = red.Pix[:len(red.Pix)-1]
	scaleToRGBA(dst, red)
	if c := dst.RGBAAt(16, 9); c != (color.RGBA{0, 0, 0, 255}) {
		t.Errorf("a short BGRX grab previews as %v, want black", c)
	}
}

// BenchmarkPreviewScreen1080pTo360p is a 1920x1080 BGRX screen grab to the
// 640x360 preview.
func BenchmarkPreviewScreen1080pTo360p(b *testing.B) {
	src := bgrxFrame(1920, 1080, 1920*4, func(x, y int) color.RGBA { return color.RGBA{byte(x), byte(y), byte(x * y), 0} })
	dst := image.NewRGBA(image.Rect(0, 0, 640, 360))
	b.ReportAllocs()
	for b.Loop() {
		scaleToRGBA(dst, src)
	}
}
