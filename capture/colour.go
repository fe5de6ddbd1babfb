package capture

import (
	"fmt"
	"image"
	"image/color"
	"io"
	"sync"
	"sync/atomic"
)

// colourSize is the side of the picture NewColour delivers: the compositor
// scales a layer to its box anyway, so a solid colour needs only a few pixels.
const colourSize = 16

// NewColour is a solid colour, alpha included, as a still source: a 16x16
// *image.NRGBA the compositor scales to the layer's box. The first Read returns
// it; later Reads block until Close and then return io.EOF.
func NewColour(c color.NRGBA) VideoReader {
	img := image.NewNRGBA(image.Rect(0, 0, colourSize, colourSize))
	fillNRGBA(img, c)
	return newStill(img)
}

// fillNRGBA sets every pixel of img to c.
func fillNRGBA(img *image.NRGBA, c color.NRGBA) {
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		row := img.Pix[img.PixOffset(img.Rect.Min.X, y):img.PixOffset(img.Rect.Max.X, y)]
		for i := 0; i < len(row); i += 4 {
			row[i], row[i+1], row[i+2], row[i+3] = c.R, c.G, c.B, c.A
		}
	}
}

// ParseColour reads "#rgb", "#rrggbb" or "#rrggbbaa" (hex digits in either
// case). The first two are opaque; "#rgb" repeats each digit (#f80 is #ff8800).
func ParseColour(s string) (color.NRGBA, error) {
	bad := func(why string) (color.NRGBA, error) {
		return color.NRGBA{}, fmt.Errorf("colour %q: %s (want #rgb, #rrggbb or #rrggbbaa)", s, why)
	}
	if len(s) == 0 || s[0] != '#' {
		return bad("no leading #")
	}
	digits := s[1:]
	var v [8]uint8
	for i, r := range digits {
		if i == len(v) {
			return bad("too many digits")
		}
		d, ok := hexDigit(r)
		if !ok {
			return bad(fmt.Sprintf("%q is not a hex digit", r))
		}
		v[i] = d
	}
	switch len(digits) {
	case 3:
		return color.NRGBA{R: v[0] * 0x11, G: v[1] * 0x11, B: v[2] * 0x11, A: 0xff}, nil
	case 6:
		return color.NRGBA{R: v[0]<<4 | v[1], G: v[2]<<4 | v[3], B: v[4]<<4 | v[5], A: 0xff}, nil
	case 8:
		return color.NRGBA{R: v[0]<<4 | v[1], G: v[2]<<4 | v[3], B: v[4]<<4 | v[5], A: v[6]<<4 | v[7]}, nil
	}
	return bad(fmt.Sprintf("%d hex digits", len(digits)))
}

func hexDigit(c rune) (uint8, bool) {
	switch {
	case '0' <= c && c <= '9':
		return uint8(c - '0'), true
	case 'a' <= c && c <= 'f':
		return uint8(c - 'a' + 10), true
	case 'A' <= c && c <= 'F':
		return uint8(c - 'A' + 10), true
	}
	return 0, false
}

// still is a VideoReader for a picture that never changes: the first Read
// returns it, later ones wait for Close and return io.EOF. The picture is
// shared, not copied: callers must not write to it.
type still struct {
	img       image.Image
	sent      atomic.Bool
	quit      chan struct{}
	closeOnce sync.Once
}

func newStill(img image.Image) *still {
	return &still{img: img, quit: make(chan struct{})}
}

func (s *still) Read() (image.Image, func(), error) {
	select {
	case <-s.quit:
		return nil, nil, io.EOF
	default:
	}
	if s.sent.CompareAndSwap(false, true) {
		return s.img, nil, nil
	}
	<-s.quit
	return nil, nil, io.EOF
}

func (s *still) Close() error {
	s.closeOnce.Do(func() { close(s.quit) })
	return nil
}
