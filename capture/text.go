package capture

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"
	"io/fs"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

const (
	// maxTextSide bounds a rendered text picture: wider or taller text is
	// clipped to its top-left 4096x4096, the beginning of the text.
	maxTextSide = 4096
	// maxTextFile is how much of a text file is read; the rest is ignored.
	maxTextFile = 64 << 10
	// textPoll is how often a text file's modification time and size are checked.
	textPoll = 250 * time.Millisecond
	// maxTextSize is the largest font size, in pixels, NewText accepts.
	maxTextSize = 1024
	// maxOutlineWidth is the widest outline, in pixels, NewText accepts.
	maxOutlineWidth = 64
	// maxFontFile is the largest font file NewText reads.
	maxFontFile = 64 << 20
)

// TextOptions is what NewText draws and how.
type TextOptions struct {
	// Text is the words; newlines start new lines, all aligned left. A tab
	// is drawn as four spaces.
	Text string
	// File, when set, replaces Text: the text is read from this file (its
	// first 64 KiB, as UTF-8, without trailing newlines) and drawn again
	// whenever it changes, like OBS's "read from file". Its modification time
	// and size are checked every 250 ms. A missing file draws as empty text
	// and starts showing once it appears.
	File string
	// Font is a TrueType or OpenType file (the first font of a collection);
	// "" is the Go font (goregular), built in.
	Font string
	// Size is the font size in pixels (points at 72 dpi), at most 1024.
	Size float64
	// Colour is the colour of the letters.
	Colour color.NRGBA
	// Outline is drawn around the letters, OutlineWidth pixels wide (at most
	// 64); Outline.A == 0 means no outline.
	Outline      color.NRGBA
	OutlineWidth int
	// Background fills a box behind the text, the picture's whole size;
	// Background.A == 0 means none.
	Background color.NRGBA
	// Padding is the space, in pixels, between the text (with its outline)
	// and the picture's edges.
	Padding int
}

// NewText draws text as a source, like OBS's Text source: an *image.NRGBA just
// large enough for the text, its outline and the padding, transparent where
// nothing is drawn. Empty text is a 2x2 transparent picture. The first Read
// returns the picture at once; later Reads block until the text changes (when
// it comes from a file) or until Close, and then return io.EOF. Pictures are
// not reused: a caller may keep one, but must not write to it.
func NewText(o TextOptions) (VideoReader, error) {
	if math.IsNaN(o.Size) || o.Size <= 0 || o.Size > maxTextSize {
		return nil, fmt.Errorf("text size %v: must be more than 0 and at most %d pixels", o.Size, maxTextSize)
	}
	if o.OutlineWidth < 0 || o.OutlineWidth > maxOutlineWidth {
		return nil, fmt.Errorf("text outline width %d: must be 0 to %d pixels", o.OutlineWidth, maxOutlineWidth)
	}
	if o.Padding < 0 {
		return nil, fmt.Errorf("text padding %d: must not be negative", o.Padding)
	}
	f, err := loadFont(o.Font)
	if err != nil {
		return nil, err
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: o.Size, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		return nil, fmt.Errorf("font %s: %w", fontName(o.Font), err)
	}
	r := &textRenderer{o: o, face: face}
	if o.File == "" {
		return newStill(r.render(cleanText(o.Text))), nil
	}

	t := &textFile{
		path:    o.File,
		r:       r,
		changed: make(chan struct{}, 1),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	st, text, err := readTextFile(o.File)
	if err != nil {
		// Not missing but unreadable (a directory, no permission…): empty
		// for now, tried again at the next poll as the file may be fixed.
		st = textStamp{}
	}
	t.pending = r.render(text)
	go t.poll(st, text)
	return t, nil
}

var goRegular = sync.OnceValues(func() (*opentype.Font, error) { return opentype.Parse(goregular.TTF) })

func fontName(path string) string {
	if path == "" {
		return "goregular (built in)"
	}
	return path
}

// loadFont reads and parses a font file, or returns the built-in Go font for "".
func loadFont(path string) (*opentype.Font, error) {
	if path == "" {
		f, err := goRegular()
		if err != nil {
			return nil, fmt.Errorf("font %s: %w", fontName(path), err)
		}
		return f, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("font %s: %w", path, unwrapPath(err))
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("font %s: is a directory", path)
	}
	if fi.Size() > maxFontFile {
		return nil, fmt.Errorf("font %s: %d bytes is too large for a font (at most %d)", path, fi.Size(), maxFontFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("font %s: %w", path, unwrapPath(err))
	}
	// A collection of one is how ParseCollection returns a single font, so
	// this reads .ttf, .otf, .ttc and .otc alike.
	c, err := opentype.ParseCollection(data)
	if err != nil {
		return nil, fmt.Errorf("font %s: not a TrueType or OpenType font: %v", path, err)
	}
	f, err := c.Font(0)
	if err != nil {
		return nil, fmt.Errorf("font %s: not a TrueType or OpenType font: %v", path, err)
	}
	return f, nil
}

// unwrapPath drops an *fs.PathError's own copy of the path (the caller names
// it), keeping what it wraps so that errors.Is(err, fs.ErrNotExist) still holds.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// cleanText makes line ends "\n" and tabs four spaces.
func cleanText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.ReplaceAll(s, "\t", "    ")
}

// textStamp is what the poller compares to notice a text file has changed.
type textStamp struct {
	exists  bool
	modTime int64 // Unix nanoseconds
	size    int64
}

// readTextFile returns the file's stamp and its text (cleaned, at most 64 KiB
// read). A missing file is empty text, not an error.
func readTextFile(path string) (textStamp, string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return textStamp{}, "", nil
	}
	if err != nil {
		return textStamp{}, "", err
	}
	defer f.Close()
	// The stamp is taken before the read: a write during it changes the
	// stamp the next poll sees, which reads the file again.
	fi, err := f.Stat()
	if err != nil {
		return textStamp{}, "", err
	}
	st := textStamp{exists: true, modTime: fi.ModTime().UnixNano(), size: fi.Size()}
	b, err := io.ReadAll(io.LimitReader(f, maxTextFile))
	if err != nil {
		return textStamp{}, "", err
	}
	text := strings.ToValidUTF8(string(b), "\uFFFD")
	return st, strings.TrimRight(cleanText(text), "\n"), nil
}

// statTextFile is readTextFile's stamp without the read.
func statTextFile(path string) (textStamp, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return textStamp{}, nil
	}
	if err != nil {
		return textStamp{}, err
	}
	return textStamp{exists: true, modTime: fi.ModTime().UnixNano(), size: fi.Size()}, nil
}

// textFile is NewText's source for text read from a file. Its poller
// goroutine is started by NewText and stopped by Close, which waits for it.
type textFile struct {
	path string
	r    *textRenderer // the poller's alone once it has started

	mu      sync.Mutex
	pending *image.NRGBA // the newest picture not yet read, or nil
	changed chan struct{}

	quit      chan struct{}
	done      chan struct{} // closed when the poller has returned
	closeOnce sync.Once
}

func (t *textFile) Read() (image.Image, func(), error) {
	for {
		select {
		case <-t.quit:
			return nil, nil, io.EOF
		default:
		}
		t.mu.Lock()
		img := t.pending
		t.pending = nil
		t.mu.Unlock()
		if img != nil {
			return img, nil, nil
		}
		select {
		case <-t.changed:
		case <-t.quit:
			return nil, nil, io.EOF
		}
	}
}

// Close stops the poller and returns once it has; a Read waiting returns io.EOF.
func (t *textFile) Close() error {
	t.closeOnce.Do(func() { close(t.quit) })
	<-t.done
	return nil
}

// poll checks the file every textPoll until Close and draws its text again
// when it has changed. last and text are what the first picture was drawn from.
func (t *textFile) poll(last textStamp, text string) {
	defer close(t.done)
	tick := time.NewTicker(textPoll)
	defer tick.Stop()
	for {
		select {
		case <-t.quit:
			return
		case <-tick.C:
		}
		if st, err := statTextFile(t.path); err == nil && st == last {
			continue
		}
		st, s, err := readTextFile(t.path)
		if err != nil {
			continue // keep the last picture; try again at the next tick
		}
		last = st
		if s == text {
			continue
		}
		text = s
		img := t.r.render(text)
		t.mu.Lock()
		t.pending = img
		t.mu.Unlock()
		select {
		case t.changed <- struct{}{}:
		default: // a wake-up is already waiting; it will find the newest picture
		}
	}
}

// textRenderer draws text with one face. A face is not safe for concurrent
// use: a renderer is used by one goroutine at a time.
type textRenderer struct {
	o    TextOptions
	face font.Face
}

// render draws text (already cleaned) into a new picture.
func (r *textRenderer) render(text string) *image.NRGBA {
	if text == "" {
		return image.NewNRGBA(image.Rect(0, 0, 2, 2))
	}
	m := r.face.Metrics()
	lineHeight := m.Height
	if lineHeight <= 0 {
		lineHeight = m.Ascent + m.Descent
	}
	if lineHeight <= 0 {
		lineHeight = fixed.Int26_6(r.o.Size * 64)
	}
	limit := fixed.I(maxTextSide)
	lines := strings.Split(text, "\n")
	// Lines below the clip cannot show: do not measure or draw them (this also
	// keeps the 26.6 coordinates far from overflowing).
	if n := int(limit/lineHeight) + 2; len(lines) > n {
		lines = lines[:n]
	}

	// The ink's bounds, with the first line's baseline at y = 0: at least a
	// line's ascent and descent, and whatever glyphs reach beyond them.
	ink := fixed.Rectangle26_6{
		Min: fixed.Point26_6{Y: -m.Ascent},
		Max: fixed.Point26_6{Y: fixed.Int26_6(len(lines)-1)*lineHeight + m.Descent},
	}
	for i, line := range lines {
		b, adv := r.measure(line, limit)
		if !b.Empty() {
			b = b.Add(fixed.Point26_6{Y: fixed.Int26_6(i) * lineHeight})
			// Not ink.Union: ink may be empty (no width yet) and still hold the height.
			ink.Min.X, ink.Min.Y = min(ink.Min.X, b.Min.X), min(ink.Min.Y, b.Min.Y)
			ink.Max.X, ink.Max.Y = max(ink.Max.X, b.Max.X), max(ink.Max.Y, b.Max.Y)
		}
		ink.Max.X = max(ink.Max.X, adv)
	}
	minX, minY := ink.Min.X.Floor(), ink.Min.Y.Floor()
	textW, textH := ink.Max.X.Ceil()-minX, ink.Max.Y.Ceil()-minY

	outline := 0
	if r.o.Outline.A > 0 {
		outline = r.o.OutlineWidth
	}
	margin := outline + r.o.Padding
	// Clip: at most maxTextSide wide and tall, keeping the top-left.
	w := min(textW+2*margin, maxTextSide)
	h := min(textH+2*margin, maxTextSide)
	w, h = max(w, 1), max(h, 1)
	bounds := image.Rect(0, 0, w, h)

	mask := image.NewAlpha(bounds)
	origin := fixed.P(margin-minX, margin-minY)
	for i, line := range lines {
		r.drawLine(mask, line, origin.Add(fixed.Point26_6{Y: fixed.Int26_6(i) * lineHeight}))
	}

	img := image.NewNRGBA(bounds)
	if r.o.Background.A > 0 {
		fillNRGBA(img, r.o.Background)
	}
	if outline > 0 {
		overMask(img, dilate(mask, outline), r.o.Outline)
	}
	overMask(img, mask, r.o.Colour)
	return img
}

// glyphFits says whether a glyph's bounds are small enough to draw: a broken
// font could describe one far larger than any picture we keep.
func glyphFits(b fixed.Rectangle26_6) bool {
	const most = fixed.Int26_6(2 * maxTextSide << 6)
	return b.Max.X-b.Min.X <= most && b.Max.Y-b.Min.Y <= most
}

// measure returns the ink bounds and advance of line drawn at the origin,
// stopping once the pen is past limit (the rest is clipped).
func (r *textRenderer) measure(line string, limit fixed.Int26_6) (bounds fixed.Rectangle26_6, advance fixed.Int26_6) {
	prev := rune(-1)
	for _, c := range line {
		if advance > limit {
			break
		}
		if prev >= 0 {
			advance += r.face.Kern(prev, c)
		}
		b, a, _ := r.face.GlyphBounds(c)
		if !b.Empty() && glyphFits(b) {
			bounds = bounds.Union(b.Add(fixed.Point26_6{X: advance}))
		}
		advance += a
		prev = c
	}
	return bounds, advance
}

// drawLine adds line's glyphs, with its baseline starting at dot, to mask.
func (r *textRenderer) drawLine(mask *image.Alpha, line string, dot fixed.Point26_6) {
	right := fixed.I(mask.Rect.Max.X)
	prev := rune(-1)
	for _, c := range line {
		if dot.X > right {
			break // clipped
		}
		if prev >= 0 {
			dot.X += r.face.Kern(prev, c)
		}
		prev = c
		b, a, _ := r.face.GlyphBounds(c)
		if b.Empty() || !glyphFits(b) {
			dot.X += a
			continue
		}
		dr, gm, gp, a, _ := r.face.Glyph(dot, c)
		dot.X += a
		if gm != nil {
			addGlyph(mask, dr, gm, gp)
		}
	}
}

// addGlyph composites a glyph's coverage over mask: dr is where it goes,
// gm at gp its coverage.
func addGlyph(mask *image.Alpha, dr image.Rectangle, gm image.Image, gp image.Point) {
	clip := dr.Intersect(mask.Rect)
	if clip.Empty() {
		return
	}
	gp = gp.Add(clip.Min.Sub(dr.Min))
	ga, ok := gm.(*image.Alpha)
	if !ok {
		draw.DrawMask(mask, clip, image.Opaque, image.Point{}, gm, gp, draw.Over)
		return
	}
	for y := 0; y < clip.Dy(); y++ {
		dst := mask.Pix[mask.PixOffset(clip.Min.X, clip.Min.Y+y):][:clip.Dx()]
		src := ga.Pix[ga.PixOffset(gp.X, gp.Y+y):][:clip.Dx()]
		for x, s := range src {
			if s == 0 {
				continue
			}
			d := uint32(dst[x])
			dst[x] = uint8(d + (uint32(s)*(255-d)+127)/255)
		}
	}
}

// dilate returns mask grown by radius pixels in every direction: each pixel is
// the largest coverage within a disc of that radius around it. That is the
// outline's shape, drawn under the letters.
//
// Each source row is widened step by step (1 pixel each side per step) and
// folded into the rows above and below it that the disc reaches with that
// half-width: O(width × height × radius).
func dilate(mask *image.Alpha, radius int) *image.Alpha {
	w, h := mask.Rect.Dx(), mask.Rect.Dy()
	out := image.NewAlpha(mask.Rect)
	// half[d] is the disc's half-width d rows from its centre; r²+r rather
	// than r² rounds the disc (a radius of 1 is the 3x3 square).
	half := make([]int, radius+1)
	for d := range half {
		half[d] = int(math.Sqrt(float64(radius*radius + radius - d*d)))
	}
	row := make([]uint8, w)
	for sy := 0; sy < h; sy++ {
		src := mask.Pix[sy*mask.Stride:][:w]
		if isZero(src) {
			continue
		}
		copy(row, src)
		grown := 0
		for d := radius; d >= 0; d-- { // half[d] grows as d shrinks
			for ; grown < half[d]; grown++ {
				widen(row)
			}
			foldMax(out, sy-d, row)
			if d > 0 {
				foldMax(out, sy+d, row)
			}
		}
	}
	return out
}

func isZero(b []uint8) bool {
	for _, v := range b {
		if v != 0 {
			return false
		}
	}
	return true
}

// widen makes each value the largest of itself and its two neighbours.
func widen(row []uint8) {
	prev := uint8(0)
	for x, v := range row {
		m := max(prev, v)
		if x+1 < len(row) {
			m = max(m, row[x+1])
		}
		prev = v
		row[x] = m
	}
}

// foldMax raises out's row y to row, where row is larger.
func foldMax(out *image.Alpha, y int, row []uint8) {
	if y < 0 || y >= out.Rect.Dy() {
		return
	}
	dst := out.Pix[y*out.Stride:][:len(row)]
	for x, v := range row {
		dst[x] = max(dst[x], v)
	}
}

// overMask composites c, with mask's coverage, over img (the same size, both
// at the origin), in non-premultiplied colour.
func overMask(img *image.NRGBA, mask *image.Alpha, c color.NRGBA) {
	if c.A == 0 {
		return
	}
	w, h := mask.Rect.Dx(), mask.Rect.Dy()
	for y := 0; y < h; y++ {
		mrow := mask.Pix[y*mask.Stride:][:w]
		prow := img.Pix[y*img.Stride:][:4*w]
		for x, m := range mrow {
			if m == 0 {
				continue
			}
			sa := (uint32(c.A)*uint32(m) + 127) / 255
			if sa == 0 {
				continue
			}
			p := prow[4*x : 4*x+4 : 4*x+4]
			da := uint32(p[3])
			if sa == 255 || da == 0 {
				p[0], p[1], p[2], p[3] = c.R, c.G, c.B, uint8(sa)
				continue
			}
			// In units of 1/255²: the result's alpha is sa + da(1 - sa), its
			// colour the alpha-weighted sum divided by that alpha.
			ra := sa*255 + da*(255-sa)
			dw := da * (255 - sa)
			p[0] = uint8((uint32(c.R)*sa*255 + uint32(p[0])*dw + ra/2) / ra)
			p[1] = uint8((uint32(c.G)*sa*255 + uint32(p[1])*dw + ra/2) / ra)
			p[2] = uint8((uint32(c.B)*sa*255 + uint32(p[2])*dw + ra/2) / ra)
			p[3] = uint8((ra + 127) / 255)
		}
	}
}
