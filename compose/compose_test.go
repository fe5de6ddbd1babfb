package compose

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"testing"
)

// bt709 is the BT.709 limited-range YCbCr of an 8-bit RGB colour, from the
// standard's formula (Kr 0.2126, Kb 0.0722).
func bt709(r, g, b uint8) (y, cb, cr float64) {
	return limited(r, g, b, 0.2126, 0.0722)
}

// bt601 is the same with BT.601's coefficients (Kr 0.299, Kb 0.114).
func bt601(r, g, b uint8) (y, cb, cr float64) {
	return limited(r, g, b, 0.299, 0.114)
}

func limited(r, g, b uint8, kr, kb float64) (y, cb, cr float64) {
	R, G, B := float64(r)/255, float64(g)/255, float64(b)/255
	l := kr*R + (1-kr-kb)*G + kb*B
	return 16 + 219*l, 128 + 224*(B-l)/(2*(1-kb)), 128 + 224*(R-l)/(2*(1-kr))
}

// yuv is a colour as the canvas holds it.
type yuv struct{ y, cb, cr float64 }

func rgbYUV(c color.NRGBA) yuv {
	y, cb, cr := bt709(c.R, c.G, c.B)
	return yuv{y, cb, cr}
}

// mid is the colour halfway between a and b.
func mid(a, b yuv) yuv { return yuv{(a.y + b.y) / 2, (a.cb + b.cb) / 2, (a.cr + b.cr) / 2} }

// at is the canvas colour at (x, y).
func at(m *image.YCbCr, x, y int) yuv {
	yo, co := m.YOffset(x, y), m.COffset(x, y)
	return yuv{float64(m.Y[yo]), float64(m.Cb[co]), float64(m.Cr[co])}
}

// near reports whether got is within tol of want on each component.
func near(got, want yuv, tol float64) bool {
	return math.Abs(got.y-want.y) <= tol && math.Abs(got.cb-want.cb) <= tol && math.Abs(got.cr-want.cr) <= tol
}

func expectAt(t *testing.T, m *image.YCbCr, x, y int, want yuv, tol float64, what string) {
	t.Helper()
	if got := at(m, x, y); !near(got, want, tol) {
		t.Errorf("%s at (%d,%d): got Y %.0f Cb %.0f Cr %.0f, want %.1f %.1f %.1f (±%g)",
			what, x, y, got.y, got.cb, got.cr, want.y, want.cb, want.cr, tol)
	}
}

func solidRGBA(w, h int, c color.RGBA) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return m
}

func solidNRGBA(w, h int, c color.NRGBA) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return m
}

func solidYCbCr(w, h int, ratio image.YCbCrSubsampleRatio, c yuv) *image.YCbCr {
	m := image.NewYCbCr(image.Rect(0, 0, w, h), ratio)
	for i := range m.Y {
		m.Y[i] = uint8(math.Round(c.y))
	}
	for i := range m.Cb {
		m.Cb[i], m.Cr[i] = uint8(math.Round(c.cb)), uint8(math.Round(c.cr))
	}
	return m
}

func newCompositor(t testing.TB, w, h int) *Compositor {
	t.Helper()
	c, err := New(w, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func compose(t testing.TB, c *Compositor, layers ...Layer) *image.YCbCr {
	t.Helper()
	dst := NewFrame(c.w, c.h)
	if err := c.Compose(dst, layers); err != nil {
		t.Fatal(err)
	}
	return dst
}

var (
	red   = color.NRGBA{255, 0, 0, 255}
	green = color.NRGBA{0, 200, 0, 255}
	blue  = color.NRGBA{0, 0, 255, 255}
	black = yuv{16, 128, 128}
)

// background is a full-canvas blue 4:2:0 layer, ID 1.
func background(w, h int) Layer {
	return Layer{ID: 1, Frame: solidYCbCr(w, h, image.YCbCrSubsampleRatio420, rgbYUV(blue)), Rect: image.Rect(0, 0, w, h), Fit: FitStretch, Opacity: 1}
}

// A red RGB source must come out as BT.709 limited range, whichever way it
// reaches libswscale, and not as libswscale's default BT.601.
func TestRedRGBIsBT709LimitedRange(t *testing.T) {
	want := rgbYUV(red)
	y601, cb601, _ := bt601(255, 0, 0)
	if math.Abs(want.y-63) > 1 || math.Abs(want.cb-102) > 1 || math.Abs(want.cr-240) > 1 {
		t.Fatalf("the test's formula gives %.1f %.1f %.1f for red, want about 63 102 240", want.y, want.cb, want.cr)
	}
	for _, tc := range []struct {
		name  string
		frame image.Image
		alpha bool
	}{
		{"RGBA screen", solidRGBA(64, 36, color.RGBA{255, 0, 0, 0}), false}, // alpha byte meaningless
		{"RGBA with alpha", solidRGBA(64, 36, color.RGBA{255, 0, 0, 255}), true},
		{"NRGBA", solidNRGBA(64, 36, red), false},
		{"NRGBA at canvas size", solidNRGBA(320, 180, red), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCompositor(t, 320, 180)
			dst := compose(t, c, Layer{ID: 7, Frame: tc.frame, Alpha: tc.alpha, Rect: image.Rect(0, 0, 320, 180), Fit: FitStretch, Opacity: 1})
			for _, p := range []image.Point{{0, 0}, {160, 90}, {319, 179}} {
				expectAt(t, dst, p.X, p.Y, want, 2, "red")
			}
			got := at(dst, 160, 90)
			if math.Abs(got.y-y601) <= 2 || math.Abs(got.cb-cb601) <= 2 {
				t.Errorf("red came out as BT.601 (Y %.1f Cb %.1f): got Y %.0f Cb %.0f", y601, cb601, got.y, got.cb)
			}
		})
	}
}

func TestGreyAndBlueAreBT709(t *testing.T) {
	for _, col := range []color.NRGBA{{255, 255, 255, 255}, {0, 0, 0, 255}, {128, 128, 128, 255}, blue, green} {
		c := newCompositor(t, 64, 64)
		dst := compose(t, c, Layer{ID: 1, Frame: solidNRGBA(8, 8, col), Rect: image.Rect(0, 0, 64, 64), Fit: FitStretch, Opacity: 1})
		expectAt(t, dst, 30, 30, rgbYUV(col), 2, "colour")
	}
}

func TestEmptyCanvasIsBlack(t *testing.T) {
	c := newCompositor(t, 64, 36)
	dst := NewFrame(64, 36)
	for i := range dst.Y {
		dst.Y[i] = 200
	}
	if err := c.Compose(dst, nil); err != nil {
		t.Fatal(err)
	}
	expectAt(t, dst, 10, 10, black, 0, "black")
	expectAt(t, dst, 63, 35, black, 0, "black")
}

// A picture-in-picture: its colour inside its rectangle, the background's
// outside, at known coordinates.
func TestPictureInPictureRectangle(t *testing.T) {
	const w, h = 320, 180
	c := newCompositor(t, w, h)
	pipRect := image.Rect(200, 100, 296, 154)
	pip := Layer{ID: 2, Frame: solidYCbCr(640, 360, image.YCbCrSubsampleRatio420, rgbYUV(green)), Rect: pipRect, Fit: FitStretch, Opacity: 1}
	dst := compose(t, c, background(w, h), pip)
	bg, fg := rgbYUV(blue), rgbYUV(green)
	for _, p := range []image.Point{{200, 100}, {201, 101}, {248, 127}, {295, 153}, {294, 152}} {
		expectAt(t, dst, p.X, p.Y, fg, 2, "inside the PiP")
	}
	for _, p := range []image.Point{{198, 100}, {297, 153}, {250, 98}, {250, 155}, {0, 0}, {319, 179}, {100, 120}} {
		expectAt(t, dst, p.X, p.Y, bg, 2, "outside the PiP")
	}
	// A PiP converted from RGB has sharp edges too.
	pip.Frame, pip.ID = solidRGBA(1920, 1080, color.RGBA{0, 200, 0, 255}), 3
	dst = compose(t, c, background(w, h), pip)
	expectAt(t, dst, 201, 101, fg, 2, "inside the RGB PiP")
	expectAt(t, dst, 294, 152, fg, 2, "inside the RGB PiP")
	expectAt(t, dst, 198, 100, bg, 2, "outside the RGB PiP")
	expectAt(t, dst, 297, 153, bg, 2, "outside the RGB PiP")
}

func TestNRGBAAlphaBlendsOverBackground(t *testing.T) {
	const w, h = 128, 72
	bg, fg := rgbYUV(blue), rgbYUV(red)
	for _, tc := range []struct {
		alpha uint8
		want  yuv
	}{{0, bg}, {255, fg}, {128, mid(bg, fg)}} {
		c := newCompositor(t, w, h)
		layer := Layer{ID: 2, Frame: solidNRGBA(40, 20, color.NRGBA{255, 0, 0, tc.alpha}), Rect: image.Rect(0, 0, w, h), Fit: FitStretch, Opacity: 1}
		dst := compose(t, c, background(w, h), layer)
		for _, p := range []image.Point{{0, 0}, {64, 36}, {127, 71}} {
			expectAt(t, dst, p.X, p.Y, tc.want, 2, fmt.Sprintf("alpha %d", tc.alpha))
		}
	}
}

// An RGBA with Layer.Alpha is premultiplied: (128,0,0,128) is red at half.
func TestPremultipliedRGBAAlpha(t *testing.T) {
	const w, h = 128, 72
	c := newCompositor(t, w, h)
	layer := Layer{ID: 2, Frame: solidRGBA(32, 18, color.RGBA{128, 0, 0, 128}), Alpha: true, Rect: image.Rect(0, 0, w, h), Fit: FitStretch, Opacity: 1}
	dst := compose(t, c, background(w, h), layer)
	expectAt(t, dst, 64, 36, mid(rgbYUV(blue), rgbYUV(red)), 2, "half red")
}

// Alpha that varies inside a row: the runs at 0, at 255 (long enough to be
// copied, and short) and between all land where they should.
func TestAlphaRunsWithinRows(t *testing.T) {
	const w, h = 128, 8
	c := newCompositor(t, w, h)
	src := image.NewNRGBA(image.Rect(0, 0, w, h))
	alphaAt := func(x int) uint8 {
		switch {
		case x < 20:
			return 0
		case x < 60:
			return 255
		case x < 64:
			return 128
		case x < 68:
			return 255
		case x < 80:
			return 0
		}
		return 64
	}
	for y := range h {
		for x := range w {
			src.SetNRGBA(x, y, color.NRGBA{255, 0, 0, alphaAt(x)})
		}
	}
	dst := compose(t, c, background(w, h), Layer{ID: 2, Frame: src, Rect: image.Rect(0, 0, w, h), Fit: FitStretch, Opacity: 1})
	bg, fg := rgbYUV(blue), rgbYUV(red)
	blend := func(a float64) yuv {
		return yuv{bg.y + (fg.y-bg.y)*a, bg.cb + (fg.cb-bg.cb)*a, bg.cr + (fg.cr-bg.cr)*a}
	}
	for _, x := range []int{2, 18, 22, 40, 58, 66, 70, 78, 82, 100, 126} {
		want := blend(float64(alphaAt(x)) / 255)
		got := at(dst, x, 4)
		if math.Abs(got.y-want.y) > 2 {
			t.Errorf("x %d, alpha %d: Y %.0f, want %.1f", x, alphaAt(x), got.y, want.y)
		}
	}
}

func TestOpacityHalfIsMidpoint(t *testing.T) {
	const w, h = 128, 72
	bg, fg := rgbYUV(blue), rgbYUV(red)
	for _, tc := range []struct {
		name  string
		frame image.Image
	}{
		{"YCbCr at canvas size", solidYCbCr(w, h, image.YCbCrSubsampleRatio420, fg)},
		{"YCbCr scaled", solidYCbCr(64, 36, image.YCbCrSubsampleRatio420, fg)},
		{"YCbCr 4:2:2 at canvas size", solidYCbCr(w, h, image.YCbCrSubsampleRatio422, fg)},
		{"RGBA", solidRGBA(64, 36, color.RGBA{255, 0, 0, 255})},
		{"NRGBA", solidNRGBA(64, 36, red)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCompositor(t, w, h)
			layer := Layer{ID: 2, Frame: tc.frame, Rect: image.Rect(0, 0, w, h), Fit: FitStretch, Opacity: 0.5}
			dst := compose(t, c, background(w, h), layer)
			expectAt(t, dst, 64, 36, mid(bg, fg), 2, "half opacity")
			layer.Opacity = 0
			dst = compose(t, c, background(w, h), layer)
			expectAt(t, dst, 64, 36, bg, 0.5, "opacity 0")
		})
	}
}

// A 16:9 source in a square box: Fit letterboxes (the bars show what is
// below), Fill covers the box cutting the source's sides, Stretch fills it.
func TestFitFillStretchInSquareBox(t *testing.T) {
	const w, h = 320, 320
	box := image.Rect(60, 60, 260, 260) // 200×200
	// 320×180: a green band 40 wide on the left and right, red between.
	src := solidNRGBA(320, 180, red)
	for y := range 180 {
		for x := range 40 {
			src.SetNRGBA(x, y, green)
			src.SetNRGBA(319-x, y, green)
		}
	}
	bg, r, g := rgbYUV(blue), rgbYUV(red), rgbYUV(green)
	layer := func(fit Fit) Layer {
		return Layer{ID: 2, Frame: src, Rect: box, Fit: fit, Opacity: 1}
	}

	c := newCompositor(t, w, h)
	// Fit: 200×112.5 centred, rows 103.75..216.25, even: 104..216.
	dst := compose(t, c, background(w, h), layer(FitInside))
	expectAt(t, dst, 160, 80, bg, 2, "Fit: the bar above")
	expectAt(t, dst, 160, 102, bg, 2, "Fit: the bar above, next to the picture")
	expectAt(t, dst, 160, 105, r, 2, "Fit: the picture's top")
	expectAt(t, dst, 160, 160, r, 2, "Fit: the picture")
	expectAt(t, dst, 62, 160, g, 2, "Fit: the picture's left band")
	expectAt(t, dst, 257, 160, g, 2, "Fit: the picture's right band")
	expectAt(t, dst, 160, 214, r, 2, "Fit: the picture's bottom")
	expectAt(t, dst, 160, 217, bg, 2, "Fit: the bar below, next to the picture")
	expectAt(t, dst, 160, 240, bg, 2, "Fit: the bar below")
	expectAt(t, dst, 40, 160, bg, 2, "Fit: left of the box")

	// Fill: the middle 180×180 of the source (x 70..250) fills the box:
	// no green band is left.
	dst = compose(t, c, background(w, h), layer(FitFill))
	for _, p := range []image.Point{{61, 61}, {160, 160}, {258, 258}, {61, 200}, {258, 100}} {
		expectAt(t, dst, p.X, p.Y, r, 2, "Fill")
	}
	expectAt(t, dst, 58, 160, bg, 2, "Fill: left of the box")
	expectAt(t, dst, 262, 160, bg, 2, "Fill: right of the box")

	// Stretch: all of it, bands included, squeezed into the box.
	dst = compose(t, c, background(w, h), layer(FitStretch))
	expectAt(t, dst, 62, 62, g, 2, "Stretch: the left band")
	expectAt(t, dst, 257, 257, g, 2, "Stretch: the right band")
	expectAt(t, dst, 160, 62, r, 2, "Stretch: the top, middle")
	expectAt(t, dst, 160, 257, r, 2, "Stretch: the bottom, middle")
}

func TestCropRemovesTheCutEdge(t *testing.T) {
	const w, h = 160, 90
	for _, name := range []string{"NRGBA", "YCbCr"} {
		t.Run(name, func(t *testing.T) {
			// A 160×90 source, its left 40 columns green, the rest red.
			var frame image.Image
			if name == "NRGBA" {
				m := solidNRGBA(160, 90, red)
				for y := range 90 {
					for x := range 40 {
						m.SetNRGBA(x, y, green)
					}
				}
				frame = m
			} else {
				m := solidYCbCr(160, 90, image.YCbCrSubsampleRatio420, rgbYUV(red))
				g := rgbYUV(green)
				for y := range 90 {
					for x := range 40 {
						m.Y[m.YOffset(x, y)] = uint8(math.Round(g.y))
						m.Cb[m.COffset(x, y)], m.Cr[m.COffset(x, y)] = uint8(math.Round(g.cb)), uint8(math.Round(g.cr))
					}
				}
				frame = m
			}
			c := newCompositor(t, w, h)
			l := Layer{ID: 2, Frame: frame, Rect: image.Rect(0, 0, w, h), Fit: FitStretch, Opacity: 1}
			dst := compose(t, c, l)
			expectAt(t, dst, 2, 45, rgbYUV(green), 2, "uncropped, left edge")
			l.Crop = Insets{Left: 40}
			dst = compose(t, c, l)
			for _, x := range []int{0, 1, 2, 80, 159} {
				expectAt(t, dst, x, 45, rgbYUV(red), 2, "cropped")
			}
		})
	}
}

// Layers partly or wholly off the canvas, and every other odd input, draw
// what is on the canvas and never panic.
func TestOffCanvasAndOddLayers(t *testing.T) {
	const w, h = 160, 90
	c := newCompositor(t, w, h)
	g, bg := rgbYUV(green), rgbYUV(blue)
	yc := solidYCbCr(64, 36, image.YCbCrSubsampleRatio420, g)
	nr := solidNRGBA(64, 36, green)
	dst := compose(t, c, background(w, h),
		Layer{ID: 2, Frame: yc, Rect: image.Rect(-50, -30, 40, 20), Fit: FitStretch, Opacity: 1},
		Layer{ID: 3, Frame: nr, Rect: image.Rect(130, 70, 330, 190), Fit: FitStretch, Opacity: 1},
	)
	expectAt(t, dst, 0, 0, g, 2, "top-left, clipped")
	expectAt(t, dst, 38, 18, g, 2, "top-left, clipped")
	expectAt(t, dst, 42, 22, bg, 2, "beyond the top-left layer")
	expectAt(t, dst, 159, 89, g, 2, "bottom-right, clipped")
	expectAt(t, dst, 131, 71, g, 2, "bottom-right, clipped")
	expectAt(t, dst, 128, 68, bg, 2, "before the bottom-right layer")

	var nilRGBA *image.RGBA
	var nilGray *image.Gray
	odd := []Layer{
		{ID: 10, Frame: yc, Rect: image.Rect(500, 500, 600, 600), Opacity: 1},     // off the canvas
		{ID: 11, Frame: yc, Rect: image.Rect(-600, -600, -500, -500), Opacity: 1}, // off the other side
		{ID: 12, Frame: yc, Rect: image.Rect(10, 10, 10, 50), Opacity: 1},         // zero width
		{ID: 13, Frame: yc, Rect: image.Rect(50, 50, 10, 10), Opacity: 1},         // inverted
		{ID: 14, Frame: yc, Rect: image.Rect(0, 0, 1, 1), Opacity: 1},             // under a pixel
		{ID: 15, Frame: yc, Rect: image.Rect(0, 0, w, h), Crop: Insets{Left: 10, Right: 10}, Opacity: 1},
		{ID: 16, Frame: yc, Rect: image.Rect(0, 0, w, h), Crop: Insets{Top: 1000}, Opacity: 1},
		{ID: 17, Frame: nil, Rect: image.Rect(0, 0, w, h), Opacity: 1},
		{ID: 18, Frame: nilRGBA, Rect: image.Rect(0, 0, w, h), Opacity: 1},
		{ID: 19, Frame: nilGray, Rect: image.Rect(0, 0, w, h), Opacity: 1},
		{ID: 20, Frame: image.NewRGBA(image.Rect(0, 0, 0, 0)), Rect: image.Rect(0, 0, w, h), Opacity: 1},
		{ID: 21, Frame: yc, Rect: image.Rect(0, 0, w, h), Opacity: math.NaN()},
		{ID: 22, Frame: yc, Rect: image.Rect(0, 0, w, h), Opacity: -1},
		{ID: 23, Frame: nr, Rect: image.Rect(-1<<40, -1<<40, 1<<40, 1<<40), Fit: FitFill, Opacity: 0.5},
		{ID: 24, Frame: nr, Rect: image.Rect(-1<<40, 0, 1<<40, 10), Fit: FitInside, Opacity: 0.5},
		{ID: 25, Frame: nr, Rect: image.Rect(3, 5, 7, 9), Crop: Insets{-5, -5, 63, 35}, Opacity: 1}, // one source pixel
		{ID: 26, Frame: yc, Rect: image.Rect(0, 0, w, h), Fit: Fit(99), Crop: Insets{math.MaxInt, 0, math.MaxInt, 0}, Opacity: 1},
		{ID: 27, Frame: &image.YCbCr{Rect: image.Rect(0, 0, 64, 36), SubsampleRatio: image.YCbCrSubsampleRatio420}, Rect: image.Rect(0, 0, 64, 36), Opacity: 1}, // no planes
		{ID: 28, Frame: &image.NRGBA{Rect: image.Rect(0, 0, 64, 36), Stride: 256}, Rect: image.Rect(0, 0, 64, 36), Opacity: 1},                                  // no pixels
	}
	for i, l := range odd {
		err := c.Compose(NewFrame(w, h), []Layer{background(w, h), l})
		if want := l.ID >= 27; (err != nil) != want {
			t.Errorf("odd layer %d (ID %d): error %v, want one: %v", i, l.ID, err, want)
		}
	}
	// All at once: the last visible one is the cropped layer 15, covering the
	// canvas; the frames without pixels are reported.
	dst = NewFrame(w, h)
	if err := c.Compose(dst, append([]Layer{background(w, h)}, odd...)); err == nil {
		t.Error("frames without pixels raised no error")
	} else {
		t.Logf("error as expected: %v", err)
	}
	expectAt(t, dst, 80, 45, g, 2, "the cropped layer's middle")
}

// A new Seq converts again; an unchanged one does not.
func TestSeqDecidesConversion(t *testing.T) {
	c := newCompositor(t, 160, 90)
	l := Layer{ID: 5, Frame: solidRGBA(64, 36, color.RGBA{255, 0, 0, 255}), Seq: 1, Rect: image.Rect(10, 10, 74, 46), Fit: FitStretch, Opacity: 1}
	compose(t, c, l)
	if c.conversions != 1 {
		t.Fatalf("%d conversions after the first frame, want 1", c.conversions)
	}
	for range 5 {
		compose(t, c, l)
	}
	if c.conversions != 1 {
		t.Fatalf("%d conversions after repeating Seq 1, want 1", c.conversions)
	}
	l.Seq = 2
	l.Frame = solidRGBA(64, 36, color.RGBA{0, 0, 255, 255})
	dst := compose(t, c, l)
	if c.conversions != 2 {
		t.Fatalf("%d conversions after Seq 2, want 2", c.conversions)
	}
	expectAt(t, dst, 40, 20, rgbYUV(blue), 2, "the new frame")
	l.Rect = l.Rect.Add(image.Pt(20, 0)) // moved: the same size, no conversion
	compose(t, c, l)
	if c.conversions != 2 {
		t.Fatalf("%d conversions after a move, want 2", c.conversions)
	}
	l.Rect.Max.X += 20 // resized: converted again
	compose(t, c, l)
	if c.conversions != 3 {
		t.Fatalf("%d conversions after a resize, want 3", c.conversions)
	}
}

// A 4:2:0 frame at its size on the canvas is copied, never converted.
func TestCanvasSizeYCbCrIsCopiedAsIs(t *testing.T) {
	const w, h = 160, 90
	c := newCompositor(t, w, h)
	src := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for i := range src.Y {
		src.Y[i] = byte(16 + i%200)
	}
	for i := range src.Cb {
		src.Cb[i], src.Cr[i] = byte(20+i%180), byte(30+i%170)
	}
	dst := compose(t, c, Layer{ID: 1, Frame: src, Seq: 1, Rect: image.Rect(0, 0, w, h), Opacity: 1})
	if c.conversions != 0 {
		t.Errorf("%d conversions of a canvas-size 4:2:0 frame", c.conversions)
	}
	for y := range h {
		for x := range w {
			if dst.Y[dst.YOffset(x, y)] != src.Y[src.YOffset(x, y)] || dst.Cb[dst.COffset(x, y)] != src.Cb[src.COffset(x, y)] ||
				dst.Cr[dst.COffset(x, y)] != src.Cr[src.COffset(x, y)] {
				t.Fatalf("(%d,%d) differs from the source", x, y)
			}
		}
	}
}

// A 4:2:2 frame at its size on the canvas is not converted either: its luma
// is copied and each pair of chroma rows averaged.
func TestCanvasSize422IsAveragedNotConverted(t *testing.T) {
	const w, h = 160, 90
	c := newCompositor(t, w, h)
	src := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio422)
	for i := range src.Y {
		src.Y[i] = byte(16 + i%200)
	}
	for y := range h {
		for x := range w / 2 {
			src.Cb[y*src.CStride+x] = byte(100 + 11*(y%2) + x%7)
			src.Cr[y*src.CStride+x] = byte(200 - 5*(y%2) - x%3)
		}
	}
	dst := compose(t, c, Layer{ID: 1, Frame: src, Seq: 1, Rect: image.Rect(0, 0, w, h), Opacity: 1})
	if c.conversions != 0 {
		t.Errorf("%d conversions of a canvas-size 4:2:2 frame", c.conversions)
	}
	if string(dst.Y) != string(src.Y) {
		t.Error("luma differs from the source")
	}
	for y := range h / 2 {
		for x := range w / 2 {
			a, b := src.Cb[2*y*src.CStride+x], src.Cb[(2*y+1)*src.CStride+x]
			if got, want := dst.Cb[y*dst.CStride+x], byte((int(a)+int(b)+1)/2); got != want {
				t.Fatalf("Cb (%d,%d): %d, want %d", x, y, got, want)
			}
			a, b = src.Cr[2*y*src.CStride+x], src.Cr[(2*y+1)*src.CStride+x]
			if got, want := dst.Cr[y*dst.CStride+x], byte((int(a)+int(b)+1)/2); got != want {
				t.Fatalf("Cr (%d,%d): %d, want %d", x, y, got, want)
			}
		}
	}
}

func TestAvgRowMatchesScalar(t *testing.T) {
	a, b, d := make([]byte, 67), make([]byte, 67), make([]byte, 67)
	for i := range a {
		a[i], b[i] = byte(i*37), byte(255-i*11)
	}
	avgRow(d, a, b)
	for i := range d {
		if want := (int(a[i]) + int(b[i]) + 1) / 2; int(d[i]) != want {
			t.Fatalf("sample %d: mean of %d and %d is %d, want %d", i, a[i], b[i], d[i], want)
		}
	}
}

// A layer covered by an opaque full-canvas layer is neither converted nor
// drawn; one with alpha above does not hide it.
func TestCoveredLayersAreSkipped(t *testing.T) {
	const w, h = 160, 90
	c := newCompositor(t, w, h)
	under := Layer{ID: 2, Frame: solidRGBA(64, 36, color.RGBA{255, 0, 0, 255}), Rect: image.Rect(10, 10, 74, 46), Opacity: 1}
	top := background(w, h)
	compose(t, c, under, top)
	if c.conversions != 0 {
		t.Errorf("a covered layer was converted (%d)", c.conversions)
	}
	top.Opacity = 0.5
	compose(t, c, under, top)
	if c.conversions != 1 {
		t.Errorf("a layer under a half-opaque one was not converted (%d)", c.conversions)
	}
	// An opaque NRGBA (a JPEG, a colour) hides what is below once converted.
	under.Seq, under.Frame = 9, solidRGBA(64, 36, color.RGBA{0, 255, 0, 255})
	opaque := Layer{ID: 3, Frame: solidNRGBA(16, 16, green), Rect: image.Rect(0, 0, w, h), Fit: FitStretch, Opacity: 1}
	compose(t, c, under, opaque) // converts both: opaque's opacity is known only after
	n := c.conversions
	under.Seq = 10
	dst := compose(t, c, under, opaque)
	if c.conversions != n {
		t.Errorf("a layer under an opaque NRGBA was converted again")
	}
	expectAt(t, dst, 40, 20, rgbYUV(green), 2, "the opaque NRGBA")
}

// When IDs change every frame, the cache holds what the last layers need
// and a few more, not one entry per ID ever seen.
func TestCacheStaysBoundedWhenIDsChange(t *testing.T) {
	c := newCompositor(t, 160, 90)
	frame := solidRGBA(32, 18, color.RGBA{255, 0, 0, 255})
	for i := range 500 {
		compose(t, c,
			Layer{ID: uint64(1000 + i), Frame: frame, Rect: image.Rect(0, 0, 32, 18), Opacity: 1},
			Layer{ID: uint64(5000 + i), Frame: frame, Rect: image.Rect(40, 0, 72, 18), Opacity: 1})
		if len(c.entries) > 2+spareEntries {
			t.Fatalf("after %d frames: %d cache entries", i+1, len(c.entries))
		}
	}
}

// An entry whose layer is gone is freed after evictAfter calls, even with
// room to spare.
func TestGoneLayerIsEvicted(t *testing.T) {
	c := newCompositor(t, 160, 90)
	l := Layer{ID: 42, Frame: solidRGBA(32, 18, color.RGBA{255, 0, 0, 255}), Rect: image.Rect(0, 0, 32, 18), Opacity: 1}
	compose(t, c, l)
	e := c.entries[42]
	if e == nil || e.sws == nil {
		t.Fatal("no cache entry with a scaler for the layer")
	}
	for range evictAfter - 1 {
		compose(t, c)
	}
	if c.entries[42] == nil {
		t.Fatal("evicted too early")
	}
	compose(t, c)
	if c.entries[42] != nil {
		t.Fatal("an entry gone for evictAfter calls is still cached")
	}
	if e.sws != nil || e.mem != nil {
		t.Error("the evicted entry's scaler was not freed")
	}
}

func TestComposeSteadyStateAllocatesNothing(t *testing.T) {
	const w, h = 640, 360
	c := newCompositor(t, w, h)
	layers := []Layer{
		{ID: 1, Frame: solidYCbCr(w, h, image.YCbCrSubsampleRatio420, rgbYUV(blue)), Rect: image.Rect(0, 0, w, h), Opacity: 1},
		{ID: 2, Frame: solidYCbCr(1280, 720, image.YCbCrSubsampleRatio420, rgbYUV(green)), Rect: image.Rect(400, 200, 560, 290), Opacity: 1},
		{ID: 3, Frame: solidRGBA(320, 180, color.RGBA{0, 0, 0, 0}), Rect: image.Rect(20, 20, 180, 110), Opacity: 0.7},
		{ID: 4, Frame: textLike(200, 40), Rect: image.Rect(40, 300, 240, 340), Opacity: 1},
		{ID: 5, Frame: logoLike(64), Rect: image.Rect(560, 20, 624, 84), Opacity: 0.8},
		{ID: 6, Frame: solidYCbCr(320, 180, image.YCbCrSubsampleRatio422, rgbYUV(red)), Rect: image.Rect(300, 20, 460, 110), Opacity: 1},
	}
	dst := NewFrame(w, h)
	if err := c.Compose(dst, layers); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(50, func() {
		if err := c.Compose(dst, layers); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("steady-state Compose allocates %.1f times", n)
	}
	// New frames of the same geometry are converted into the buffers there.
	if n := testing.AllocsPerRun(20, func() {
		layers[1].Seq++
		layers[5].Seq++
		layers[2].Seq++
		if err := c.Compose(dst, layers); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Compose with new frames allocates %.1f times", n)
	}
}

func TestMixMidpointAndEnds(t *testing.T) {
	const w, h = 66, 38 // a width that leaves a tail after the 8-sample words
	a, b := NewFrame(w, h), NewFrame(w, h)
	for i := range a.Y {
		a.Y[i], b.Y[i] = byte(i), byte(255-i%256)
	}
	for i := range a.Cb {
		a.Cb[i], b.Cb[i] = byte(3*i), byte(200-i%100)
		a.Cr[i], b.Cr[i] = 16, 240
	}
	var c *Compositor // Mix needs no compositor state
	dst := NewFrame(w, h)
	c.Mix(dst, a, b, 0.5)
	for i := range dst.Y {
		if want := (int(a.Y[i]) + int(b.Y[i]) + 1) / 2; int(dst.Y[i]) != want {
			t.Fatalf("Y[%d]: %d and %d mix to %d, want %d", i, a.Y[i], b.Y[i], dst.Y[i], want)
		}
	}
	for i := range dst.Cb {
		if want := (int(a.Cb[i]) + int(b.Cb[i]) + 1) / 2; int(dst.Cb[i]) != want {
			t.Fatalf("Cb[%d]: %d and %d mix to %d, want %d", i, a.Cb[i], b.Cb[i], dst.Cb[i], want)
		}
		if dst.Cr[i] != 128 {
			t.Fatalf("Cr[%d] = %d, want 128", i, dst.Cr[i])
		}
	}
	for _, tc := range []struct {
		t    float64
		want *image.YCbCr
	}{{0, a}, {-1, a}, {math.NaN(), a}, {1, b}, {2, b}} {
		c.Mix(dst, a, b, tc.t)
		if string(dst.Y) != string(tc.want.Y) || string(dst.Cb) != string(tc.want.Cb) || string(dst.Cr) != string(tc.want.Cr) {
			t.Errorf("t=%v is not the expected end picture", tc.t)
		}
	}
	c.Mix(dst, a, b, 0.25)
	if got, want := int(dst.Y[100]), (int(a.Y[100])*192+int(b.Y[100])*64+128)>>8; got != want {
		t.Errorf("t=0.25: %d, want %d", got, want)
	}
	// Odd inputs do nothing, without panicking.
	c.Mix(nil, a, b, 0.5)
	c.Mix(dst, NewFrame(0, 0), b, 0.5)
	c.Mix(dst, image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio444), b, 0.5)
	c.Mix(NewFrame(10, 10), a, b, 0.5)
}

func TestMixRowMatchesScalar(t *testing.T) {
	a, b, d := make([]byte, 67), make([]byte, 67), make([]byte, 67)
	for i := range a {
		a[i], b[i] = byte(i*37), byte(255-i*11)
	}
	for _, w := range []int{0, 1, 64, 127, 128, 200, 255, 256} {
		mixRow(d, a, b, w)
		for i := range d {
			if want := (int(a[i])*(256-w) + int(b[i])*w + 128) >> 8; int(d[i]) != want {
				t.Fatalf("w %d, sample %d: %d, want %d", w, i, d[i], want)
			}
		}
	}
}

func TestDiv255(t *testing.T) {
	for x := 0; x <= 255*255; x++ {
		if got, want := div255(x), int(math.Round(float64(x)/255)); got != want {
			t.Fatalf("div255(%d) = %d, want %d", x, got, want)
		}
	}
}

func TestOtherSourceTypes(t *testing.T) {
	const w, h = 64, 36
	gray := image.NewGray(image.Rect(0, 0, 16, 16))
	for i := range gray.Pix {
		gray.Pix[i] = 255
	}
	n64 := image.NewNRGBA64(image.Rect(0, 0, 16, 16))
	for y := range 16 {
		for x := range 16 {
			n64.SetNRGBA64(x, y, color.NRGBA64{0xffff, 0, 0, 0x8080})
		}
	}
	nycc := image.NewNYCbCrA(image.Rect(0, 0, 16, 16), image.YCbCrSubsampleRatio420)
	r := rgbYUV(red)
	for i := range nycc.Y {
		nycc.Y[i], nycc.A[i] = uint8(math.Round(r.y)), 128
	}
	for i := range nycc.Cb {
		nycc.Cb[i], nycc.Cr[i] = uint8(math.Round(r.cb)), uint8(math.Round(r.cr))
	}
	half := mid(rgbYUV(blue), r)
	for _, tc := range []struct {
		name  string
		frame image.Image
		want  yuv
	}{
		{"Gray", gray, yuv{235, 128, 128}},
		{"NRGBA64", n64, half},
		{"NYCbCrA", nycc, half},
		{"YCbCr 4:2:2", solidYCbCr(16, 16, image.YCbCrSubsampleRatio422, r), r},
		{"YCbCr 4:4:4", solidYCbCr(16, 16, image.YCbCrSubsampleRatio444, r), r},
		{"YCbCr 4:4:0", solidYCbCr(16, 16, image.YCbCrSubsampleRatio440, r), r},
		{"YCbCr 4:1:1", solidYCbCr(16, 16, image.YCbCrSubsampleRatio411, r), r},
		{"YCbCr 4:1:0", solidYCbCr(16, 16, image.YCbCrSubsampleRatio410, r), r},
		{"YCbCr 4:2:0 sub-image", solidYCbCr(64, 64, image.YCbCrSubsampleRatio420, r).SubImage(image.Rect(3, 5, 33, 41)), r},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCompositor(t, w, h)
			dst := compose(t, c, background(w, h), Layer{ID: 2, Frame: tc.frame, Rect: image.Rect(0, 0, w, h), Fit: FitStretch, Opacity: 1})
			expectAt(t, dst, 32, 18, tc.want, 2, tc.name)
		})
	}
}

func TestNewAndCompose(t *testing.T) {
	for _, sz := range [][2]int{{0, 10}, {10, 0}, {-2, 2}, {3, 2}, {2, 5}, {1 << 20, 2}} {
		if c, err := New(sz[0], sz[1]); err == nil {
			c.Close()
			t.Errorf("New(%d, %d) accepted", sz[0], sz[1])
		}
	}
	c := newCompositor(t, 64, 36)
	for _, dst := range []*image.YCbCr{nil, NewFrame(62, 36), image.NewYCbCr(image.Rect(0, 0, 64, 36), image.YCbCrSubsampleRatio444),
		{Rect: image.Rect(0, 0, 64, 36), SubsampleRatio: image.YCbCrSubsampleRatio420, YStride: 64, CStride: 32}} {
		if err := c.Compose(dst, nil); err == nil {
			t.Errorf("a bad destination was accepted")
		}
	}
	if f := NewFrame(-1, 4); f.Rect.Dx() != 0 {
		t.Errorf("NewFrame(-1, 4) is %v", f.Rect)
	}
	c.Close()
	c.Close()
	if err := c.Compose(NewFrame(64, 36), nil); err == nil {
		t.Error("Compose after Close succeeded")
	}
}

func TestCloseFreesScalers(t *testing.T) {
	c, err := New(64, 36)
	if err != nil {
		t.Fatal(err)
	}
	dst := NewFrame(64, 36)
	if err := c.Compose(dst, []Layer{
		{ID: 1, Frame: solidRGBA(20, 20, color.RGBA{1, 2, 3, 255}), Rect: image.Rect(0, 0, 30, 30), Opacity: 1},
		{ID: 2, Frame: solidNRGBA(20, 20, red), Rect: image.Rect(30, 0, 60, 30), Opacity: 1},
	}); err != nil {
		t.Fatal(err)
	}
	es := []*entry{c.entries[1], c.entries[2]}
	c.Close()
	for i, e := range es {
		if e == nil || e.sws != nil {
			t.Errorf("entry %d: scaler not freed", i+1)
		}
	}
	if len(c.entries) != 0 {
		t.Errorf("%d entries left after Close", len(c.entries))
	}
}

// textLike is a w×h NRGBA with the alpha of rendered text: mostly clear,
// strokes opaque, their edges partly.
func textLike(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := h / 5; y < h-h/5; y++ {
		for x := range w {
			var a uint8
			switch p := x % 14; {
			case p >= 3 && p < 9:
				a = 255
			case p == 2 || p == 9:
				a = 140
			}
			if y == h/5 || y == h-h/5-1 {
				a /= 2
			}
			if (y-h/5)%20 < 3 && x%14 < 12 {
				a = 255
			}
			m.SetNRGBA(x, y, color.NRGBA{250, 250, 250, a})
		}
	}
	return m
}

// logoLike is a s×s NRGBA disc with a soft edge, transparent around it.
func logoLike(s int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, s, s))
	r := float64(s)/2 - 4
	for y := range s {
		for x := range s {
			d := math.Hypot(float64(x)+0.5-float64(s)/2, float64(y)+0.5-float64(s)/2)
			a := math.Max(0, math.Min(1, r-d+0.5))
			m.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / s), 80, uint8(y * 255 / s), uint8(a*255 + 0.5)})
		}
	}
	return m
}

// A picture shrunk 4× is the average of each 4×4 block, near enough: fine
// detail neither aliases (as FastBilinear's two taps make it) nor blurs
// beyond its block. The PSNR against an exact box average is the measure.
func TestShrinkingAveragesLikeABox(t *testing.T) {
	const W, H, k = 960, 544, 4
	src := image.NewYCbCr(image.Rect(0, 0, W, H), image.YCbCrSubsampleRatio420)
	for y := range H {
		for x := range W {
			fx, fy := float64(x), float64(y)
			v := 0.5 + 0.15*math.Sin(fx*0.05+fy*0.03) + 0.15*math.Sin((fx*fx+fy*fy)*0.0016) +
				0.1*math.Sin(fx*1.3) + 0.1*math.Sin(fy*0.9+fx*0.7)
			src.Y[y*src.YStride+x] = uint8(16 + 219*math.Max(0, math.Min(1, v)))
		}
	}
	for i := range src.Cb {
		src.Cb[i], src.Cr[i] = 128, 128
	}
	c := newCompositor(t, W/k, H/k)
	dst := compose(t, c, Layer{ID: 1, Frame: src, Rect: image.Rect(0, 0, W/k, H/k), Opacity: 1})
	var se float64
	for y := range H / k {
		for x := range W / k {
			sum := 0
			for j := range k {
				for i := range k {
					sum += int(src.Y[(k*y+j)*src.YStride+k*x+i])
				}
			}
			d := float64(dst.Y[y*dst.YStride+x]) - float64(sum)/(k*k)
			se += d * d
		}
	}
	psnr := 10 * math.Log10(255*255/(se/float64(W/k*H/k)))
	t.Logf("PSNR against a 4×4 box average: %.1f dB", psnr)
	if psnr < 40 {
		t.Errorf("PSNR against a 4×4 box average is %.1f dB, want at least 40", psnr)
	}
}

// Odd box edges round to the nearest even coordinate (halves up), so the
// picture's chroma lines up with the canvas's; a YCbCr source's rectangle
// widens to its chroma grid.
func TestPlaceRoundsToEvenAndChromaGrid(t *testing.T) {
	canvas := image.Rect(0, 0, 320, 180)
	for _, tc := range []struct {
		fb         image.Rectangle
		crop       Insets
		box        image.Rectangle
		fit        Fit
		hsub, vsub int
		v, src     image.Rectangle
	}{
		{image.Rect(0, 0, 64, 36), Insets{}, image.Rect(1, 3, 101, 57), FitStretch, 1, 1, image.Rect(2, 4, 102, 58), image.Rect(0, 0, 64, 36)},
		{image.Rect(0, 0, 64, 36), Insets{Left: 3, Top: 1}, image.Rect(0, 0, 61, 35), FitStretch, 2, 2, image.Rect(0, 0, 62, 36), image.Rect(2, 0, 64, 36)},
		{image.Rect(0, 0, 64, 36), Insets{}, image.Rect(-32, -18, 32, 18), FitStretch, 2, 2, image.Rect(0, 0, 32, 18), image.Rect(32, 18, 64, 36)},
		{image.Rect(0, 0, 160, 90), Insets{}, image.Rect(0, 0, 100, 100), FitInside, 1, 1, image.Rect(0, 22, 100, 78), image.Rect(0, 0, 160, 90)},
		{image.Rect(0, 0, 160, 90), Insets{}, image.Rect(0, 0, 90, 90), FitFill, 1, 1, image.Rect(0, 0, 90, 90), image.Rect(35, 0, 125, 90)},
	} {
		pl, ok := place(tc.fb, tc.crop, tc.box, tc.fit, canvas, tc.hsub, tc.vsub)
		if !ok || pl.v != tc.v || pl.src != tc.src {
			t.Errorf("%v less %v in %v (fit %d): on canvas %v from %v (%v), want %v from %v", tc.fb, tc.crop, tc.box, tc.fit, pl.v, pl.src, ok, tc.v, tc.src)
		}
	}
}
