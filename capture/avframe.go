package capture

import (
	"fmt"
	"image"

	"github.com/asticode/go-astiav"

	"github.com/tallystudio/tally/internal/avmem"
)

// copyFrameTo copies a YUV420P frame of img's size into img, one copy per
// plane and no allocation: the planes are read in place (avmem.Plane), where
// go-astiav would first copy each into fresh Go memory.
func copyFrameTo(img *image.YCbCr, f *astiav.Frame) error {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if f.PixelFormat() != astiav.PixelFormatYuv420P || f.Width() != w || f.Height() != h ||
		img.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		return fmt.Errorf("frame %dx%d %s does not fit a %dx%d 4:2:0 image", f.Width(), f.Height(), f.PixelFormat(), w, h)
	}
	cw, ch := (w+1)/2, (h+1)/2
	for i, p := range []struct {
		dst         []byte
		stride      int
		width, rows int
	}{{img.Y, img.YStride, w, h}, {img.Cb, img.CStride, cw, ch}, {img.Cr, img.CStride, cw, ch}} {
		src, ls := avmem.Plane(f, i, p.rows)
		if src == nil || ls < p.width {
			return fmt.Errorf("frame plane %d is not readable", i)
		}
		for r := range p.rows {
			copy(p.dst[r*p.stride:r*p.stride+p.width], src[r*ls:r*ls+p.width])
		}
	}
	return nil
}

// Frame is a decoded picture read in place from the libav frame that holds
// it: no copy on the way out of the decoder, and an encoder of the same size
// and format takes a reference to AVFrame instead of copying the planes (see
// encode.AVFramer). The planes are C memory, valid until the Read that
// returned the Frame is released; nothing may keep them past that.
type Frame struct {
	*image.YCbCr
	av *astiav.Frame
}

// AVFrame is the libav frame holding the picture.
func (f *Frame) AVFrame() *astiav.Frame { return f.av }

// viewFrame points img's planes at av's, which must be YUV420P with both
// chroma planes laid out alike (as libav allocates them); false otherwise.
func viewFrame(img *image.YCbCr, av *astiav.Frame) bool {
	w, h := av.Width(), av.Height()
	if av.PixelFormat() != astiav.PixelFormatYuv420P || w <= 0 || h <= 0 {
		return false
	}
	ch := (h + 1) / 2
	y, ys := avmem.Plane(av, 0, h)
	cb, cs := avmem.Plane(av, 1, ch)
	cr, crs := avmem.Plane(av, 2, ch)
	if y == nil || cb == nil || cr == nil || cs != crs || ys < w || cs < (w+1)/2 {
		return false
	}
	*img = image.YCbCr{Y: y, Cb: cb, Cr: cr, YStride: ys, CStride: cs,
		SubsampleRatio: image.YCbCrSubsampleRatio420, Rect: image.Rect(0, 0, w, h)}
	return true
}
