//go:build cgo

package avmem

import (
	"bytes"
	"image"
	"testing"

	"github.com/asticode/go-astiav"
)

// yuvFrame is a YUV420P frame of w×h with its buffers, freed when the test ends.
func yuvFrame(t *testing.T, w, h int) *astiav.Frame {
	t.Helper()
	var mem Closer
	t.Cleanup(mem.Close)
	f := Own(&mem, astiav.AllocFrame())
	f.SetWidth(w)
	f.SetHeight(h)
	f.SetPixelFormat(astiav.PixelFormatYuv420P)
	if err := f.AllocBuffer(0); err != nil {
		t.Fatal(err)
	}
	return f
}

// testImage is a 4:2:0 picture whose every byte differs from its neighbours.
func testImage(w, h int) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = byte(i * 7)
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = byte(i*3+1), byte(i*5+2)
	}
	return img
}

// Plane reads a frame's planes in place through the *C.AVFrame behind a
// go-astiav Frame; what it reads must be what libav holds, or the layout it
// relies on has changed.
func TestPlaneReadsWhatLibavHolds(t *testing.T) {
	const w, h = 66, 38 // odd chroma rounding and a linesize wider than the row
	src := testImage(w, h)
	f := yuvFrame(t, w, h)
	if err := f.Data().FromImage(src); err != nil {
		t.Fatal(err)
	}
	cw, ch := (w+1)/2, (h+1)/2
	for i, p := range []struct {
		want        []byte
		stride      int
		width, rows int
	}{{src.Y, src.YStride, w, h}, {src.Cb, src.CStride, cw, ch}, {src.Cr, src.CStride, cw, ch}} {
		b, ls := Plane(f, i, p.rows)
		if b == nil || ls < p.width || len(b) != ls*p.rows {
			t.Fatalf("plane %d: %d bytes, linesize %d for %d rows of %d", i, len(b), ls, p.rows, p.width)
		}
		for r := range p.rows {
			if !bytes.Equal(b[r*ls:r*ls+p.width], p.want[r*p.stride:r*p.stride+p.width]) {
				t.Fatalf("plane %d row %d differs from what was put in", i, r)
			}
		}
	}
	if b, _ := Plane(f, 3, 1); b != nil {
		t.Error("a YUV420P frame has a fourth plane")
	}
	if b, _ := Plane(f, -1, 1); b != nil {
		t.Error("plane -1 was read")
	}
}

// Plane and Linesize run for every plane of every frame the encoder
// converts: they must not allocate (a linesize passed to C by address would
// escape to the heap, one allocation a call).
func TestPlaneAllocatesNothing(t *testing.T) {
	f := yuvFrame(t, 64, 48)
	var sink int
	if n := testing.AllocsPerRun(100, func() {
		for p := range 4 {
			b, ls := Plane(f, p, 2)
			sink += len(b) + ls + Linesize(f, p)
		}
	}); n != 0 {
		t.Errorf("Plane and Linesize allocate %.0f times for four planes", n)
	}
	if sink == 0 {
		t.Error("no plane read")
	}
}

func TestLinesizeMatchesAstiav(t *testing.T) {
	f := yuvFrame(t, 320, 240)
	ls := f.Linesize()
	for p := range 3 {
		if got := Linesize(f, p); got != ls[p] {
			t.Fatalf("plane %d: linesize %d through the C pointer, %d through go-astiav", p, got, ls[p])
		}
	}
}

func TestCopyToPlaneWritesWhatGoastiavReads(t *testing.T) {
	const w, h = 66, 38
	src := testImage(w, h)
	f := yuvFrame(t, w, h)
	cw, ch := (w+1)/2, (h+1)/2
	if err := CopyToPlane(f, 0, src.Y, src.YStride, w, h); err != nil {
		t.Fatal(err)
	}
	if err := CopyToPlane(f, 1, src.Cb, src.CStride, cw, ch); err != nil {
		t.Fatal(err)
	}
	if err := CopyToPlane(f, 2, src.Cr, src.CStride, cw, ch); err != nil {
		t.Fatal(err)
	}
	back := image.NewYCbCr(src.Rect, image.YCbCrSubsampleRatio420)
	if err := f.Data().ToImage(back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Y, src.Y) || !bytes.Equal(back.Cb, src.Cb) || !bytes.Equal(back.Cr, src.Cr) {
		t.Fatal("planes read back through go-astiav differ from what was copied in")
	}
	if err := CopyToPlane(f, 0, src.Y[:w], src.YStride, w, h); err == nil {
		t.Error("a plane too short for its rows was copied")
	}
	if err := CopyToPlane(f, 3, src.Y, src.YStride, w, 1); err == nil {
		t.Error("a plane the frame does not have was written")
	}
	if err := CopyToPlane(f, 1, src.Y, src.YStride, w, 1); err == nil {
		t.Error("a row wider than the plane's linesize was written")
	}
}
