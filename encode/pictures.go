package encode

import "image"

// DetailedPictures are n frames of a gradient panning under a fixed pattern
// of noise, with a block of fresh noise moving across: detail to code,
// motion to find, and something new in every frame. Encoder speed measured on
// them is what a camera's picture gets; a flat test pattern encodes about
// twice as fast and would flatter the encoder.
func DetailedPictures(w, h, n int) []*image.YCbCr {
	seed := uint32(7)
	rnd := func() byte { seed = seed*1664525 + 1013904223; return byte(seed >> 24) }
	texture := make([]byte, w*h)
	for i := range texture {
		texture[i] = rnd() / 8
	}
	pics := make([]*image.YCbCr, n)
	for f := range pics {
		img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
		for y := range h {
			for x := range w {
				img.Y[y*img.YStride+x] = byte((x+4*f)/3+y/4) + texture[y*w+(x+4*f)%w]
			}
		}
		bx, by := (f*w/n)%(w-w/8), h/3
		for y := by; y < by+h/8; y++ {
			for x := bx; x < bx+w/8; x++ {
				img.Y[y*img.YStride+x] = rnd()
			}
		}
		for i := range img.Cb {
			img.Cb[i], img.Cr[i] = byte(100+i%40), byte(140-f%30)
		}
		pics[f] = img
	}
	return pics
}
