package compose

import (
	"image"
	"reflect"

	"github.com/asticode/go-astiav"
)

// srcKind is how a layer's frame reaches libswscale.
type srcKind uint8

const (
	kindYUV   srcKind = iota + 1 // *image.YCbCr: scaled, no matrix change
	kindYUVA                     // *image.NYCbCrA: straight alpha
	kindRGB0                     // *image.RGBA without Layer.Alpha: the fourth byte ignored
	kindRGBA                     // *image.RGBA with Layer.Alpha: premultiplied alpha
	kindNRGBA                    // *image.NRGBA: premultiplied while staged
	kindBGR0                     // bgrxImage (a screen grab): opaque, read in place
	kindDrawn                    // anything else: drawn into an RGBA first
)

// bgrxImage is a screen grab of packed blue, green, red and padding bytes
// (capture.BGRX; libav's bgr0), matched by its method so that compose need
// not know the capture package.
type bgrxImage interface {
	image.Image
	// BGRXPix is the memory from the pixel at Bounds().Min, and the bytes
	// from one row to the next.
	BGRXPix() (pix []byte, stride int)
}

// source is what classify learns of a frame.
type source struct {
	kind srcKind
	// pf is the pixel format libswscale reads (the staged one for kinds
	// that are staged).
	pf astiav.PixelFormat
	// hsub and vsub are the chroma grid a crop of the source aligns to.
	hsub, vsub int
	// alpha: the conversion carries alpha; premul: its colour comes out of
	// libswscale premultiplied by alpha.
	alpha, premul bool
	// ratio is a YCbCr source's subsampling.
	ratio  image.YCbCrSubsampleRatio
	bounds image.Rectangle
}

// classify says how img is converted; false for an image with nothing in it
// (a typed nil or an empty one).
func classify(img image.Image, alphaFlag bool) (source, bool) {
	s := source{hsub: 1, vsub: 1}
	switch m := img.(type) {
	case *image.YCbCr:
		if m == nil {
			return s, false
		}
		pf, h, v, ok := yuvFormat(m.SubsampleRatio, false)
		if !ok {
			return s, false
		}
		s.kind, s.pf, s.hsub, s.vsub, s.ratio = kindYUV, pf, h, v, m.SubsampleRatio
		s.bounds = m.Rect
	case *image.NYCbCrA:
		if m == nil {
			return s, false
		}
		if pf, h, v, ok := yuvFormat(m.SubsampleRatio, true); ok {
			s.kind, s.pf, s.hsub, s.vsub, s.ratio = kindYUVA, pf, h, v, m.SubsampleRatio
			s.alpha = true
		} else {
			s.kind, s.pf, s.alpha, s.premul = kindDrawn, astiav.PixelFormatRgba, true, true
		}
		s.bounds = m.Rect
	case *image.RGBA:
		if m == nil {
			return s, false
		}
		s.kind, s.pf = kindRGB0, astiav.PixelFormatRgb0
		if alphaFlag {
			s.kind, s.pf, s.alpha, s.premul = kindRGBA, astiav.PixelFormatRgba, true, true
		}
		s.bounds = m.Rect
	case *image.NRGBA:
		if m == nil {
			return s, false
		}
		s.kind, s.pf, s.alpha, s.premul = kindNRGBA, astiav.PixelFormatRgba, true, true
		s.bounds = m.Rect
	case bgrxImage:
		if v := reflect.ValueOf(img); v.Kind() == reflect.Pointer && v.IsNil() {
			return s, false
		}
		s.kind, s.pf = kindBGR0, astiav.PixelFormatBgr0
		s.bounds = m.Bounds()
	default:
		if v := reflect.ValueOf(img); v.Kind() == reflect.Pointer && v.IsNil() {
			return s, false
		}
		s.kind, s.pf, s.alpha, s.premul = kindDrawn, astiav.PixelFormatRgba, true, true
		if o, ok := img.(interface{ Opaque() bool }); ok && o.Opaque() {
			s.pf, s.alpha, s.premul = astiav.PixelFormatRgb0, false, false
		}
		s.bounds = img.Bounds()
	}
	return s, !s.bounds.Empty()
}

// yuvFormat is the libswscale format of a Go YCbCr layout, and its chroma
// grid. Go's 4:1:0 has a chroma row per two luma rows, which no libav format
// has: it is staged as 4:1:1 with each chroma row twice.
func yuvFormat(r image.YCbCrSubsampleRatio, alpha bool) (pf astiav.PixelFormat, hsub, vsub int, ok bool) {
	switch r {
	case image.YCbCrSubsampleRatio420:
		if alpha {
			return astiav.PixelFormatYuva420P, 2, 2, true
		}
		return astiav.PixelFormatYuv420P, 2, 2, true
	case image.YCbCrSubsampleRatio422:
		if alpha {
			return astiav.PixelFormatYuva422P, 2, 1, true
		}
		return astiav.PixelFormatYuv422P, 2, 1, true
	case image.YCbCrSubsampleRatio444:
		if alpha {
			return astiav.PixelFormatYuva444P, 1, 1, true
		}
		return astiav.PixelFormatYuv444P, 1, 1, true
	}
	if alpha {
		return 0, 0, 0, false
	}
	switch r {
	case image.YCbCrSubsampleRatio440:
		return astiav.PixelFormatYuv440P, 1, 2, true
	case image.YCbCrSubsampleRatio411:
		return astiav.PixelFormatYuv411P, 4, 1, true
	case image.YCbCrSubsampleRatio410:
		return astiav.PixelFormatYuv411P, 4, 2, true
	}
	return 0, 0, 0, false
}

// ycbcrFits reports whether r lies in m and m's planes hold every row of
// it, so that rows of r can be read without a bounds panic.
func ycbcrFits(m *image.YCbCr, r image.Rectangle) bool {
	if r.Empty() || !r.In(m.Rect) || m.YStride < m.Rect.Dx() || m.CStride < 0 {
		return false
	}
	yo, ye := m.YOffset(r.Min.X, r.Min.Y), m.YOffset(r.Max.X-1, r.Max.Y-1)
	co, ce := m.COffset(r.Min.X, r.Min.Y), m.COffset(r.Max.X-1, r.Max.Y-1)
	return yo >= 0 && ye < len(m.Y) && co >= 0 && ce < len(m.Cb) && ce < len(m.Cr)
}

// packedFits reports whether rows of r fit in pix for a packed image of
// 4-byte pixels with the given stride and origin.
func packedFits(pix []byte, stride int, rect, r image.Rectangle) bool {
	if r.Empty() || !r.In(rect) || stride < 4*rect.Dx() {
		return false
	}
	o := (r.Min.Y-rect.Min.Y)*stride + (r.Min.X-rect.Min.X)*4
	e := (r.Max.Y-1-rect.Min.Y)*stride + (r.Max.X-rect.Min.X)*4
	return o >= 0 && e <= len(pix)
}

// tail is b from off on, or nil when off is outside b.
func tail(b []byte, off int) []byte {
	if off < 0 || off > len(b) {
		return nil
	}
	return b[off:]
}

// isDirect reports whether p's frame is drawn straight from its planes: a
// 4:2:0 or 4:2:2 YCbCr at its size on the canvas.
func isDirect(p *planned) bool {
	return p.src.kind == kindYUV &&
		(p.src.ratio == image.YCbCrSubsampleRatio420 || p.src.ratio == image.YCbCrSubsampleRatio422) &&
		p.pl.src.Dx() == p.pl.v.Dx() && p.pl.src.Dy() == p.pl.v.Dy()
}

// ycbcrPic is the part r of m as a picture, read in place.
func ycbcrPic(m *image.YCbCr, r image.Rectangle) pic {
	yo, co := m.YOffset(r.Min.X, r.Min.Y), m.COffset(r.Min.X, r.Min.Y)
	return pic{y: m.Y[yo:], cb: m.Cb[co:], cr: m.Cr[co:], ys: m.YStride, cs: m.CStride}
}
