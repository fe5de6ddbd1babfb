package compose

import (
	"image"
	"math"
)

// placement is where a layer's source lands on the canvas.
type placement struct {
	// v is the visible part of the placed picture: even coordinates, inside
	// the canvas, not empty.
	v image.Rectangle
	// src is the part of the frame that fills v, in the frame's coordinates,
	// on the source's chroma grid where the frame's bounds allow.
	src image.Rectangle
}

// coordLimit keeps float geometry well inside int range: boxes far past the
// canvas are clipped anyway.
const coordLimit = 1 << 40

// place fits frame bounds fb, less crop, into box with fit, and clips the
// result to canvas. hsub and vsub are the source's chroma grid. It reports
// false when nothing is left to draw.
func place(fb image.Rectangle, crop Insets, box image.Rectangle, fit Fit, canvas image.Rectangle, hsub, vsub int) (placement, bool) {
	fw, fh := fb.Dx(), fb.Dy()
	if fw <= 0 || fh <= 0 || box.Dx() <= 0 || box.Dy() <= 0 {
		return placement{}, false
	}
	l, t := clamp(crop.Left, 0, fw), clamp(crop.Top, 0, fh)
	r, b := clamp(crop.Right, 0, fw), clamp(crop.Bottom, 0, fh)
	if l+r >= fw || t+b >= fh {
		return placement{}, false
	}
	// The cropped source, and the box, as floats.
	sx0, sy0 := float64(fb.Min.X+l), float64(fb.Min.Y+t)
	sx1, sy1 := float64(fb.Max.X-r), float64(fb.Max.Y-b)
	bx0, by0 := float64(box.Min.X), float64(box.Min.Y)
	bx1, by1 := float64(box.Max.X), float64(box.Max.Y)
	sw, sh, bw, bh := sx1-sx0, sy1-sy0, bx1-bx0, by1-by0
	switch fit {
	case FitInside:
		k := math.Min(bw/sw, bh/sh)
		w, h := sw*k, sh*k
		bx0, by0 = bx0+(bw-w)/2, by0+(bh-h)/2
		bx1, by1 = bx0+w, by0+h
	case FitFill:
		k := math.Max(bw/sw, bh/sh)
		w, h := bw/k, bh/k
		sx0, sy0 = sx0+(sw-w)/2, sy0+(sh-h)/2
		sx1, sy1 = sx0+w, sy0+h
	}
	e := image.Rect(roundEven(bx0), roundEven(by0), roundEven(bx1), roundEven(by1))
	if e.Dx() <= 0 || e.Dy() <= 0 {
		return placement{}, false
	}
	v := e.Intersect(canvas)
	if v.Empty() {
		return placement{}, false
	}
	// The source part that lands on v, rounded to whole pixels and widened
	// to the chroma grid.
	kx, ky := (sx1-sx0)/float64(e.Dx()), (sy1-sy0)/float64(e.Dy())
	src := image.Rectangle{
		Min: image.Pt(
			alignDown(int(math.Round(sx0+float64(v.Min.X-e.Min.X)*kx)), hsub),
			alignDown(int(math.Round(sy0+float64(v.Min.Y-e.Min.Y)*ky)), vsub)),
		Max: image.Pt(
			alignUp(int(math.Round(sx0+float64(v.Max.X-e.Min.X)*kx)), hsub),
			alignUp(int(math.Round(sy0+float64(v.Max.Y-e.Min.Y)*ky)), vsub)),
	}
	src = src.Intersect(fb)
	if src.Empty() {
		// A sliver of the source, thinner than a pixel once clipped: take
		// the pixel it lies on.
		x := clamp(int(math.Floor(sx0+float64(v.Min.X-e.Min.X)*kx)), fb.Min.X, fb.Max.X-1)
		y := clamp(int(math.Floor(sy0+float64(v.Min.Y-e.Min.Y)*ky)), fb.Min.Y, fb.Max.Y-1)
		src = image.Rect(x, y, x+1, y+1)
	}
	return placement{v: v, src: src}, true
}

// roundEven is the even integer nearest f, halves up.
func roundEven(f float64) int {
	f = math.Max(-coordLimit, math.Min(coordLimit, f))
	return 2 * int(math.Floor(f/2+0.5))
}

// alignDown and alignUp round x to a multiple of a (a > 0), negative x too.
func alignDown(x, a int) int {
	m := x % a
	if m < 0 {
		m += a
	}
	return x - m
}

func alignUp(x, a int) int { return -alignDown(-x, a) }

func clamp(x, lo, hi int) int { return max(lo, min(x, hi)) }
