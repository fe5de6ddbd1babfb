package capture

import (
	"image"
	"image/color"
)

// BGRX is a picture of packed 4-byte pixels in the order blue, green, red
// and a fourth byte that is padding, not alpha: how an X server holds a
// 24-bit screen on a little-endian machine, and libav's bgr0. The screen
// source hands out its grabs as BGRX so that they reach libswscale as they
// are, converted once into the encoder's frame, where an *image.RGBA would
// first need every pixel's bytes swapped.
//
// The encoder recognises it by its BGRXPix method (encode.BGRXImage); other
// readers see an opaque image through At, correct and slow.
type BGRX struct {
	// Pix holds the pixels; the one at (x, y) starts at
	// Pix[(y-Rect.Min.Y)*Stride + (x-Rect.Min.X)*4].
	Pix    []uint8
	Stride int // bytes from one row to the next
	Rect   image.Rectangle
}

// BGRXPix is the picture's memory from its first pixel, and its stride.
func (p *BGRX) BGRXPix() ([]uint8, int) { return p.Pix, p.Stride }

// ColorModel is RGBA: every pixel is opaque.
func (p *BGRX) ColorModel() color.Model { return color.RGBAModel }

// Bounds is the picture's rectangle.
func (p *BGRX) Bounds() image.Rectangle { return p.Rect }

// Opaque is always true: the fourth byte is not alpha.
func (p *BGRX) Opaque() bool { return true }

// At is the colour at (x, y); transparent black outside the picture.
func (p *BGRX) At(x, y int) color.Color { return p.RGBAAt(x, y) }

// RGBAAt is the colour at (x, y), opaque, or transparent black outside the
// picture.
func (p *BGRX) RGBAAt(x, y int) color.RGBA {
	if !(image.Point{x, y}.In(p.Rect)) {
		return color.RGBA{}
	}
	i := p.PixOffset(x, y)
	s := p.Pix[i : i+4 : i+4]
	return color.RGBA{R: s[2], G: s[1], B: s[0], A: 0xff}
}

// PixOffset is the index in Pix of the first byte of the pixel at (x, y).
func (p *BGRX) PixOffset(x, y int) int {
	return (y-p.Rect.Min.Y)*p.Stride + (x-p.Rect.Min.X)*4
}

// SubImage is the part of the picture inside r, sharing its pixels: how an
// output of another shape (a vertical crop) takes its part of a screen.
func (p *BGRX) SubImage(r image.Rectangle) image.Image {
	r = r.Intersect(p.Rect)
	if r.Empty() {
		return &BGRX{}
	}
	return &BGRX{Pix: p.Pix[p.PixOffset(r.Min.X, r.Min.Y):], Stride: p.Stride, Rect: r}
}
