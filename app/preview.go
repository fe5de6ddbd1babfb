package app

import (
	"encoding/binary"
	"image"
	"image/color"
	"sync"

	"github.com/tallystudio/tally/capture"
)

// bgrxImage is a screen grab of packed blue, green, red and padding bytes
// (capture.BGRX, encode.BGRXImage), matched by its method so that the
// preview reads its memory directly.
type bgrxImage interface {
	image.Image
	// BGRXPix is the memory from the pixel at Bounds().Min, and the bytes
	// from one row to the next.
	BGRXPix() (pix []byte, stride int)
}

// columns holds the per-output-column source offsets a preview looks up,
// kept across calls so that a preview allocates nothing.
type columns struct{ xs, cx []int }

var columnPool = sync.Pool{New: func() any { return new(columns) }}

// ints is b resized to n, reusing its memory when it is large enough.
func ints(b []int, n int) []int {
	if cap(b) < n {
		return make([]int, n)
	}
	return b[:n]
}

// scaleToRGBA draws src into dst, scaled to fit with its aspect ratio kept
// (black bars), by nearest neighbour: a preview has to be cheap, not pretty,
// and this costs one lookup per output pixel. It is long because each pixel
// format has its own inner loop, written out so that none pays an interface
// call or a format switch per pixel.
func scaleToRGBA(dst *image.RGBA, src image.Image) {
	db, sb := dst.Bounds(), src.Bounds()
	dw, dh, sw, sh := db.Dx(), db.Dy(), sb.Dx(), sb.Dy()
	if dw == 0 || dh == 0 {
		return
	}
	if sw == 0 || sh == 0 {
		clear(dst.Pix)
		return
	}
	// The fitted picture: full width or full height.
	fw, fh := dw, dw*sh/sw
	if fh > dh {
		fw, fh = dh*sw/sh, dh
	}
	ox, oy := (dw-fw)/2, (dh-fh)/2
	fillBlack(dst, ox, oy, fw, fh)

	cols := columnPool.Get().(*columns)
	defer columnPool.Put(cols)
	cols.xs = ints(cols.xs, fw)
	xs := cols.xs
	for x := range xs {
		xs[x] = sb.Min.X + (2*x+1)*sw/(2*fw)
	}
	if f, ok := src.(*capture.Frame); ok {
		src = f.YCbCr
	}
	switch s := src.(type) {
	case *image.YCbCr:
		// Chroma index per output column, by the subsampling's horizontal step.
		cols.cx = ints(cols.cx, fw)
		cx := cols.cx
		for x, sx := range xs {
			cx[x] = s.COffset(sx, sb.Min.Y) - s.COffset(sb.Min.X, sb.Min.Y)
			xs[x] = sx - sb.Min.X
		}
		for y := 0; y < fh; y++ {
			sy := sb.Min.Y + (2*y+1)*sh/(2*fh)
			yrow := s.Y[s.YOffset(sb.Min.X, sy):]
			c0 := s.COffset(sb.Min.X, sy)
			cbrow, crrow := s.Cb[c0:], s.Cr[c0:]
			out := dst.Pix[(oy+y)*dst.Stride+ox*4:]
			out = out[:fw*4]
			for x := 0; x < fw; x++ {
				yy := yuv.y[yrow[xs[x]]]
				cb, cr := cbrow[cx[x]], crrow[cx[x]]
				r := yuv.clamp[(yy+yuv.rCr[cr])>>16+clampBias]
				g := yuv.clamp[(yy+yuv.gCb[cb]+yuv.gCr[cr])>>16+clampBias]
				b := yuv.clamp[(yy+yuv.bCb[cb])>>16+clampBias]
				binary.LittleEndian.PutUint32(out[x*4:], uint32(r)|uint32(g)<<8|uint32(b)<<16|0xff000000)
			}
		}
	case *image.RGBA:
		for y := 0; y < fh; y++ {
			sy := sb.Min.Y + (2*y+1)*sh/(2*fh)
			srow := s.Pix[(sy-sb.Min.Y)*s.Stride:]
			row := dst.Pix[(oy+y)*dst.Stride+ox*4:]
			for x, sx := range xs {
				o := (sx - sb.Min.X) * 4
				copy(row[x*4:x*4+3], srow[o:o+3])
				row[x*4+3] = 0xff
			}
		}
	case bgrxImage:
		pix, stride := s.BGRXPix()
		// A grab whose memory does not hold its rectangle previews black
		// rather than panicking.
		if stride < 4*sw || len(pix) < (sh-1)*stride+4*sw {
			for y := 0; y < fh; y++ {
				blackRun(dst.Pix[(oy+y)*dst.Stride+ox*4:][:fw*4])
			}
			return
		}
		for x, sx := range xs {
			xs[x] = (sx - sb.Min.X) * 4
		}
		for y := 0; y < fh; y++ {
			sy := (2*y + 1) * sh / (2 * fh)
			srow := pix[sy*stride:][:4*sw]
			row := dst.Pix[(oy+y)*dst.Stride+ox*4:][:fw*4]
			for x, o := range xs {
				// B, G, R, X to R, G, B, A: bytes 2, 1, 0 and opaque.
				v := binary.LittleEndian.Uint32(srow[o:])
				binary.LittleEndian.PutUint32(row[x*4:], v>>16&0xff|v&0xff00|(v&0xff)<<16|0xff000000)
			}
		}
	default:
		for y := 0; y < fh; y++ {
			sy := sb.Min.Y + (2*y+1)*sh/(2*fh)
			for x, sx := range xs {
				dst.Set(db.Min.X+ox+x, db.Min.Y+oy+y, color.RGBAModel.Convert(src.At(sx, sy)))
			}
		}
	}
}

// fillBlack paints what the fitted picture leaves uncovered.
func fillBlack(dst *image.RGBA, ox, oy, fw, fh int) {
	db := dst.Bounds()
	for y := 0; y < db.Dy(); y++ {
		row := dst.Pix[y*dst.Stride : y*dst.Stride+db.Dx()*4]
		if y >= oy && y < oy+fh {
			blackRun(row[:ox*4])
			blackRun(row[(ox+fw)*4:])
			continue
		}
		blackRun(row)
	}
}

func blackRun(p []byte) {
	for i := 0; i+3 < len(p); i += 4 {
		p[i], p[i+1], p[i+2], p[i+3] = 0, 0, 0, 0xff
	}
}

// yuv holds BT.601 studio-range to full-range RGB in 16.16 fixed point, one
// lookup per term, and a clamp table: the per-pixel work is adds and loads.
var yuv = func() (t struct {
	y, rCr, gCb, gCr, bCb [256]int32
	clamp                 [1024]uint8
}) {
	for i := range 256 {
		c := int32(i) - 128
		t.y[i] = (int32(i) - 16) * 76284
		t.rCr[i] = 104595 * c
		t.gCb[i] = -25690 * c
		t.gCr[i] = -53281 * c
		t.bCb[i] = 132186 * c
	}
	for i := range t.clamp {
		t.clamp[i] = uint8(min(max(i-clampBias, 0), 255))
	}
	return t
}()

// clampBias centres the clamp table: sums reach about -280..530 before clamping.
const clampBias = 384
