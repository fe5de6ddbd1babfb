//go:build cgo

package avmem

import (
	"testing"

	"github.com/asticode/go-astiav"
)

// scaler is a libswscale context from w×h src to dw×dh dst, freed when the
// test ends.
func scaler(t *testing.T, w, h int, src astiav.PixelFormat, dw, dh int, dst astiav.PixelFormat) *astiav.SoftwareScaleContext {
	t.Helper()
	var mem Closer
	t.Cleanup(mem.Close)
	s, err := astiav.CreateSoftwareScaleContext(w, h, src, dw, dh, dst, astiav.NewSoftwareScaleContextFlags(astiav.SoftwareScaleContextFlagBilinear))
	if err != nil {
		t.Fatal(err)
	}
	return Own(&mem, s)
}

// yuv420 is a w×h YUV420P picture in Go memory.
func yuv420(w, h int) Planes {
	return Planes{
		Data:   [4][]byte{make([]byte, w*h), make([]byte, w*h/4), make([]byte, w*h/4)},
		Stride: [4]int{w, w / 2, w / 2},
	}
}

// ScalerGeometry reads the context through the pointer swsContext takes
// from go-astiav's object: it must agree with what go-astiav reads, or the
// layout swsContext relies on has changed.
func TestSwsGeometryMatchesAstiav(t *testing.T) {
	s := scaler(t, 64, 36, astiav.PixelFormatRgba, 30, 18, astiav.PixelFormatYuva420P)
	sw, sh, sf, dw, dh, df := ScalerGeometry(s)
	if sw != s.SourceWidth() || sh != s.SourceHeight() || sf != s.SourcePixelFormat() ||
		dw != s.DestinationWidth() || dh != s.DestinationHeight() || df != s.DestinationPixelFormat() {
		t.Fatalf("through the C pointer: %dx%d %s to %dx%d %s; go-astiav: %dx%d %s to %dx%d %s",
			sw, sh, sf, dw, dh, df, s.SourceWidth(), s.SourceHeight(), s.SourcePixelFormat(),
			s.DestinationWidth(), s.DestinationHeight(), s.DestinationPixelFormat())
	}
	if sw != 64 || dh != 18 || df != astiav.PixelFormatYuva420P {
		t.Fatalf("geometry %dx%d %s to %dx%d %s", sw, sh, sf, dw, dh, df)
	}
}

// Red through a scaler set to BT.709 is Y 63, Cb 102, Cr 240 (limited
// range); libswscale's default gives BT.601's Y 82, Cb 90.
func TestSetBT709ConvertsWithBT709(t *testing.T) {
	const w, h = 16, 8
	red := Planes{Data: [4][]byte{make([]byte, 4*w*h)}, Stride: [4]int{4 * w}}
	for i := 0; i < len(red.Data[0]); i += 4 {
		red.Data[0][i] = 255
	}
	convert := func(bt709 bool) (y, cb, cr int) {
		s := scaler(t, w, h, astiav.PixelFormatRgb0, w, h, astiav.PixelFormatYuv420P)
		if bt709 {
			if err := SetBT709(s); err != nil {
				t.Fatal(err)
			}
		}
		out := yuv420(w, h)
		if err := Scale(s, &red, &out); err != nil {
			t.Fatal(err)
		}
		return int(out.Data[0][w*h/2+w/2]), int(out.Data[1][5]), int(out.Data[2][5])
	}
	near := func(got, want int) bool { return got >= want-1 && got <= want+1 }
	if y, cb, cr := convert(true); !near(y, 63) || !near(cb, 102) || !near(cr, 240) {
		t.Errorf("BT.709 red: Y %d Cb %d Cr %d, want 63 102 240", y, cb, cr)
	}
	if y, cb, _ := convert(false); !near(y, 82) || !near(cb, 90) {
		t.Errorf("libswscale's default red: Y %d Cb %d, want BT.601's 82 90", y, cb)
	}
}

// Scale reads and writes Go memory straight, a crop being a slice that
// starts inside the picture.
func TestScaleReadsACropInPlace(t *testing.T) {
	const w, h = 32, 16
	src := yuv420(w, h)
	for i := range src.Data[0] {
		if i%w >= 16 {
			src.Data[0][i] = 200 // the right half bright
		} else {
			src.Data[0][i] = 20
		}
	}
	for i := range src.Data[1] {
		src.Data[1][i], src.Data[2][i] = 128, 128
	}
	crop := src
	crop.Data[0], crop.Data[1], crop.Data[2] = src.Data[0][16:], src.Data[1][8:], src.Data[2][8:]
	s := scaler(t, 16, 16, astiav.PixelFormatYuv420P, 16, 16, astiav.PixelFormatYuv420P)
	if err := SetBT709(s); err != nil {
		t.Fatal(err)
	}
	out := yuv420(16, 16)
	if err := Scale(s, &crop, &out); err != nil {
		t.Fatal(err)
	}
	for i, v := range out.Data[0] {
		if v != 200 {
			t.Fatalf("luma %d is %d, want the right half's 200", i, v)
		}
	}
}

// Planes too small for the picture are refused before libswscale touches
// them.
func TestScaleRefusesPlanesTooSmall(t *testing.T) {
	const w, h = 32, 16
	s := scaler(t, w, h, astiav.PixelFormatYuv420P, w, h, astiav.PixelFormatYuv420P)
	for name, mutate := range map[string]func(src, dst *Planes){
		"short source luma":      func(src, _ *Planes) { src.Data[0] = src.Data[0][:w*h-1] },
		"missing source chroma":  func(src, _ *Planes) { src.Data[2] = nil },
		"short destination":      func(_, dst *Planes) { dst.Data[1] = dst.Data[1][:10] },
		"narrow source stride":   func(src, _ *Planes) { src.Stride[0] = w - 1 },
		"negative destination":   func(_, dst *Planes) { dst.Stride[0] = -w },
		"missing destination Cr": func(_, dst *Planes) { dst.Data[2] = nil },
	} {
		src, dst := yuv420(w, h), yuv420(w, h)
		mutate(&src, &dst)
		if err := Scale(s, &src, &dst); err == nil {
			t.Errorf("%s: scaled", name)
		}
	}
	src, dst := yuv420(w, h), yuv420(w, h)
	if err := Scale(s, &src, &dst); err != nil {
		t.Fatalf("planes that fit: %v", err)
	}
}

func TestFreedScalerIsRefused(t *testing.T) {
	s, err := astiav.CreateSoftwareScaleContext(8, 8, astiav.PixelFormatRgba, 8, 8, astiav.PixelFormatYuv420P, astiav.NewSoftwareScaleContextFlags(astiav.SoftwareScaleContextFlagBilinear))
	if err != nil {
		t.Fatal(err)
	}
	s.Free()
	src, dst := Planes{Data: [4][]byte{make([]byte, 256)}, Stride: [4]int{32}}, yuv420(8, 8)
	if err := Scale(s, &src, &dst); err == nil {
		t.Error("a freed scaler scaled")
	}
	if err := SetBT709(s); err == nil {
		t.Error("a freed scaler took BT.709")
	}
	if w, _, _, _, _, _ := ScalerGeometry(s); w != 0 {
		t.Errorf("a freed scaler has a width, %d", w)
	}
}
