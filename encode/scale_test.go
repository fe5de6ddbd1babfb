package encode

import (
	"fmt"
	"image"
	"testing"

	"github.com/asticode/go-astiav"

	"github.com/tallystudio/tally/internal/avmem"
	"github.com/tallystudio/tally/internal/cputime"
)

// solidYCbCr is a w×h 4:2:0 picture: the left half y, cb, cr, the right half
// y2, cb2, cr2.
func solidYCbCr(w, h int, left, right [3]byte) *image.YCbCr {
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := range h {
		for x := range w {
			c := left
			if x >= w/2 {
				c = right
			}
			m.Y[y*m.YStride+x] = c[0]
			if x%2 == 0 && y%2 == 0 {
				i := m.COffset(x, y)
				m.Cb[i], m.Cr[i] = c[1], c[2]
			}
		}
	}
	return m
}

// framed is a picture whose pixels live in a libav frame, as a decoded
// media file's do (capture.Frame): the Scaler reads the frame itself.
type framed struct {
	*image.YCbCr
	f *astiav.Frame
}

func (p framed) AVFrame() *astiav.Frame { return p.f }

// inFrame copies img into a libav frame of its own, freed when the test ends.
func inFrame(tb testing.TB, img *image.YCbCr) framed {
	tb.Helper()
	f := yuvFrame(tb, img.Rect.Dx(), img.Rect.Dy())
	if err := copyYCbCr(f, img); err != nil {
		tb.Fatal(err)
	}
	return framed{YCbCr: img, f: f}
}

var (
	red  = [3]byte{81, 90, 240}  // BT.709 limited range, roughly
	blue = [3]byte{41, 240, 110} // the same
	grey = [3]byte{126, 128, 128}
)

// near reports whether every component of got is within tol of want.
func near(got, want [3]byte, tol int) bool {
	for i := range got {
		if d := int(got[i]) - int(want[i]); d < -tol || d > tol {
			return false
		}
	}
	return true
}

func at(m *image.YCbCr, x, y int) [3]byte {
	c := m.YCbCrAt(x, y)
	return [3]byte{c.Y, c.Cb, c.Cr}
}

// checkScaled checks the layout of a 640x360 picture from Scale: its planes
// are 4:2:0 at that size, the image's planes are the frame's own memory, and
// its halves are still red and blue.
func checkScaled(t *testing.T, s Scaled) {
	t.Helper()
	const w, h = 640, 360
	if s.Rect != image.Rect(0, 0, w, h) || s.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		t.Fatalf("scaled to %v %v, want %v 4:2:0", s.Rect, s.SubsampleRatio, image.Rect(0, 0, w, h))
	}
	f := s.AVFrame()
	if f == nil || f.Width() != w || f.Height() != h || f.PixelFormat() != astiav.PixelFormatYuv420P {
		t.Fatalf("the scaled picture's frame is not %dx%d yuv420p", w, h)
	}
	if s.YStride < w || len(s.Y) < (h-1)*s.YStride+w {
		t.Fatalf("luma: stride %d, %d bytes, for %dx%d", s.YStride, len(s.Y), w, h)
	}
	if s.CStride < w/2 || len(s.Cb) < (h/2-1)*s.CStride+w/2 || len(s.Cr) < (h/2-1)*s.CStride+w/2 {
		t.Fatalf("chroma: stride %d, %d and %d bytes, for %dx%d", s.CStride, len(s.Cb), len(s.Cr), w/2, h/2)
	}
	for p, plane := range [][]byte{s.Y, s.Cb, s.Cr} {
		mem, stride := avmem.Plane(f, p, []int{h, h / 2, h / 2}[p])
		if len(mem) == 0 || &mem[0] != &plane[0] || stride != []int{s.YStride, s.CStride, s.CStride}[p] {
			t.Fatalf("plane %d is not the frame's own memory", p)
		}
	}
	// Away from the middle, where bilinear scaling blends the two halves.
	for _, pt := range []image.Point{{0, 0}, {100, 180}, {300, 359}} {
		if c := at(s.YCbCr, pt.X, pt.Y); !near(c, red, 2) {
			t.Errorf("at %v: %v, want red %v", pt, c, red)
		}
	}
	for _, pt := range []image.Point{{340, 0}, {500, 180}, {639, 359}} {
		if c := at(s.YCbCr, pt.X, pt.Y); !near(c, blue, 2) {
			t.Errorf("at %v: %v, want blue %v", pt, c, blue)
		}
	}
}

func TestScalerGivesTheSizeLayoutAndColours(t *testing.T) {
	src := solidYCbCr(1280, 720, red, blue)
	for _, c := range []struct {
		name string
		img  image.Image
	}{{"go image", src}, {"libav frame", inFrame(t, src)}} {
		t.Run(c.name, func(t *testing.T) {
			s, err := NewScaler(640, 360)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			out, err := s.Scale(c.img)
			if err != nil {
				t.Fatal(err)
			}
			checkScaled(t, out)
		})
	}
}

func TestScalerRefusesOddOrEmptySizes(t *testing.T) {
	for _, sz := range [][2]int{{0, 360}, {640, 0}, {641, 360}, {640, 361}, {-2, 360}} {
		if s, err := NewScaler(sz[0], sz[1]); err == nil {
			s.Close()
			t.Errorf("NewScaler(%d, %d) took the size", sz[0], sz[1])
		}
	}
}

// An encoder that keeps a picture (a reference to its frame, as libav
// encoders that queue input do) still sees it unchanged after the next Scale;
// with no one holding it, the next Scale reuses the same memory.
func TestScalerLeavesAReferencedPictureAlone(t *testing.T) {
	s, err := NewScaler(640, 360)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first, err := s.Scale(solidYCbCr(1280, 720, red, blue))
	if err != nil {
		t.Fatal(err)
	}
	held := astiav.AllocFrame()
	defer held.Free()
	if err := held.Ref(first.AVFrame()); err != nil {
		t.Fatal(err)
	}
	second, err := s.Scale(solidYCbCr(1280, 720, grey, grey))
	if err != nil {
		t.Fatal(err)
	}
	if &second.Y[0] == &first.Y[0] {
		t.Fatal("the second Scale wrote into the buffer a reference still holds")
	}
	if c := at(second.YCbCr, 100, 100); !near(c, grey, 2) {
		t.Errorf("second picture at (100,100): %v, want grey %v", c, grey)
	}
	// The held frame, read as the encoder would, is still the first picture.
	y, ys := avmem.Plane(held, 0, 360)
	cb, cs := avmem.Plane(held, 1, 180)
	cr, _ := avmem.Plane(held, 2, 180)
	kept := Scaled{YCbCr: &image.YCbCr{Y: y, Cb: cb, Cr: cr, YStride: ys, CStride: cs,
		SubsampleRatio: image.YCbCrSubsampleRatio420, Rect: image.Rect(0, 0, 640, 360)}, f: held}
	checkScaled(t, kept)

	// Once the reference is gone, the scaler writes in place again: no
	// buffer a frame.
	held.Unref()
	third, err := s.Scale(solidYCbCr(1280, 720, red, blue))
	if err != nil {
		t.Fatal(err)
	}
	fourth, err := s.Scale(solidYCbCr(1280, 720, red, blue))
	if err != nil {
		t.Fatal(err)
	}
	if &third.Y[0] != &fourth.Y[0] {
		t.Error("with no reference held, a Scale took a new buffer")
	}
	checkScaled(t, fourth)
}

// BenchmarkScaleExtraOutputSize is what one extra output size costs a
// session each canvas frame: the canvas scaled once to that size
// (encode.Scaler, bilinear, as the session's outputs use it). "image" is a
// canvas in Go memory (the compositor's program picture), "avframe" one in a
// libav frame (a decoded media file's picture, read in place). 854x480 is
// scaled from the whole 16:9 canvas here; the session first crops 1078 or 718
// rows' worth to keep its shape, which changes nothing measurable.
func BenchmarkScaleExtraOutputSize(b *testing.B) {
	for _, c := range []struct{ w, h, ow, oh int }{
		{1920, 1080, 1280, 720}, {1920, 1080, 854, 480}, {1920, 1080, 640, 360},
		{1280, 720, 854, 480}, {1280, 720, 640, 360},
	} {
		canvas := testImage(c.w, c.h, 7)
		for _, kind := range []string{"image", "avframe"} {
			b.Run(fmt.Sprintf("%dx%dto%dx%d/%s", c.w, c.h, c.ow, c.oh, kind), func(b *testing.B) {
				var src image.Image = canvas
				if kind == "avframe" {
					src = inFrame(b, canvas)
				}
				s, err := NewScaler(c.ow, c.oh)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				if _, err := s.Scale(src); err != nil { // the scaler's context is made on first use
					b.Fatal(err)
				}
				b.ReportAllocs()
				cpu := cputime.Process()
				for b.Loop() {
					if _, err := s.Scale(src); err != nil {
						b.Fatal(err)
					}
				}
				cpu = cputime.Process() - cpu
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)*30/1e9*100, "cpu%core@30fps")
			})
		}
	}
}
