package compose

import (
	"image"
	"testing"

	"github.com/asticode/go-astiav"

	"github.com/tallystudio/tally/internal/cputime"
)

// busyYCbCr is a w×h 4:2:0 frame with detail in every plane, so that no
// scaler path is cheaper than it would be on camera pictures.
func busyYCbCr(w, h, seed int) *image.YCbCr {
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for i := range m.Y {
		m.Y[i] = byte(16 + (i*7+seed)%220)
	}
	for i := range m.Cb {
		m.Cb[i], m.Cr[i] = byte(16+(i*3+seed)%225), byte(16+(i*5+seed)%225)
	}
	return m
}

// pipLayers is the benchmarks' program: a full-frame 1080p camera and a
// 480×270 picture-in-picture of another 1080p source, with the text and the
// logo when textLogo is set.
func pipLayers(textLogo bool) []Layer {
	layers := []Layer{
		{ID: 1, Frame: busyYCbCr(1920, 1080, 1), Rect: image.Rect(0, 0, 1920, 1080), Fit: FitStretch, Opacity: 1},
		{ID: 2, Frame: busyYCbCr(1920, 1080, 2), Rect: image.Rect(1400, 770, 1880, 1040), Fit: FitStretch, Opacity: 1},
	}
	if textLogo {
		layers = append(layers,
			Layer{ID: 3, Frame: textLike(600, 100), Seq: 1, Rect: image.Rect(80, 900, 680, 1000), Opacity: 1},
			Layer{ID: 4, Frame: logoLike(200), Seq: 1, Rect: image.Rect(1680, 40, 1880, 240), Opacity: 1},
		)
	}
	return layers
}

// benchCompose composes layers at 1080p, the first videos with a new frame
// every time, and reports the share of one core this costs at 30 frames a
// second.
func benchCompose(b *testing.B, layers []Layer, videos int) {
	c, err := New(1920, 1080)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	dst := NewFrame(1920, 1080)
	if err := c.Compose(dst, layers); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := cputime.Process()
	for b.Loop() {
		for i := range videos {
			layers[i].Seq++
		}
		if err := c.Compose(dst, layers); err != nil {
			b.Fatal(err)
		}
	}
	cpu = cputime.Process() - cpu
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(ns*30/1e9*100, "%core@30fps")
	// The same from the CPU time the process used, which a busy machine
	// inflates less than the wall clock.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)*30/1e9*100, "cpu%core@30fps")
}

// Target: ≤ 5 % of a core (≤ 1.67 ms a frame).
func BenchmarkCompose1080pPiP(b *testing.B) { benchCompose(b, pipLayers(false), 2) }

// Target: ≤ 8 % of a core (≤ 2.67 ms a frame).
func BenchmarkCompose1080pPiPTextLogo(b *testing.B) { benchCompose(b, pipLayers(true), 2) }

// BenchmarkPiPConversion is the picture-in-picture's conversion alone,
// 1080p to 480×270, with each scaler considered: what shrinkFlags chooses
// between.
func BenchmarkPiPConversion(b *testing.B) {
	for _, f := range []struct {
		name string
		flag astiav.SoftwareScaleContextFlag
	}{
		{"Bilinear", astiav.SoftwareScaleContextFlagBilinear},
		{"FastBilinear", astiav.SoftwareScaleContextFlagFastBilinear},
		{"Area", astiav.SoftwareScaleContextFlagArea},
		{"Bicubic", astiav.SoftwareScaleContextFlagBicubic},
	} {
		b.Run(f.name, func(b *testing.B) {
			defer func(old astiav.SoftwareScaleContextFlags) { shrinkFlags = old }(shrinkFlags)
			shrinkFlags = astiav.NewSoftwareScaleContextFlags(f.flag)
			benchCompose(b, pipLayers(false)[1:], 1)
		})
	}
}

// BenchmarkMix1080p is one frame of a scene transition.
func BenchmarkMix1080p(b *testing.B) {
	x, y, dst := busyYCbCr(1920, 1080, 1), busyYCbCr(1920, 1080, 2), NewFrame(1920, 1080)
	var c *Compositor
	b.ReportAllocs()
	for b.Loop() {
		c.Mix(dst, x, y, 0.3)
	}
}

// busy422 is busyYCbCr's 4:2:2 twin: what a YUYV camera delivers.
func busy422(w, h, seed int) *image.YCbCr {
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio422)
	for i := range m.Y {
		m.Y[i] = byte(16 + (i*7+seed)%220)
	}
	for i := range m.Cb {
		m.Cb[i], m.Cr[i] = byte(16+(i*3+seed)%225), byte(16+(i*5+seed)%225)
	}
	return m
}

// BenchmarkCompose1080p422Camera is a full-frame 4:2:2 camera at canvas
// size, a new frame every time.
func BenchmarkCompose1080p422Camera(b *testing.B) {
	benchCompose(b, []Layer{{ID: 1, Frame: busy422(1920, 1080, 1), Rect: image.Rect(0, 0, 1920, 1080), Opacity: 1}}, 1)
}

// BenchmarkCompose1080pScreenPiP is a 1920x1080 BGRX screen grab at full
// frame and a 480×270 picture-in-picture of it, a new grab every time.
func BenchmarkCompose1080pScreenPiP(b *testing.B) {
	scr := &bgrxPic{pix: make([]byte, 1920*4*1080), stride: 1920 * 4, rect: image.Rect(0, 0, 1920, 1080)}
	for i := range scr.pix {
		scr.pix[i] = byte(i*7 + i>>12)
	}
	benchCompose(b, []Layer{
		{ID: 1, Frame: scr, Rect: image.Rect(0, 0, 1920, 1080), Fit: FitStretch, Opacity: 1},
		{ID: 2, Frame: scr, Rect: image.Rect(1400, 770, 1880, 1040), Fit: FitStretch, Opacity: 1},
	}, 2)
}
