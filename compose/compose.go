package compose

import (
	"errors"
	"fmt"
	"image"
	"math"
)

// Fit is how a layer's (cropped) source fills its box.
type Fit int

const (
	// FitInside letterboxes: the whole source, aspect kept, centred in the
	// box; the part of the box it leaves uncovered shows what is below.
	FitInside Fit = iota
	// FitFill covers the box, aspect kept, cutting what overflows equally on
	// both sides.
	FitFill
	// FitStretch fills the box exactly, aspect not kept. Values other than
	// the three named ones stretch too.
	FitStretch
)

// Insets are source pixels cut from each edge before fitting. Negative
// values cut nothing; a crop wider or taller than the source leaves nothing
// to draw.
type Insets struct{ Left, Top, Right, Bottom int }

// Layer is one source's frame placed on the canvas.
type Layer struct {
	// ID identifies the layer for caching, stable across frames (the app
	// assigns it).
	ID uint64
	// Frame is the source's newest frame; nil draws nothing. The compositor
	// reads it only during Compose.
	Frame image.Image
	// Seq changes whenever Frame is a new frame: the conversion is cached
	// per (ID, Seq, geometry), so a changed picture under an unchanged Seq
	// is not seen.
	Seq uint64
	// Rect is the layer's box on the canvas; it may extend past the canvas
	// (it is clipped), and an empty one draws nothing.
	Rect image.Rectangle
	// Crop is cut from the source's edges before fitting.
	Crop Insets
	Fit  Fit
	// Opacity is 0..1, the layer's weight over what is below: 0 (the zero
	// value) draws nothing, 1 draws the layer as it is.
	Opacity float64
	// Alpha says an *image.RGBA frame's fourth byte is alpha (premultiplied,
	// as image.RGBA is): set it for images, text and colour sources, leave it
	// false for screens. Other image types decide by themselves (see the
	// package doc).
	Alpha bool
}

// Limits of the canvas New accepts.
const maxCanvas = 16384

// evictAfter is how many Compose calls a cache entry survives without its
// layer; spareEntries is how many entries of absent layers are kept at most
// besides one per layer of the last Compose.
const (
	evictAfter   = 60
	spareEntries = 4
)

// Compositor draws layers into canvas-size pictures. It keeps, per layer
// ID, the layer's last conversion and the libav objects that made it; Close
// frees them.
type Compositor struct {
	w, h    int
	entries map[uint64]*entry
	plan    []planned
	// blackY and blackC are one canvas row of black luma and chroma;
	// scratch is a chroma row's worth of room.
	blackY, blackC, scratch []byte
	tick                    uint64 // Compose calls so far
	conversions             uint64 // libswscale conversions so far (tests read it)
	closed                  bool
}

// planned is one layer that draws this time, and where.
type planned struct {
	index int // in the layers given to Compose
	src   source
	pl    placement
	// op255 is the opacity in 0..255 for alpha layers; op256 in 0..256 for
	// the constant blend of opaque ones.
	op255, op256 int
}

// key is what p's conversion depends on besides the pixels.
func (p *planned) key() convKey {
	return convKey{kind: p.src.kind, pf: p.src.pf, src: p.pl.src, w: p.pl.v.Dx(), h: p.pl.v.Dy()}
}

// covers reports whether p hides everything below it inside r.
func (p *planned) covers(r image.Rectangle) bool {
	return !p.src.alpha && p.op256 == 256 && r.In(p.pl.v)
}

// New returns a compositor for a canvas of width×height pixels, both even.
func New(width, height int) (*Compositor, error) {
	if width <= 0 || height <= 0 || width%2 != 0 || height%2 != 0 || width > maxCanvas || height > maxCanvas {
		return nil, fmt.Errorf("compose: canvas %dx%d: want even sizes from 2 to %d", width, height, maxCanvas)
	}
	c := &Compositor{w: width, h: height, entries: make(map[uint64]*entry)}
	c.blackY = make([]byte, width)
	c.blackC = make([]byte, width/2)
	c.scratch = make([]byte, width/2)
	for i := range c.blackY {
		c.blackY[i] = 16
	}
	for i := range c.blackC {
		c.blackC[i] = 128
	}
	return c, nil
}

// NewFrame returns a black width×height 4:2:0 picture, a canvas for Compose
// and Mix. Negative sizes count as 0.
func NewFrame(width, height int) *image.YCbCr {
	f := image.NewYCbCr(image.Rect(0, 0, max(width, 0), max(height, 0)), image.YCbCrSubsampleRatio420)
	for i := range f.Y {
		f.Y[i] = 16
	}
	for i := range f.Cb {
		f.Cb[i], f.Cr[i] = 128, 128
	}
	return f
}

// Compose draws layers, bottom first, over black into dst, a 4:2:0 picture
// of the canvas size. A layer that cannot be drawn (an unreadable frame, a
// failed conversion) is left out and the rest are drawn; the first such
// failure is returned. Compose makes no allocation once every layer's
// conversion exists at its size.
func (c *Compositor) Compose(dst *image.YCbCr, layers []Layer) error {
	if c.closed {
		return errors.New("compose: compositor closed")
	}
	if err := c.checkCanvas(dst); err != nil {
		return err
	}
	c.tick++
	canvas := image.Rect(0, 0, c.w, c.h)
	c.plan = c.plan[:0]
	for i := range layers {
		l := &layers[i]
		e := c.entries[l.ID]
		if e != nil {
			e.lastUsed = c.tick
		}
		p := planned{index: i}
		if !plan(l, canvas, &p) {
			continue
		}
		if p.src.alpha && e != nil && e.current(l.Seq, p.key()) && !e.alpha {
			p.src.alpha = false // its conversion turned out opaque throughout
		}
		c.plan = append(c.plan, p)
	}

	// The topmost layer covering the canvas hides all below it; without one,
	// the canvas starts black.
	start, covered := 0, false
	for j := len(c.plan) - 1; j >= 0; j-- {
		if c.plan[j].covers(canvas) {
			start, covered = j, true
			break
		}
	}
	if !covered {
		c.fillBlack(dst)
	}
	var first error
	for j := start; j < len(c.plan); j++ {
		if c.hidden(j) {
			continue
		}
		p := &c.plan[j]
		l := &layers[p.index]
		if err := c.draw(dst, l, p); err != nil && first == nil {
			first = fmt.Errorf("compose: layer %d (ID %d): %w", p.index, l.ID, err)
		}
	}
	c.evict(len(layers))
	return first
}

// hidden reports whether a layer above plan[j] covers all of it.
func (c *Compositor) hidden(j int) bool {
	v := c.plan[j].pl.v
	for k := j + 1; k < len(c.plan); k++ {
		if c.plan[k].covers(v) {
			return true
		}
	}
	return false
}

// checkCanvas reports whether dst is a 4:2:0 picture of the canvas size
// whose planes hold all their rows.
func (c *Compositor) checkCanvas(dst *image.YCbCr) error {
	if dst == nil {
		return errors.New("compose: no destination picture")
	}
	if dst.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		return fmt.Errorf("compose: destination is %v, want 4:2:0", dst.SubsampleRatio)
	}
	if dst.Rect.Dx() != c.w || dst.Rect.Dy() != c.h {
		return fmt.Errorf("compose: destination is %dx%d, canvas is %dx%d", dst.Rect.Dx(), dst.Rect.Dy(), c.w, c.h)
	}
	if !ycbcrFits(dst, dst.Rect) {
		return errors.New("compose: destination planes are too short for its size")
	}
	return nil
}

// fillBlack paints the canvas black.
func (c *Compositor) fillBlack(dst *image.YCbCr) {
	y0, c0 := dst.YOffset(dst.Rect.Min.X, dst.Rect.Min.Y), dst.COffset(dst.Rect.Min.X, dst.Rect.Min.Y)
	for r := range c.h {
		copy(dst.Y[y0+r*dst.YStride:][:c.w], c.blackY)
	}
	for r := range c.h / 2 {
		o := c0 + r*dst.CStride
		copy(dst.Cb[o:][:c.w/2], c.blackC)
		copy(dst.Cr[o:][:c.w/2], c.blackC)
	}
}

// plan decides whether l draws, and where; p receives it.
func plan(l *Layer, canvas image.Rectangle, p *planned) bool {
	if l.Frame == nil || !(l.Opacity > 0) { // NaN draws nothing too
		return false
	}
	s, ok := classify(l.Frame, l.Alpha)
	if !ok {
		return false
	}
	pl, ok := place(s.bounds, l.Crop, l.Rect, l.Fit, canvas, s.hsub, s.vsub)
	if !ok {
		return false
	}
	op := math.Min(l.Opacity, 1)
	p.src, p.pl = s, pl
	p.op255 = int(op*255 + 0.5)
	p.op256 = int(op*256 + 0.5)
	return p.op255 > 0 || p.op256 > 0
}

// draw converts l when its conversion is stale and draws it into dst.
func (c *Compositor) draw(dst *image.YCbCr, l *Layer, p *planned) error {
	if m, ok := l.Frame.(*image.YCbCr); ok && isDirect(p) {
		if !ycbcrFits(m, p.pl.src) {
			return errors.New("frame planes are too short for its size")
		}
		if m.SubsampleRatio == image.YCbCrSubsampleRatio422 {
			c.blit422(dst, p.pl.v, m, p.pl.src, p.op256)
		} else {
			pic := ycbcrPic(m, p.pl.src)
			blitOpaque(dst, p.pl.v, &pic, p.op256)
		}
		if e := c.entries[l.ID]; e != nil { // converted before it was at its size
			e.close()
			delete(c.entries, l.ID)
		}
		return nil
	}
	e := c.entries[l.ID]
	if e == nil {
		e = &entry{}
		c.entries[l.ID] = e
	}
	e.lastUsed = c.tick
	if key := p.key(); !e.current(l.Seq, key) {
		e.valid = false
		if err := e.convert(l.Frame, p.src, p.pl); err != nil {
			return err
		}
		c.conversions++
		e.valid, e.seq, e.key = true, l.Seq, key
	}
	if e.alpha {
		blitAlpha(dst, p.pl.v, &e.pic, p.op255)
	} else {
		blitOpaque(dst, p.pl.v, &e.pic, p.op256)
	}
	return nil
}

// evict frees the entries of layers gone for evictAfter calls, and the
// oldest of the absent ones beyond spareEntries.
func (c *Compositor) evict(layers int) {
	for id, e := range c.entries {
		if c.tick-e.lastUsed >= evictAfter {
			e.close()
			delete(c.entries, id)
		}
	}
	for len(c.entries) > layers+spareEntries {
		var oldest uint64
		var old *entry
		for id, e := range c.entries {
			if e.lastUsed != c.tick && (old == nil || e.lastUsed < old.lastUsed) {
				oldest, old = id, e
			}
		}
		if old == nil {
			return
		}
		old.close()
		delete(c.entries, oldest)
	}
}

// Close frees every libav object the compositor holds. Compose fails after
// it; Close may be called again.
func (c *Compositor) Close() {
	for id, e := range c.entries {
		e.close()
		delete(c.entries, id)
	}
	c.closed = true
}

// Mix writes into dst the cross-fade between a and b, all 4:2:0 pictures
// of one size: t ≤ 0 is a, t ≥ 1 is b (NaN counts as 0). Pictures of
// different sizes are mixed over the size they share; other subsamplings,
// or a nil picture, leave dst as it is.
func (c *Compositor) Mix(dst, a, b *image.YCbCr, t float64) {
	if dst == nil || a == nil || b == nil {
		return
	}
	w := min(dst.Rect.Dx(), a.Rect.Dx(), b.Rect.Dx())
	h := min(dst.Rect.Dy(), a.Rect.Dy(), b.Rect.Dy())
	if w <= 0 || h <= 0 {
		return
	}
	for _, m := range []*image.YCbCr{dst, a, b} {
		r := image.Rect(m.Rect.Min.X, m.Rect.Min.Y, m.Rect.Min.X+w, m.Rect.Min.Y+h)
		if m.SubsampleRatio != image.YCbCrSubsampleRatio420 || !ycbcrFits(m, r) {
			return
		}
	}
	wt := 0
	if t > 0 {
		wt = int(math.Min(t, 1)*256 + 0.5)
	}
	src := a
	if wt == 256 {
		src = b
	}
	cw, ch := (w+1)/2, (h+1)/2
	mixPlane := func(d, x, y []byte, ds, xs, ys, w, h int) {
		for r := range h {
			dr, xr, yr := d[r*ds:][:w], x[r*xs:][:w], y[r*ys:][:w]
			if wt == 0 || wt == 256 {
				if src == b {
					xr = yr
				}
				copy(dr, xr)
				continue
			}
			mixRow(dr, xr, yr, wt)
		}
	}
	do, ao, bo := dst.YOffset(dst.Rect.Min.X, dst.Rect.Min.Y), a.YOffset(a.Rect.Min.X, a.Rect.Min.Y), b.YOffset(b.Rect.Min.X, b.Rect.Min.Y)
	mixPlane(dst.Y[do:], a.Y[ao:], b.Y[bo:], dst.YStride, a.YStride, b.YStride, w, h)
	do, ao, bo = dst.COffset(dst.Rect.Min.X, dst.Rect.Min.Y), a.COffset(a.Rect.Min.X, a.Rect.Min.Y), b.COffset(b.Rect.Min.X, b.Rect.Min.Y)
	mixPlane(dst.Cb[do:], a.Cb[ao:], b.Cb[bo:], dst.CStride, a.CStride, b.CStride, cw, ch)
	mixPlane(dst.Cr[do:], a.Cr[ao:], b.Cr[bo:], dst.CStride, a.CStride, b.CStride, cw, ch)
}
