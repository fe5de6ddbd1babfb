package compose

import (
	"errors"
	"fmt"
	"image"
	"image/draw"
	"unsafe"

	"github.com/asticode/go-astiav"

	"github.com/tallystudio/tally/internal/avmem"
)

// The libswscale scalers: Area when the picture shrinks (or keeps its size)
// both ways, Bilinear otherwise. Measured on this project's benchmark
// machine, 1080p to a 480×270 picture-in-picture (BenchmarkPiPConversion,
// black fill included) and against an exact 4×4 box average of a detailed
// picture:
//
//	Area          0.57 ms   58.6 dB  (a box filter: the ideal for shrinking)
//	Bilinear      0.84 ms   31.3 dB
//	FastBilinear  0.33 ms   18.7 dB  (two taps whatever the ratio: aliases)
//	Bicubic       1.7 ms
//
// FastBilinear is fastest, but its aliasing is visible (fine detail
// shimmers in a shrunk camera), so it is not used. Enlarging, libswscale's
// Area interpolates as Bilinear does (the same output for a gradient
// enlarged 4×); Bilinear is named there so the choice does not rest on
// that. TestShrinkingAveragesLikeABox holds the 58.6 dB; the benchmark
// changes shrinkFlags to compare.
var (
	shrinkFlags  = astiav.NewSoftwareScaleContextFlags(astiav.SoftwareScaleContextFlagArea)
	enlargeFlags = astiav.NewSoftwareScaleContextFlags(astiav.SoftwareScaleContextFlagBilinear)
)

// flags is the scaler for k.
func (k swsKey) flags() astiav.SoftwareScaleContextFlags {
	if k.dstW <= k.srcW && k.dstH <= k.srcH {
		return shrinkFlags
	}
	return enlargeFlags
}

// pic is a picture at its size on the canvas: 4:2:0 planes, rows ys and cs
// bytes apart. An alpha picture also has alpha at luma size (a, stride ys)
// and at chroma size (ac, stride cs), its colour premultiplied by that
// alpha, and per row the runs that are not transparent.
type pic struct {
	y, cb, cr []byte
	ys, cs    int
	a, ac     []byte
	runs      [2]runs // luma rows, chroma rows
}

// convKey is what a conversion depends on besides the frame's pixels.
type convKey struct {
	kind srcKind
	pf   astiav.PixelFormat
	src  image.Rectangle
	w, h int
}

// swsKey is what a scaler is made for.
type swsKey struct {
	srcFormat, dstFormat astiav.PixelFormat
	srcW, srcH           int
	dstW, dstH           int
}

// entry is one layer's cached conversion and what makes it.
type entry struct {
	pic
	alpha    bool
	valid    bool
	seq      uint64
	key      convKey
	lastUsed uint64 // the Compose call that last had this layer

	sws  *astiav.SoftwareScaleContext
	skey swsKey
	mem  *avmem.Closer // frees sws

	// Buffers kept across conversions: the output planes, and the staged
	// source of kinds that are staged.
	buf   [5][]byte
	stage []byte
	drawn *image.RGBA
}

// current reports whether e holds the conversion of frame seq for key.
func (e *entry) current(seq uint64, key convKey) bool {
	return e.valid && e.seq == seq && e.key == key
}

// close frees the entry's libav objects.
func (e *entry) close() {
	e.mem.Close()
	e.mem, e.sws, e.valid = nil, nil, false
}

// convert scales the part pl.src of img to pl.v's size in the canvas format.
func (e *entry) convert(img image.Image, s source, pl placement) error {
	w, h := pl.v.Dx(), pl.v.Dy()
	e.alloc(w, h, s.alpha)
	var src avmem.Planes
	if err := e.sourcePlanes(img, s, pl.src, &src); err != nil {
		return err
	}
	dstFormat := astiav.PixelFormatYuv420P
	if s.alpha {
		dstFormat = astiav.PixelFormatYuva420P
	}
	if err := e.scaler(swsKey{s.pf, dstFormat, pl.src.Dx(), pl.src.Dy(), w, h}); err != nil {
		return err
	}
	dst := avmem.Planes{
		Data:   [4][]byte{e.y, e.cb, e.cr},
		Stride: [4]int{e.ys, e.cs, e.cs},
	}
	if s.alpha {
		dst.Data[3], dst.Stride[3] = e.a, e.ys
	}
	if err := avmem.Scale(e.sws, &src, &dst); err != nil {
		return fmt.Errorf("convert %dx%d to %dx%d: %w", pl.src.Dx(), pl.src.Dy(), w, h, err)
	}
	if s.alpha {
		e.finishAlpha(w, h, s.premul)
	}
	return nil
}

// alloc sizes the output planes for a w×h picture (both even), reusing the
// buffers when they are large enough. Strides are multiples of 64 and every
// plane starts 64-byte aligned, with 64 bytes to spare at its end: what
// libswscale's vector code likes, and room for its widest store.
func (e *entry) alloc(w, h int, alpha bool) {
	e.alpha = alpha
	e.ys, e.cs = align64(w), align64(w/2)
	ly, lc := e.ys*h+64, e.cs*(h/2)+64
	e.y, e.buf[0] = grow(e.buf[0], ly)
	e.cb, e.buf[1] = grow(e.buf[1], lc)
	e.cr, e.buf[2] = grow(e.buf[2], lc)
	if alpha {
		e.a, e.buf[3] = grow(e.buf[3], ly)
		e.ac, e.buf[4] = grow(e.buf[4], lc)
	} else {
		e.a, e.ac = nil, nil
	}
}

func align64(n int) int { return (n + 63) &^ 63 }

// grow returns n bytes of buf, 64-byte aligned, and the buffer to keep:
// buf itself when it holds n, a new one otherwise.
func grow(buf []byte, n int) ([]byte, []byte) {
	if cap(buf) < n {
		b := make([]byte, n+63)
		off := int(-uintptr(unsafe.Pointer(&b[0])) & 63)
		buf = b[off : off+n : off+n]
	}
	return buf[:n], buf
}

// scaler readies a libswscale context for k, replacing (and freeing) the
// one made for another geometry.
func (e *entry) scaler(k swsKey) error {
	if e.sws != nil && e.skey == k {
		return nil
	}
	e.mem.Close()
	e.mem, e.sws = &avmem.Closer{}, nil
	sws, err := astiav.CreateSoftwareScaleContext(k.srcW, k.srcH, k.srcFormat, k.dstW, k.dstH, k.dstFormat, k.flags())
	if err != nil {
		return fmt.Errorf("scaler from %dx%d %s to %dx%d %s: %w", k.srcW, k.srcH, k.srcFormat, k.dstW, k.dstH, k.dstFormat, err)
	}
	avmem.Own(e.mem, sws)
	if err := avmem.SetBT709(sws); err != nil {
		e.mem.Close()
		return err
	}
	e.sws, e.skey = sws, k
	return nil
}

// sourcePlanes describes the part r of img as libswscale reads it, staging
// the kinds that need it.
func (e *entry) sourcePlanes(img image.Image, s source, r image.Rectangle, p *avmem.Planes) error {
	switch s.kind {
	case kindYUV, kindYUVA:
		var m *image.YCbCr
		if s.kind == kindYUV {
			m = img.(*image.YCbCr)
		} else {
			a := img.(*image.NYCbCrA)
			m = &a.YCbCr
			ao := (r.Min.Y-a.Rect.Min.Y)*a.AStride + (r.Min.X - a.Rect.Min.X)
			p.Data[3], p.Stride[3] = tail(a.A, ao), a.AStride
		}
		if !ycbcrFits(m, r) {
			return errors.New("frame planes are too short for its size")
		}
		yo, co := m.YOffset(r.Min.X, r.Min.Y), m.COffset(r.Min.X, r.Min.Y)
		p.Data[0], p.Stride[0] = m.Y[yo:], m.YStride
		p.Data[1], p.Data[2], p.Stride[1], p.Stride[2] = m.Cb[co:], m.Cr[co:], m.CStride, m.CStride
		if s.ratio == image.YCbCrSubsampleRatio410 {
			e.stage410(m, r, p)
		}
	case kindRGB0, kindRGBA:
		m := img.(*image.RGBA)
		if !packedFits(m.Pix, m.Stride, m.Rect, r) {
			return errors.New("frame pixels are too short for its size")
		}
		p.Data[0], p.Stride[0] = m.Pix[m.PixOffset(r.Min.X, r.Min.Y):], m.Stride
	case kindBGR0:
		m := img.(bgrxImage)
		pix, stride := m.BGRXPix()
		b := m.Bounds()
		if !packedFits(pix, stride, b, r) {
			return errors.New("frame pixels are too short for its size")
		}
		p.Data[0], p.Stride[0] = pix[(r.Min.Y-b.Min.Y)*stride+(r.Min.X-b.Min.X)*4:], stride
	case kindNRGBA:
		m := img.(*image.NRGBA)
		if !packedFits(m.Pix, m.Stride, m.Rect, r) {
			return errors.New("frame pixels are too short for its size")
		}
		e.premultiply(m, r)
		p.Data[0], p.Stride[0] = e.stage, 4*r.Dx()
	case kindDrawn:
		if err := e.draw(img, r); err != nil {
			return err
		}
		p.Data[0], p.Stride[0] = e.drawn.Pix, e.drawn.Stride
	default:
		return fmt.Errorf("%T frames are not supported", img)
	}
	return nil
}

// stage410 stages the chroma of r of a Go 4:1:0 image (a chroma row per
// two luma rows) as 4:1:1 (a chroma row per luma row), each row twice.
func (e *entry) stage410(m *image.YCbCr, r image.Rectangle, p *avmem.Planes) {
	cw := (r.Dx() + 3) / 4
	h := r.Dy()
	e.stage, _ = grow(e.stage, 2*cw*h)
	co := m.COffset(r.Min.X, r.Min.Y)
	for i, plane := range [2][]byte{m.Cb, m.Cr} {
		out := e.stage[i*cw*h:][:cw*h]
		for y := range h {
			// The chroma row of luma row r.Min.Y+y, counted from r's first.
			cy := (r.Min.Y+y)/2 - r.Min.Y/2
			copy(out[y*cw:][:cw], tail(plane, co+cy*m.CStride))
		}
		p.Data[1+i], p.Stride[1+i] = out, cw
	}
}

// premultiply stages the part r of m as premultiplied RGBA, rows 4·r.Dx()
// bytes apart.
func (e *entry) premultiply(m *image.NRGBA, r image.Rectangle) {
	w, h := 4*r.Dx(), r.Dy()
	e.stage, _ = grow(e.stage, w*h)
	for y := range h {
		in := m.Pix[m.PixOffset(r.Min.X, r.Min.Y+y):][:w]
		out := e.stage[y*w:][:w]
		for x := 0; x < w; x += 4 {
			a := in[x+3]
			switch a {
			case 255:
				copy(out[x:x+4], in[x:x+4])
			case 0:
				out[x], out[x+1], out[x+2], out[x+3] = 0, 0, 0, 0
			default:
				out[x] = byte(div255(int(in[x]) * int(a)))
				out[x+1] = byte(div255(int(in[x+1]) * int(a)))
				out[x+2] = byte(div255(int(in[x+2]) * int(a)))
				out[x+3] = a
			}
		}
	}
}

// draw stages the part r of img through image/draw, for types that have no
// faster way; a panic in the image's own At is an error, not a crash.
func (e *entry) draw(img image.Image, r image.Rectangle) (err error) {
	if e.drawn == nil || e.drawn.Rect.Dx() != r.Dx() || e.drawn.Rect.Dy() != r.Dy() {
		e.drawn = image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("reading a %T frame: %v", img, p)
		}
	}()
	draw.Draw(e.drawn, e.drawn.Rect, img, r.Min, draw.Src)
	return nil
}

// finishAlpha turns libswscale's YUVA output into what blending reads:
// alpha averaged over each 2×2 block for chroma, colour premultiplied by
// alpha (and kept no greater than it, so a blend cannot overflow), and the
// runs of each row; a picture opaque throughout becomes an opaque one.
//
// A premultiplied source comes out of the limited-range matrix as
// 16 + α(Y−16) and 128 + α(C−128) (the matrix is linear, its offsets are
// not), so αY is that less 16 (or 128) plus α·16 (or α·128).
func (e *entry) finishAlpha(w, h int, premul bool) {
	cw, ch := w/2, h/2
	for y := range ch {
		a0, a1 := e.a[2*y*e.ys:][:w], e.a[(2*y+1)*e.ys:][:w]
		out := e.ac[y*e.cs:][:cw]
		for x := range out {
			out[x] = byte((int(a0[2*x]) + int(a0[2*x+1]) + int(a1[2*x]) + int(a1[2*x+1]) + 2) >> 2)
		}
	}
	premultiplyPlane(e.y, e.a, e.ys, w, h, 16, premul)
	premultiplyPlane(e.cb, e.ac, e.cs, cw, ch, 128, premul)
	premultiplyPlane(e.cr, e.ac, e.cs, cw, ch, 128, premul)
	opaque := e.runs[0].build(e.a, e.ys, w, h)
	e.runs[1].build(e.ac, e.cs, cw, ch)
	if opaque {
		// An image with an alpha channel and nothing in it (a JPEG as NRGBA,
		// an opaque colour): drawn, and hiding what is below, as opaque.
		e.alpha = false
	}
}

// premultiplyPlane makes each sample of p its colour times alpha: from
// libswscale's output of a premultiplied source (offset is the plane's
// zero, 16 or 128), or from a straight one.
func premultiplyPlane(p, a []byte, stride, w, h, offset int, premul bool) {
	for y := range h {
		row, al := p[y*stride:][:w], a[y*stride:][:w]
		for x, v := range row {
			av := int(al[x])
			var q int
			if premul {
				q = int(v) - offset + div255(offset*av)
			} else {
				q = div255(int(v) * av)
			}
			row[x] = byte(clamp(q, 0, av))
		}
	}
}
