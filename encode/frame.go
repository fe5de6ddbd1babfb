package encode

/*
#cgo pkg-config: libavutil
#include <string.h>
#include <libavutil/frame.h>

// tally_copy_plane copies rows of src into plane p of f, making f writable first
// (an encoder may still hold a reference to the previous contents).
static int tally_copy_plane(AVFrame *f, int p, const uint8_t *src, int src_stride, int row_bytes, int rows) {
	int err = av_frame_make_writable(f);
	if (err < 0) return err;
	if (p >= AV_NUM_DATA_POINTERS || !f->data[p] || row_bytes > f->linesize[p]) return -22;
	uint8_t *dst = f->data[p];
	for (int r = 0; r < rows; r++) memcpy(dst + (size_t)r * f->linesize[p], src + (size_t)r * src_stride, row_bytes);
	return 0;
}

static int tally_linesize(AVFrame *f, int p) { return f->linesize[p]; }

// tally_set_sei replaces the frame's user-data-unregistered SEI with data.
static int tally_set_sei(AVFrame *f, const uint8_t *data, int size) {
	av_frame_remove_side_data(f, AV_FRAME_DATA_SEI_UNREGISTERED);
	if (size == 0) return 0;
	AVFrameSideData *sd = av_frame_new_side_data(f, AV_FRAME_DATA_SEI_UNREGISTERED, size);
	if (!sd) return -12;
	memcpy(sd->data, data, size);
	return 0;
}
*/
import "C"

import (
	"fmt"
	"image"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// avFrame returns the C frame behind a go-astiav Frame. go-astiav v0.42's Frame
// holds exactly one field, the *C.AVFrame; TestAVFramePointerMatchesAstiav
// guards that assumption. The point is one copy per plane into the frame:
// go-astiav's FromImage and SetBytes stage each plane through C.CBytes
// (a malloc and a copy) before av_image_copy copies it again.
func avFrame(f *astiav.Frame) *C.AVFrame {
	return *(**C.AVFrame)(unsafe.Pointer(f))
}

// plane is one plane of an image: rows of w bytes, stride apart.
type plane struct {
	b         []byte
	stride, w int
	h         int
}

// planesOf describes an image Tally's sources produce as libav planes.
func planesOf(img image.Image) (astiav.PixelFormat, []plane, error) {
	switch m := img.(type) {
	case *image.YCbCr:
		w, h := m.Rect.Dx(), m.Rect.Dy()
		var cw, ch int
		var pf astiav.PixelFormat
		switch m.SubsampleRatio {
		case image.YCbCrSubsampleRatio420:
			pf, cw, ch = astiav.PixelFormatYuv420P, (w+1)/2, (h+1)/2
		case image.YCbCrSubsampleRatio422:
			pf, cw, ch = astiav.PixelFormatYuv422P, (w+1)/2, h
		case image.YCbCrSubsampleRatio444:
			pf, cw, ch = astiav.PixelFormatYuv444P, w, h
		default:
			return 0, nil, fmt.Errorf("encode: %v chroma subsampling is not supported", m.SubsampleRatio)
		}
		y0, c0 := m.YOffset(m.Rect.Min.X, m.Rect.Min.Y), m.COffset(m.Rect.Min.X, m.Rect.Min.Y)
		return pf, []plane{{m.Y[y0:], m.YStride, w, h}, {m.Cb[c0:], m.CStride, cw, ch}, {m.Cr[c0:], m.CStride, cw, ch}}, nil
	case *image.RGBA:
		return astiav.PixelFormatRgba, []plane{{m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y):], m.Stride, 4 * m.Rect.Dx(), m.Rect.Dy()}}, nil
	case *image.NRGBA:
		return astiav.PixelFormatRgba, []plane{{m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y):], m.Stride, 4 * m.Rect.Dx(), m.Rect.Dy()}}, nil
	case *image.Gray:
		return astiav.PixelFormatGray8, []plane{{m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y):], m.Stride, m.Rect.Dx(), m.Rect.Dy()}}, nil
	}
	return 0, nil, fmt.Errorf("encode: %T frames are not supported", img)
}

// copyPlanes copies planes into a frame of the same layout, one copy each.
func copyPlanes(f *astiav.Frame, planes []plane) error {
	c := avFrame(f)
	for i, p := range planes {
		if p.w <= 0 || p.h <= 0 || len(p.b) < (p.h-1)*p.stride+p.w {
			return fmt.Errorf("encode: plane %d holds %d bytes, too few for %dx%d", i, len(p.b), p.w, p.h)
		}
		if err := C.tally_copy_plane(c, C.int(i), (*C.uint8_t)(unsafe.Pointer(&p.b[0])), C.int(p.stride), C.int(p.w), C.int(p.h)); err < 0 {
			return fmt.Errorf("encode: copy plane %d: %w", i, astiav.Error(err))
		}
	}
	return nil
}

// copyYCbCr copies a 4:2:0 image into a YUV420P frame of the same size.
func copyYCbCr(f *astiav.Frame, img *image.YCbCr) error {
	if img.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		return fmt.Errorf("encode: %v chroma subsampling, want 4:2:0", img.SubsampleRatio)
	}
	if w, h := img.Rect.Dx(), img.Rect.Dy(); w != f.Width() || h != f.Height() {
		return fmt.Errorf("encode: image is %dx%d, frame is %dx%d", w, h, f.Width(), f.Height())
	}
	_, planes, err := planesOf(img)
	if err != nil {
		return err
	}
	return copyPlanes(f, planes)
}

// copyInterleaved copies packed audio samples (all channels in one plane) into
// plane 0 of a frame.
func copyInterleaved(f *astiav.Frame, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if err := C.tally_copy_plane(avFrame(f), 0, (*C.uint8_t)(unsafe.Pointer(&b[0])), C.int(len(b)), C.int(len(b)), 1); err < 0 {
		return fmt.Errorf("encode: copy samples: %w", astiav.Error(err))
	}
	return nil
}

func linesize(f *astiav.Frame, plane int) int { return int(C.tally_linesize(avFrame(f), C.int(plane))) }

// setSEI attaches a user-data-unregistered SEI payload (UUID first) to the
// next encode of f, replacing any earlier one; nil removes it.
func setSEI(f *astiav.Frame, payload []byte) error {
	var p *C.uint8_t
	if len(payload) > 0 {
		p = (*C.uint8_t)(unsafe.Pointer(&payload[0]))
	}
	if err := C.tally_set_sei(avFrame(f), p, C.int(len(payload))); err < 0 {
		return fmt.Errorf("encode: SEI: %w", astiav.Error(err))
	}
	return nil
}
