package capture

import "image"

// glyphs is a 5x7 bitmap font for what the test pattern burns in: digits and the
// separators of a clock. Each row is 5 bits, most significant bit on the left.
var glyphs = map[rune][7]uint8{
	'0': {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e},
	'1': {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e},
	'2': {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f},
	'3': {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e},
	'4': {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02},
	'5': {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e},
	'6': {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e},
	'7': {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},
	'8': {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e},
	'9': {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c},
	':': {0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00},
	'.': {0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c},
	' ': {},
}

// drawText writes s into the luma plane of img at (x, y), each font pixel a
// scale×scale block, white on a black box so it stays legible over any picture.
func drawText(img *image.YCbCr, x, y, scale int, s string) {
	w := (len(s)*6 + 1) * scale
	h := 9 * scale
	b := img.Bounds()
	fillLuma(img, image.Rect(x, y, x+w, y+h).Intersect(b), 16)
	for i, r := range s {
		g := glyphs[r]
		gx := x + (i*6+1)*scale
		for row := 0; row < 7; row++ {
			for col := 0; col < 5; col++ {
				if g[row]&(0x10>>col) != 0 {
					fillLuma(img, image.Rect(gx+col*scale, y+(row+1)*scale, gx+(col+1)*scale, y+(row+2)*scale).Intersect(b), 235)
				}
			}
		}
	}
	// Grey out the chroma under the box so the text reads as white on black.
	fillChroma(img, image.Rect(x, y, x+w, y+h).Intersect(b), 128, 128)
}

func fillLuma(img *image.YCbCr, r image.Rectangle, v uint8) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.Y[y*img.YStride+r.Min.X : y*img.YStride+r.Max.X]
		for i := range row {
			row[i] = v
		}
	}
}

func fillChroma(img *image.YCbCr, r image.Rectangle, cb, cr uint8) {
	for y := r.Min.Y / 2; y < (r.Max.Y+1)/2; y++ {
		off := y * img.CStride
		for x := r.Min.X / 2; x < (r.Max.X+1)/2; x++ {
			img.Cb[off+x], img.Cr[off+x] = cb, cr
		}
	}
}
