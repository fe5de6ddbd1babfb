package capture

import (
	"bytes"
	"image"
	"testing"

	"github.com/asticode/go-astiav"
)

// copyFrameTo copies every plane of a frame out into an image of its size
// (avmem's TestPlaneReadsWhatLibavHolds guards the in-place read under it),
// and refuses an image of another size.
func TestCopyFrameToCopiesEveryPlane(t *testing.T) {
	const w, h = 66, 38 // odd chroma rounding and a linesize wider than the row
	src := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for i := range src.Y {
		src.Y[i] = byte(i * 7)
	}
	for i := range src.Cb {
		src.Cb[i], src.Cr[i] = byte(i*3+1), byte(i*5+2)
	}
	f := astiav.AllocFrame()
	defer f.Free()
	f.SetWidth(w)
	f.SetHeight(h)
	f.SetPixelFormat(astiav.PixelFormatYuv420P)
	if err := f.AllocBuffer(0); err != nil {
		t.Fatal(err)
	}
	if err := f.Data().FromImage(src); err != nil {
		t.Fatal(err)
	}
	dst := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	if err := copyFrameTo(dst, f); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dst.Y, src.Y) || !bytes.Equal(dst.Cb, src.Cb) || !bytes.Equal(dst.Cr, src.Cr) {
		t.Fatal("planes copied out of the frame differ from what was put in")
	}
	if err := copyFrameTo(image.NewYCbCr(image.Rect(0, 0, w+2, h), image.YCbCrSubsampleRatio420), f); err == nil {
		t.Error("a frame of another size was copied")
	}
}
