package compose

import (
	"image"
	"image/color"
	"math"
	"testing"
)

// bgrxPic is a screen grab as capture.BGRX holds one: blue, green, red and a
// padding byte per pixel, rows stride apart, its memory from Rect.Min.
type bgrxPic struct {
	pix    []byte
	stride int
	rect   image.Rectangle
}

func (b *bgrxPic) BGRXPix() ([]byte, int)  { return b.pix, b.stride }
func (b *bgrxPic) Bounds() image.Rectangle { return b.rect }
func (b *bgrxPic) ColorModel() color.Model { return color.RGBAModel }
func (b *bgrxPic) Opaque() bool            { return true }
func (b *bgrxPic) At(x, y int) color.Color {
	o := (y-b.rect.Min.Y)*b.stride + (x-b.rect.Min.X)*4
	return color.RGBA{b.pix[o+2], b.pix[o+1], b.pix[o], 0xff}
}

// solidBGRX is a w×h grab of colour c whose padding bytes are 0 (transparent,
// were they alpha) and whose rows carry 32 bytes of padding that is never
// read; px, when set, colours pixel (x, y) instead.
func solidBGRX(w, h int, c color.NRGBA, px func(x, y int) color.NRGBA) *bgrxPic {
	stride := 4*w + 32
	m := &bgrxPic{pix: make([]byte, stride*h), stride: stride, rect: image.Rect(0, 0, w, h)}
	for y := range h {
		for x := range w {
			if px != nil {
				c = px(x, y)
			}
			o := y*stride + x*4
			m.pix[o], m.pix[o+1], m.pix[o+2], m.pix[o+3] = c.B, c.G, c.R, 0
		}
		for i := 4 * w; i < stride; i++ {
			m.pix[y*stride+i] = 0x5a
		}
	}
	return m
}

// A BGRX screen grab reaches libswscale as bgr0, read in place (nothing is
// staged or drawn), opaque whatever its fourth byte holds, and with the
// BT.709 matrix: red comes out as Y 63, Cb 102, Cr 240, not BT.601's.
func TestBGRXIsBT709OpaqueAndReadInPlace(t *testing.T) {
	want := rgbYUV(red)
	y601, cb601, _ := bt601(255, 0, 0)
	for _, tc := range []struct {
		name string
		w, h int
	}{{"scaled", 64, 36}, {"at canvas size", 320, 180}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCompositor(t, 320, 180)
			l := Layer{ID: 7, Frame: solidBGRX(tc.w, tc.h, red, nil), Rect: image.Rect(0, 0, 320, 180), Fit: FitStretch, Opacity: 1}
			dst := compose(t, c, background(320, 180), l)
			for _, p := range []image.Point{{0, 0}, {160, 90}, {319, 179}} {
				expectAt(t, dst, p.X, p.Y, want, 2, "red")
			}
			got := at(dst, 160, 90)
			if math.Abs(got.y-y601) <= 2 || math.Abs(got.cb-cb601) <= 2 {
				t.Errorf("red came out as BT.601 (Y %.1f Cb %.1f): got Y %.0f Cb %.0f", y601, cb601, got.y, got.cb)
			}
			e := c.entries[l.ID]
			if e == nil {
				t.Fatal("no conversion for the layer")
			}
			if e.drawn != nil || e.stage != nil {
				t.Error("the grab was staged (image/draw or a copy), not read in place")
			}
			if e.alpha || e.a != nil {
				t.Error("the grab was converted with alpha")
			}
			// New grabs of the same geometry are converted without allocating.
			if n := testing.AllocsPerRun(5, func() {
				l.Seq++
				if err := c.Compose(dst, []Layer{l}); err != nil {
					t.Fatal(err)
				}
			}); n != 0 {
				t.Errorf("Compose of a new BGRX grab allocates %.1f times", n)
			}
		})
	}
}

// A crop of a grab, and a grab whose rectangle does not start at 0,0, read
// the right pixels; memory too short for the rectangle is an error, not a
// crash.
func TestBGRXCropAndBounds(t *testing.T) {
	const w, h = 160, 90
	// Left 40 columns green, the rest red.
	split := func(x, _ int) color.NRGBA {
		if x < 40 {
			return green
		}
		return red
	}
	c := newCompositor(t, w, h)
	m := solidBGRX(160, 90, red, split)
	l := Layer{ID: 2, Frame: m, Rect: image.Rect(0, 0, w, h), Fit: FitStretch, Opacity: 1}
	dst := compose(t, c, l)
	expectAt(t, dst, 2, 45, rgbYUV(green), 2, "uncropped, left edge")
	l.Crop = Insets{Left: 40}
	dst = compose(t, c, l)
	for _, x := range []int{0, 1, 2, 80, 159} {
		expectAt(t, dst, x, 45, rgbYUV(red), 2, "cropped")
	}
	// The same memory under a rectangle at (100, 50).
	moved := *m
	moved.rect = image.Rect(100, 50, 260, 140)
	l.Frame, l.Crop, l.Seq = &moved, Insets{}, 1
	dst = compose(t, c, l)
	expectAt(t, dst, 2, 45, rgbYUV(green), 2, "moved rectangle, left edge")
	expectAt(t, dst, 120, 45, rgbYUV(red), 2, "moved rectangle, right")

	short := *m
	short.pix = short.pix[:len(short.pix)-4*w]
	l.Frame, l.Seq = &short, 2
	if err := c.Compose(NewFrame(w, h), []Layer{l}); err == nil {
		t.Error("a grab shorter than its rectangle was composed")
	}
	narrow := *m
	narrow.stride = 4*w - 4
	l.Frame, l.Seq = &narrow, 3
	if err := c.Compose(NewFrame(w, h), []Layer{l}); err == nil {
		t.Error("a grab whose stride is shorter than a row was composed")
	}
	var none *bgrxPic
	l.Frame, l.Seq = none, 4
	if err := c.Compose(NewFrame(w, h), []Layer{l}); err != nil {
		t.Errorf("a nil grab: %v", err)
	}
}
