package app

import (
	"image"
	"image/color"
	"testing"
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
