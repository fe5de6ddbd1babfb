package compose

import (
	"encoding/binary"
	"image"
)

// minCopyRun is the shortest run of opaque samples copied as such; shorter
// ones are blended with their neighbours (a blend at alpha 255 copies too),
// which costs less than a run of its own.
const minCopyRun = 16

// run is a stretch [x0, x1) of a row that is not transparent: all opaque
// (full) or partly.
type run struct {
	x0, x1 int32
	full   bool
}

// runs are the runs of each row of an alpha plane: row y's are
// r[row[y]:row[y+1]]. Transparent samples are in none.
type runs struct {
	r   []run
	row []int32
}

// build finds the runs of the w×h alpha plane a, reusing its slices, and
// reports whether a is opaque throughout.
func (rs *runs) build(a []byte, stride, w, h int) (opaque bool) {
	rs.r, rs.row = rs.r[:0], rs.row[:0]
	opaque = true
	for y := range h {
		first := len(rs.r)
		rs.row = append(rs.row, int32(first))
		al := a[y*stride:][:w]
		for x := 0; x < w; {
			x0, v := x, al[x]
			switch v {
			case 0:
				opaque = false
				for x < w && al[x] == 0 {
					x++
				}
				continue
			case 255:
				for x < w && al[x] == 255 {
					x++
				}
			default:
				for x < w && al[x] != 0 && al[x] != 255 {
					x++
				}
			}
			if v != 255 || x0 > 0 || x < w {
				opaque = false
			}
			full := v == 255 && x-x0 >= minCopyRun
			if n := len(rs.r); !full && n > first && !rs.r[n-1].full && int(rs.r[n-1].x1) == x0 {
				rs.r[n-1].x1 = int32(x)
				continue
			}
			rs.r = append(rs.r, run{int32(x0), int32(x), full})
		}
	}
	rs.row = append(rs.row, int32(len(rs.r)))
	return opaque
}

// div255 is x/255 rounded, for 0 ≤ x ≤ 255·255.
func div255(x int) int {
	x += 128
	return (x + x>>8) >> 8
}

// blitOpaque draws the opaque picture p into v of dst, at weight op of
// 256 over what is there.
func blitOpaque(dst *image.YCbCr, v image.Rectangle, p *pic, op int) {
	w, h := v.Dx(), v.Dy()
	x, y := dst.Rect.Min.X+v.Min.X, dst.Rect.Min.Y+v.Min.Y
	yo, co := dst.YOffset(x, y), dst.COffset(x, y)
	planeOpaque(dst.Y[yo:], dst.YStride, p.y, p.ys, w, h, op)
	planeOpaque(dst.Cb[co:], dst.CStride, p.cb, p.cs, w/2, h/2, op)
	planeOpaque(dst.Cr[co:], dst.CStride, p.cr, p.cs, w/2, h/2, op)
}

func planeOpaque(d []byte, ds int, s []byte, ss, w, h, op int) {
	if op >= 256 && ds == w && ss == w {
		copy(d[:h*w], s[:h*w]) // one move when both are contiguous
		return
	}
	for r := range h {
		dr, sr := d[r*ds:][:w], s[r*ss:][:w]
		if op >= 256 {
			copy(dr, sr)
		} else {
			mixRow(dr, dr, sr, op)
		}
	}
}

// blitAlpha blends the alpha picture p over v of dst, at opacity op of 255.
func blitAlpha(dst *image.YCbCr, v image.Rectangle, p *pic, op int) {
	h := v.Dy()
	x, y := dst.Rect.Min.X+v.Min.X, dst.Rect.Min.Y+v.Min.Y
	yo, co := dst.YOffset(x, y), dst.COffset(x, y)
	planeAlpha(dst.Y[yo:], dst.YStride, p.y, p.a, p.ys, &p.runs[0], h, op)
	planeAlpha(dst.Cb[co:], dst.CStride, p.cb, p.ac, p.cs, &p.runs[1], h/2, op)
	planeAlpha(dst.Cr[co:], dst.CStride, p.cr, p.ac, p.cs, &p.runs[1], h/2, op)
}

// planeAlpha blends rows of premultiplied colour q with alpha a (both ss
// apart) over d: d = q + d·(255−a)/255, with q and a scaled by op/255 first.
// Transparent runs are skipped and, at full opacity, opaque ones copied.
func planeAlpha(d []byte, ds int, q, a []byte, ss int, rs *runs, h, op int) {
	for y := range h {
		dr, qr, ar := d[y*ds:], q[y*ss:], a[y*ss:]
		for _, r := range rs.r[rs.row[y]:rs.row[y+1]] {
			x0, x1 := int(r.x0), int(r.x1)
			dd := dr[x0:x1]
			qq, aa := qr[x0:x1][:len(dd)], ar[x0:x1][:len(dd)]
			switch {
			case op >= 255 && r.full:
				copy(dd, qq)
			case op >= 255:
				for i, bg := range dd {
					dd[i] = byte(int(qq[i]) + div255(int(bg)*(255-int(aa[i]))))
				}
			default:
				for i, bg := range dd {
					al := div255(int(aa[i]) * op)
					dd[i] = byte(div255(int(qq[i])*op) + div255(int(bg)*(255-al)))
				}
			}
		}
	}
}

// mixRow writes into d the mix of a and b at weight w of 256 for b:
// (a·(256−w) + b·w + 128) / 256, eight samples at a time in two 64-bit
// words of four 16-bit lanes (the sum, at most 255·256+128, fits a lane).
// d may be a.
func mixRow(d, a, b []byte, w int) {
	n := len(d)
	a, b = a[:n], b[:n]
	const lanes, round = 0x00FF00FF00FF00FF, 0x0080008000800080
	wb, wa := uint64(w), uint64(256-w)
	for len(d) >= 8 && len(a) >= 8 && len(b) >= 8 {
		x := binary.LittleEndian.Uint64(a)
		y := binary.LittleEndian.Uint64(b)
		lo := ((x&lanes)*wa + (y&lanes)*wb + round) >> 8 & lanes
		hi := ((x>>8&lanes)*wa + (y>>8&lanes)*wb + round) &^ lanes
		binary.LittleEndian.PutUint64(d, lo|hi)
		d, a, b = d[8:], a[8:], b[8:]
	}
	for i := range d {
		d[i] = byte((int(a[i])*(256-w) + int(b[i])*w + 128) >> 8)
	}
}

// blit422 draws the part r of a 4:2:2 frame, at its size on the canvas, into
// v of dst at weight op of 256: luma as it is, and each pair of chroma rows
// averaged into the one row 4:2:0 has between them, which is where 4:2:0
// places it. This is what libswscale would do, at a fraction of the cost.
func (c *Compositor) blit422(dst *image.YCbCr, v image.Rectangle, m *image.YCbCr, r image.Rectangle, op int) {
	p := ycbcrPic(m, r)
	w, h := v.Dx(), v.Dy()
	x, y := dst.Rect.Min.X+v.Min.X, dst.Rect.Min.Y+v.Min.Y
	yo, co := dst.YOffset(x, y), dst.COffset(x, y)
	planeOpaque(dst.Y[yo:], dst.YStride, p.y, p.ys, w, h, op)
	cw := w / 2
	avg := c.scratch[:cw]
	for _, pl := range [2][2][]byte{{dst.Cb[co:], p.cb}, {dst.Cr[co:], p.cr}} {
		d, s := pl[0], pl[1]
		for row := range h / 2 {
			dr := d[row*dst.CStride:][:cw]
			s0, s1 := s[2*row*p.cs:][:cw], s[(2*row+1)*p.cs:][:cw]
			if op >= 256 {
				avgRow(dr, s0, s1)
				continue
			}
			avgRow(avg, s0, s1)
			mixRow(dr, dr, avg, op)
		}
	}
}

// avgRow writes into d the rounded mean of a and b, eight samples at a time:
// per byte, (a|b) − ((a^b)>>1) is (a+b+1)/2 without carries between bytes.
func avgRow(d, a, b []byte) {
	n := len(d)
	a, b = a[:n], b[:n]
	i := 0
	for ; i+8 <= n; i += 8 {
		x := binary.LittleEndian.Uint64(a[i:])
		y := binary.LittleEndian.Uint64(b[i:])
		binary.LittleEndian.PutUint64(d[i:], (x|y)-((x^y)>>1&0x7F7F7F7F7F7F7F7F))
	}
	for ; i < n; i++ {
		d[i] = byte((int(a[i]) + int(b[i]) + 1) >> 1)
	}
}
