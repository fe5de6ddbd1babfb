package avmem

/*
#cgo pkg-config: libswscale libavutil
#include <stdint.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

// tally_sws_bt709 makes c convert with the BT.709 matrix on both sides (an
// RGB side has no matrix and ignores its half) and limited range unless full
// is set for that side. libswscale's own default is BT.601.
static int tally_sws_bt709(SwsContext *c, int src_full, int dst_full) {
	const int *t = sws_getCoefficients(SWS_CS_ITU709);
	return sws_setColorspaceDetails(c, t, src_full, t, dst_full, 0, 1 << 16, 1 << 16);
}

static void tally_sws_geometry(const SwsContext *c, int *sw, int *sh, int *sf, int *dw, int *dh, int *df) {
	*sw = c->src_w; *sh = c->src_h; *sf = c->src_format;
	*dw = c->dst_w; *dh = c->dst_h; *df = c->dst_format;
}

// tally_fits reports whether the planes of a w×h picture in fmt fit in
// memory of the given lengths at the given strides: each plane must hold its
// last row's bytes past (rows-1) strides.
static int tally_fits(int fmt, int w, int h, const int64_t len[4], const int stride[4]) {
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
	if (!d || w <= 0 || h <= 0) return 0;
	int n = av_pix_fmt_count_planes(fmt);
	if (n <= 0 || n > 4) return 0;
	for (int p = 0; p < n; p++) {
		int row = av_image_get_linesize(fmt, w, p);
		int rows = (p == 1 || p == 2) ? -((-h) >> d->log2_chroma_h) : h;
		if (row <= 0 || stride[p] < row) return 0;
		if (len[p] < (int64_t)(rows - 1) * stride[p] + row) return 0;
	}
	return 1;
}

// tally_sws_scale runs sws_scale on the whole picture, its plane pointers
// passed one by one (C arrays built here: Go memory may not hold the
// pointers cgo passes), after checking every plane fits its memory.
static int tally_sws_scale(SwsContext *c,
		const uint8_t *s0, const uint8_t *s1, const uint8_t *s2, const uint8_t *s3,
		int64_t sl0, int64_t sl1, int64_t sl2, int64_t sl3,
		int ss0, int ss1, int ss2, int ss3,
		uint8_t *d0, uint8_t *d1, uint8_t *d2, uint8_t *d3,
		int64_t dl0, int64_t dl1, int64_t dl2, int64_t dl3,
		int ds0, int ds1, int ds2, int ds3) {
	const uint8_t *src[4] = {s0, s1, s2, s3};
	const int64_t slen[4] = {sl0, sl1, sl2, sl3};
	const int sstride[4] = {ss0, ss1, ss2, ss3};
	uint8_t *dst[4] = {d0, d1, d2, d3};
	const int64_t dlen[4] = {dl0, dl1, dl2, dl3};
	const int dstride[4] = {ds0, ds1, ds2, ds3};
	if (!tally_fits(c->src_format, c->src_w, c->src_h, slen, sstride)) return -22;
	if (!tally_fits(c->dst_format, c->dst_w, c->dst_h, dlen, dstride)) return -22;
	int h = sws_scale(c, src, sstride, 0, c->src_h, dst, dstride);
	return h < 0 ? h : 0;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// swsContext is the C context behind a go-astiav SoftwareScaleContext, read
// the way avFrame reads a Frame: go-astiav v0.42's SoftwareScaleContext holds
// exactly one field, the *C.struct_SwsContext. TestSwsGeometryMatchesAstiav
// guards that assumption.
func swsContext(s *astiav.SoftwareScaleContext) *C.SwsContext {
	return *(**C.SwsContext)(unsafe.Pointer(s))
}

// SetBT709 makes s convert between RGB and YUV with the BT.709 matrix (HD),
// limited range (Y 16–235, Cb and Cr 16–240) on the YUV sides; libswscale's
// default is BT.601, which go-astiav offers no way to change. A YUV to YUV
// scale with BT.709 on both sides changes no matrix.
func SetBT709(s *astiav.SoftwareScaleContext) error {
	c := swsContext(s)
	if c == nil {
		return errors.New("scaler: freed")
	}
	if err := C.tally_sws_bt709(c, 0, 0); err < 0 {
		return fmt.Errorf("scaler: BT.709: %w", astiav.Error(err))
	}
	return nil
}

// Planes are up to four planes of a picture in Go memory: plane i starts at
// Data[i][0] and its rows are Stride[i] bytes apart. Unused planes are nil.
type Planes struct {
	Data   [4][]byte
	Stride [4]int
}

// Scale converts src into dst with s, straight between Go memory: no frame
// is allocated and nothing is staged (a crop is a Data slice that starts
// inside the picture). Both pictures have the sizes and formats s was made
// for; Scale checks that every plane fits its slice before libswscale reads
// or writes it, and returns an error instead.
func Scale(s *astiav.SoftwareScaleContext, src, dst *Planes) error {
	c := swsContext(s)
	if c == nil {
		return errors.New("scaler: freed")
	}
	sp, sl, ss := cPlanes(src)
	dp, dl, ds := cPlanes(dst)
	if err := C.tally_sws_scale(c,
		(*C.uint8_t)(sp[0]), (*C.uint8_t)(sp[1]), (*C.uint8_t)(sp[2]), (*C.uint8_t)(sp[3]),
		sl[0], sl[1], sl[2], sl[3], ss[0], ss[1], ss[2], ss[3],
		(*C.uint8_t)(dp[0]), (*C.uint8_t)(dp[1]), (*C.uint8_t)(dp[2]), (*C.uint8_t)(dp[3]),
		dl[0], dl[1], dl[2], dl[3], ds[0], ds[1], ds[2], ds[3]); err < 0 {
		if err == -22 {
			return errors.New("scaler: a plane is too small for the picture")
		}
		return fmt.Errorf("scaler: %w", astiav.Error(err))
	}
	return nil
}

// cPlanes spells p as the arguments tally_sws_scale takes.
func cPlanes(p *Planes) (ptr [4]unsafe.Pointer, n [4]C.int64_t, stride [4]C.int) {
	for i, b := range p.Data {
		if len(b) > 0 {
			ptr[i], n[i] = unsafe.Pointer(&b[0]), C.int64_t(len(b))
		}
		stride[i] = C.int(p.Stride[i])
	}
	return
}

// ScalerGeometry is what s was made for: source and destination sizes and
// pixel formats, read from the context itself.
func ScalerGeometry(s *astiav.SoftwareScaleContext) (srcW, srcH int, srcFormat astiav.PixelFormat, dstW, dstH int, dstFormat astiav.PixelFormat) {
	c := swsContext(s)
	if c == nil {
		return 0, 0, astiav.PixelFormatNone, 0, 0, astiav.PixelFormatNone
	}
	var sw, sh, sf, dw, dh, df C.int
	C.tally_sws_geometry(c, &sw, &sh, &sf, &dw, &dh, &df)
	return int(sw), int(sh), astiav.PixelFormat(sf), int(dw), int(dh), astiav.PixelFormat(df)
}
