package encode

import (
	"fmt"
	"image"

	"github.com/asticode/go-astiav"

	"github.com/tallystudio/tally/internal/avmem"
)

// plane is one plane of an image: rows of w bytes, stride apart.
type plane struct {
	b         []byte
	stride, w int
	h         int
}

// planesOf describes an image Tally's sources produce as libav planes,
// appended to into (a caller that passes room for three allocates nothing).
func planesOf(img image.Image, into []plane) (astiav.PixelFormat, []plane, error) {
	switch m := img.(type) {
	case *image.YCbCr:
		w, h := m.Rect.Dx(), m.Rect.Dy()
		var cw, ch int
		var pf astiav.PixelFormat
		switch m.SubsampleRatio {
		case image.YCbCrSubsampleRatio420:
			pf, cw, ch = astiav.PixelFormatYuv420P, (w+1)/2, (h+1)/2
		case image.YCbCrSubsampleRatio422:
			pf, cw, ch = astiav.PixelFormatYuv422P, (w+1)/2, h
		case image.YCbCrSubsampleRatio444:
			pf, cw, ch = astiav.PixelFormatYuv444P, w, h
		default:
			return 0, nil, fmt.Errorf("encode: %v chroma subsampling is not supported", m.SubsampleRatio)
		}
		y0, c0 := m.YOffset(m.Rect.Min.X, m.Rect.Min.Y), m.COffset(m.Rect.Min.X, m.Rect.Min.Y)
		return pf, append(into, plane{m.Y[y0:], m.YStride, w, h}, plane{m.Cb[c0:], m.CStride, cw, ch}, plane{m.Cr[c0:], m.CStride, cw, ch}), nil
	case *image.RGBA:
		return astiav.PixelFormatRgba, append(into, plane{m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y):], m.Stride, 4 * m.Rect.Dx(), m.Rect.Dy()}), nil
	case *image.NRGBA:
		return astiav.PixelFormatRgba, append(into, plane{m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y):], m.Stride, 4 * m.Rect.Dx(), m.Rect.Dy()}), nil
	case *image.Gray:
		return astiav.PixelFormatGray8, append(into, plane{m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y):], m.Stride, m.Rect.Dx(), m.Rect.Dy()}), nil
	case BGRXImage:
		pix, stride := m.BGRXPix()
		r := m.Bounds()
		return astiav.PixelFormatBgr0, append(into, plane{pix, stride, 4 * r.Dx(), r.Dy()}), nil
	}
	return 0, nil, fmt.Errorf("encode: %T frames are not supported", img)
}

// BGRXImage is a picture of packed 4-byte pixels in the order blue, green,
// red and an unused byte (libav's bgr0), such as a screen grab
// (capture.BGRX). The encoder hands it to libswscale as it is, so a screen
// is converted to 4:2:0 once, with no pass over its pixels in Go.
type BGRXImage interface {
	image.Image
	// BGRXPix is the picture's memory from the pixel at Bounds().Min, and
	// the bytes from one row to the next.
	BGRXPix() (pix []byte, stride int)
}

// copyPlanes copies planes into a frame of the same layout, one copy each
// (go-astiav's FromImage and SetBytes stage each plane through C.CBytes, a
// malloc and a copy, before av_image_copy copies it again).
func copyPlanes(f *astiav.Frame, planes []plane) error {
	for i, p := range planes {
		if err := avmem.CopyToPlane(f, i, p.b, p.stride, p.w, p.h); err != nil {
			return fmt.Errorf("encode: %w", err)
		}
	}
	return nil
}

// copyYCbCr copies a 4:2:0 image into a YUV420P frame of the same size.
func copyYCbCr(f *astiav.Frame, img *image.YCbCr) error {
	if img.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		return fmt.Errorf("encode: %v chroma subsampling, want 4:2:0", img.SubsampleRatio)
	}
	if w, h := img.Rect.Dx(), img.Rect.Dy(); w != f.Width() || h != f.Height() {
		return fmt.Errorf("encode: image is %dx%d, frame is %dx%d", w, h, f.Width(), f.Height())
	}
	var room [3]plane
	_, planes, err := planesOf(img, room[:0])
	if err != nil {
		return err
	}
	return copyPlanes(f, planes)
}

// copyInterleaved copies packed audio samples (all channels in one plane) into
// plane 0 of a frame.
func copyInterleaved(f *astiav.Frame, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if err := avmem.CopyToPlane(f, 0, b, len(b), len(b), 1); err != nil {
		return fmt.Errorf("encode: copy samples: %w", err)
	}
	return nil
}
