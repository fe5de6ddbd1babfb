package avmem

/*
#cgo pkg-config: libavutil
#include <string.h>
#include <libavutil/frame.h>

// tally_plane_t is a plane's memory and linesize, returned by value: a
// linesize returned through a pointer would make Go allocate it, since what
// Go passes to C by address escapes to the heap.
typedef struct {
	uint8_t *data;
	int linesize;
} tally_plane_t;

static tally_plane_t tally_plane(const AVFrame *f, int p) {
	tally_plane_t r = {NULL, 0};
	if (p < 0 || p >= AV_NUM_DATA_POINTERS) return r;
	r.data = f->data[p];
	r.linesize = f->linesize[p];
	return r;
}

// tally_copy_plane copies rows of src into plane p of f, making f writable first
// (an encoder may still hold a reference to the previous contents).
static int tally_copy_plane(AVFrame *f, int p, const uint8_t *src, int src_stride, int row_bytes, int rows) {
	int err = av_frame_make_writable(f);
	if (err < 0) return err;
	if (p < 0 || p >= AV_NUM_DATA_POINTERS || !f->data[p] || row_bytes > f->linesize[p]) return -22;
	uint8_t *dst = f->data[p];
	for (int r = 0; r < rows; r++) memcpy(dst + (size_t)r * f->linesize[p], src + (size_t)r * src_stride, row_bytes);
	return 0;
}

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
	"unsafe"

	"github.com/asticode/go-astiav"
)

// avFrame is the C frame behind a go-astiav Frame, the one place Tally reads
// it. go-astiav v0.42's Frame holds exactly one field, the *C.AVFrame;
// TestPlaneReadsWhatLibavHolds and TestLinesizeMatchesAstiav guard that
// assumption. The point is to reach the planes themselves: go-astiav offers
// only copies into fresh Go memory (a 1.4 MB allocation per 720p frame) and,
// the other way, FromImage and SetBytes stage each plane through C.CBytes (a
// malloc and a copy) before av_image_copy copies it again.
func avFrame(f *astiav.Frame) *C.AVFrame {
	return *(**C.AVFrame)(unsafe.Pointer(f))
}

// Plane is plane p of f, rows rows of its linesize, read in place, and that
// linesize; nil when the plane is absent. The bytes are C memory, valid until
// f is unreferenced or freed. It allocates nothing.
func Plane(f *astiav.Frame, p, rows int) ([]byte, int) {
	pl := C.tally_plane(avFrame(f), C.int(p))
	ls := int(pl.linesize)
	if pl.data == nil || ls <= 0 || rows <= 0 {
		return nil, 0
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(pl.data)), ls*rows), ls
}

// Linesize is the byte length of a row of plane p of f, padding included.
func Linesize(f *astiav.Frame, p int) int {
	_, ls := Plane(f, p, 1)
	return ls
}

// CopyToPlane copies rows rows of width bytes from src, stride apart, into
// plane p of f, one copy, after making f writable (an encoder may still
// hold a reference to its previous contents).
func CopyToPlane(f *astiav.Frame, p int, src []byte, stride, width, rows int) error {
	if width <= 0 || rows <= 0 || len(src) < (rows-1)*stride+width {
		return fmt.Errorf("plane %d holds %d bytes, too few for %dx%d", p, len(src), width, rows)
	}
	if err := C.tally_copy_plane(avFrame(f), C.int(p), (*C.uint8_t)(unsafe.Pointer(&src[0])), C.int(stride), C.int(width), C.int(rows)); err < 0 {
		return fmt.Errorf("copy plane %d: %w", p, astiav.Error(err))
	}
	return nil
}

// SetSEI attaches a user-data-unregistered SEI payload (UUID first) to the
// next encode of f, replacing any earlier one; an empty payload removes it.
func SetSEI(f *astiav.Frame, payload []byte) error {
	var p *C.uint8_t
	if len(payload) > 0 {
		p = (*C.uint8_t)(unsafe.Pointer(&payload[0]))
	}
	if err := C.tally_set_sei(avFrame(f), p, C.int(len(payload))); err < 0 {
		return fmt.Errorf("SEI: %w", astiav.Error(err))
	}
	return nil
}
