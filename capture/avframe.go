package capture

/*
#cgo pkg-config: libavutil
#include <libavutil/frame.h>

static uint8_t *tally_plane(AVFrame *f, int p, int *linesize) {
	if (p < 0 || p >= AV_NUM_DATA_POINTERS) return NULL;
	*linesize = f->linesize[p];
	return f->data[p];
}
*/
import "C"

import (
	"fmt"
	"image"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// framePlane is plane p of f, rows rows of its linesize, read in place: valid
// until f is unreferenced. go-astiav v0.42 offers no view of a frame's planes,
// only copies into fresh Go memory (a 1.4 MB allocation per 720p frame), so
// this reads the *C.AVFrame behind a Frame, its one field;
// TestFramePlaneReadsWhatLibavHolds guards that.
func framePlane(f *astiav.Frame, p, rows int) ([]byte, int) {
	var ls C.int
	d := C.tally_plane(*(**C.AVFrame)(unsafe.Pointer(f)), C.int(p), &ls)
	if d == nil || ls <= 0 || rows <= 0 {
		return nil, 0
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(d)), int(ls)*rows), int(ls)
}

// copyFrameTo copies a YUV420P frame of img's size into img, one copy per
// plane and no allocation.
func copyFrameTo(img *image.YCbCr, f *astiav.Frame) error {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if f.PixelFormat() != astiav.PixelFormatYuv420P || f.Width() != w || f.Height() != h ||
		img.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		return fmt.Errorf("frame %dx%d %s does not fit a %dx%d 4:2:0 image", f.Width(), f.Height(), f.PixelFormat(), w, h)
	}
	cw, ch := (w+1)/2, (h+1)/2
	for i, p := range []struct {
		dst         []byte
		stride      int
		width, rows int
	}{{img.Y, img.YStride, w, h}, {img.Cb, img.CStride, cw, ch}, {img.Cr, img.CStride, cw, ch}} {
		src, ls := framePlane(f, i, p.rows)
		if src == nil || ls < p.width {
			return fmt.Errorf("frame plane %d is not readable", i)
		}
		for r := range p.rows {
			copy(p.dst[r*p.stride:r*p.stride+p.width], src[r*ls:r*ls+p.width])
		}
	}
	return nil
}
