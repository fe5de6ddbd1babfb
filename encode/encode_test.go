package encode

import (
	"bytes"
	"image"
	"image/color"
	"math"
	"testing"
	"time"

	"github.com/asticode/go-astiav"

	"github.com/tallystudio/tally/flv"
)

func TestCopyYCbCrPutsEveryPixelInPlace(t *testing.T) {
	img := image.NewYCbCr(image.Rect(0, 0, 64, 48), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = byte(i * 7)
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = byte(i*3), byte(255-i)
	}
	f := yuvFrame(t, 64, 48)
	if err := copyYCbCr(f, img); err != nil {
		t.Fatal(err)
	}
	back := image.NewYCbCr(img.Rect, image.YCbCrSubsampleRatio420)
	if err := f.Data().ToImage(back); err != nil {
		t.Fatal(err)
	}
	for i := range img.Y {
		if img.Y[i] != back.Y[i] {
			t.Fatalf("luma %d: %d became %d", i, img.Y[i], back.Y[i])
		}
	}
	for i := range img.Cb {
		if img.Cb[i] != back.Cb[i] || img.Cr[i] != back.Cr[i] {
			t.Fatalf("chroma %d differs", i)
		}
	}
}

// yuvFrame is a YUV420P frame with its buffers, freed when the test ends.
func yuvFrame(tb testing.TB, w, h int) *astiav.Frame {
	tb.Helper()
	f := astiav.AllocFrame()
	tb.Cleanup(f.Free)
	f.SetWidth(w)
	f.SetHeight(h)
	f.SetPixelFormat(astiav.PixelFormatYuv420P)
	if err := f.AllocBuffer(0); err != nil {
		tb.Fatal(err)
	}
	return f
}

func testImage(w, h int, n int) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Y[y*img.YStride+x] = byte(x + y + n*3)
		}
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = 128, byte(100+n%50)
	}
	return img
}

func TestVideoEncoderKeyframesAtIntervalAndOnRequest(t *testing.T) {
	e, err := NewVideoEncoder(VideoConfig{Width: 320, Height: 180, FPS: 30, Bitrate: 500_000,
		KeyframeInterval: time.Second, Preset: "ultrafast", Tune: "zerolatency"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var sps, pps bool
	flv.SplitAnnexB(e.Extradata(), func(n []byte) {
		sps = sps || n[0]&0x1f == flv.NALSPS
		pps = pps || n[0]&0x1f == flv.NALPPS
	})
	if !sps || !pps {
		t.Fatalf("extradata lacks SPS or PPS: % x", e.Extradata())
	}
	var keys []time.Duration
	frames := 0
	emit := func(p Packet) {
		frames++
		if p.Keyframe {
			keys = append(keys, p.PTS)
		}
		if p.DTS > p.PTS {
			t.Errorf("DTS %v after PTS %v", p.DTS, p.PTS)
		}
	}
	for n := int64(0); n < 90; n++ {
		if err := e.Encode(testImage(320, 180, int(n)), n, n == 45, time.Time{}, emit); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Flush(emit); err != nil {
		t.Fatal(err)
	}
	if frames != 90 {
		t.Fatalf("%d packets for 90 frames", frames)
	}
	want := []time.Duration{0, time.Second, 1500 * time.Millisecond, 2 * time.Second}
	if len(keys) < 3 || keys[0] != 0 || keys[1] != time.Second {
		t.Fatalf("keyframes at %v, want every second (and one forced at 1.5 s): %v", keys, want)
	}
	forced := false
	for _, k := range keys {
		forced = forced || k == 1500*time.Millisecond
	}
	if !forced {
		t.Errorf("forced keyframe at 1.5 s missing: %v", keys)
	}
}

func TestVideoEncoderRejectsBadSettings(t *testing.T) {
	for _, cfg := range []VideoConfig{
		{Width: 321, Height: 180, FPS: 30, Bitrate: 1e6},
		{Width: 320, Height: 180, FPS: 0, Bitrate: 1e6},
		{Width: 320, Height: 180, FPS: 30, Bitrate: 10},
		{Encoder: "h264_nonexistent", Width: 320, Height: 180, FPS: 30, Bitrate: 1e6},
	} {
		if e, err := NewVideoEncoder(cfg); err == nil {
			e.Close()
			t.Errorf("%+v accepted", cfg)
		}
	}
}

func TestAudioEncoderMakesAACFramesFromAnyChunkSize(t *testing.T) {
	e, err := NewAudioEncoder(AudioConfig{SampleRate: 48000, Channels: 2, Bitrate: 160_000})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	cfg, err := flv.ParseAudioSpecificConfig(e.Extradata())
	if err != nil || cfg.SampleRate != 48000 || cfg.Channels != 2 || cfg.ObjectType != 2 {
		t.Fatalf("AudioSpecificConfig %+v, %v", cfg, err)
	}
	var pkts []Packet
	emit := func(p Packet) { pkts = append(pkts, p) }
	// One second of 44.1 kHz input in odd chunk sizes: resampled to 48 kHz.
	s := 0
	for _, n := range []int{441, 1000, 17, 4410, 38232} {
		pcm := make([]int16, 2*n)
		for i := 0; i < n; i++ {
			v := int16(8000 * math.Sin(2*math.Pi*440*float64(s+i)/44100))
			pcm[2*i], pcm[2*i+1] = v, v
		}
		s += n
		if err := e.Encode(pcm, 44100, 2, emit); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Flush(emit); err != nil {
		t.Fatal(err)
	}
	// 48000 samples make 46.9 frames of 1024, plus the encoder's priming frame.
	if len(pkts) < 47 || len(pkts) > 49 {
		t.Fatalf("%d AAC packets for one second", len(pkts))
	}
	step := pkts[2].PTS - pkts[1].PTS
	if step < 21*time.Millisecond || step > 22*time.Millisecond {
		t.Errorf("packets %v apart, want 1024/48000 s", step)
	}
}

// Frame times survive the trip through time.Duration and back, for every frame
// of an hour at the common rates.
func TestTicksRoundTripExactly(t *testing.T) {
	for _, fps := range []int{24, 25, 30, 50, 60} {
		tb := astiav.NewRational(1, fps)
		for n := int64(-3); n < int64(fps)*3600; n++ {
			if got := toTicks(ticks(n, tb)+200*time.Millisecond, tb) - toTicks(200*time.Millisecond, tb); got != n {
				t.Fatalf("%d fps: frame %d came back as %d", fps, n, got)
			}
		}
	}
}

// Camera (4:2:2), screen (RGBA) and odd-sized frames are converted once into
// the encoder's 4:2:0 at the output size.
func TestEncoderConvertsOtherFormatsAndSizes(t *testing.T) {
	e, err := NewVideoEncoder(VideoConfig{Width: 320, Height: 180, FPS: 30, Bitrate: 500_000, KeyframeInterval: time.Second, Preset: "ultrafast"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	yuyv := image.NewYCbCr(image.Rect(0, 0, 640, 480), image.YCbCrSubsampleRatio422)
	screen := image.NewRGBA(image.Rect(0, 0, 1024, 768))
	for i := range screen.Pix {
		screen.Pix[i] = byte(i)
	}
	frames := 0
	for n, img := range []image.Image{yuyv, screen, testImage(320, 180, 0), yuyv} {
		if err := e.Encode(img, int64(n), false, time.Time{}, func(Packet) { frames++ }); err != nil {
			t.Fatalf("frame %d (%T): %v", n, img, err)
		}
	}
	if err := e.Flush(func(Packet) { frames++ }); err != nil {
		t.Fatal(err)
	}
	if frames != 4 {
		t.Fatalf("%d packets for 4 frames", frames)
	}
	if err := e.Encode(image.NewCMYK(image.Rect(0, 0, 8, 8)), 5, false, time.Time{}, func(Packet) {}); err == nil {
		t.Fatal("CMYK frames accepted")
	}
}

func benchFrame(b *testing.B) (*astiav.Frame, *image.YCbCr) {
	f := yuvFrame(b, 1920, 1080)
	img := image.NewYCbCr(image.Rect(0, 0, 1920, 1080), image.YCbCrSubsampleRatio420)
	b.SetBytes(int64(len(img.Y) + len(img.Cb) + len(img.Cr)))
	b.ReportAllocs()
	return f, img
}

// BenchmarkFrameCopySingle is Tally's path: one copy per plane into the frame.
func BenchmarkFrameCopySingle(b *testing.B) {
	f, img := benchFrame(b)
	for b.Loop() {
		if err := copyYCbCr(f, img); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFrameCopyAstiav is go-astiav's FromImage: a C.CBytes staging copy
// (malloc + copy) per plane, then av_image_copy.
func BenchmarkFrameCopyAstiav(b *testing.B) {
	f, img := benchFrame(b)
	for b.Loop() {
		if err := f.Data().FromImage(img); err != nil {
			b.Fatal(err)
		}
	}
}

// SetBitrate takes effect mid-stream: after dropping from 2 Mb/s to 400 kb/s
// the output shrinks to about the new rate (busy random frames make x264
// spend all it is given).
func TestVideoEncoderChangesBitrateMidStream(t *testing.T) {
	e, err := NewVideoEncoder(VideoConfig{Width: 320, Height: 180, FPS: 30, Bitrate: 2_000_000,
		KeyframeInterval: 2 * time.Second, Preset: "ultrafast", Tune: "zerolatency", Adjustable: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	img := image.NewYCbCr(image.Rect(0, 0, 320, 180), image.YCbCrSubsampleRatio420)
	seed := uint32(1)
	noise := func() {
		for i := range img.Y {
			seed = seed*1664525 + 1013904223
			img.Y[i] = byte(seed >> 24)
		}
	}
	rate := func(from, to int64) float64 {
		bytes := 0
		for n := from; n < to; n++ {
			noise()
			if err := e.Encode(img, n, false, time.Time{}, func(p Packet) { bytes += len(p.Data) }); err != nil {
				t.Fatal(err)
			}
		}
		return float64(bytes*8) / (float64(to-from) / 30)
	}
	rate(0, 60) // settle
	high := rate(60, 150)
	e.SetBitrate(400_000)
	rate(150, 180) // the VBV drains
	low := rate(180, 270)
	if high < 1_500_000 || low > 600_000 || e.Bitrate() != 400_000 {
		t.Errorf("%.0f kb/s before, %.0f kb/s after asking for 400 kb/s", high/1000, low/1000)
	}
	t.Logf("%.0f kb/s at 2000, %.0f kb/s at 400", high/1000, low/1000)
}

type framer struct {
	*image.YCbCr
	f *astiav.Frame
}

func (f framer) AVFrame() *astiav.Frame { return f.f }

// A picture that lives in a libav frame is encoded from that frame, and
// exactly as the same picture in Go memory is.
func TestEncoderTakesFramesInPlaceWithTheSameResult(t *testing.T) {
	encodeAll := func(in func(n int) image.Image) [][]byte {
		e, err := NewVideoEncoder(VideoConfig{Width: 320, Height: 180, FPS: 30, Bitrate: 500_000,
			KeyframeInterval: time.Second, Preset: "ultrafast", Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		var out [][]byte
		emit := func(p Packet) { out = append(out, p.Data) }
		for n := range 10 {
			if err := e.Encode(in(n), int64(n), false, time.Time{}, emit); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Flush(emit); err != nil {
			t.Fatal(err)
		}
		return out
	}
	frames := make([]*astiav.Frame, 10)
	for n := range frames {
		f := yuvFrame(t, 320, 180)
		if err := copyYCbCr(f, testImage(320, 180, n)); err != nil {
			t.Fatal(err)
		}
		frames[n] = f
	}
	copied := encodeAll(func(n int) image.Image { return testImage(320, 180, n) })
	// The Go view is left blank: only the frame holds the picture, so a copy
	// from the view instead of a reference to the frame would show.
	blank := image.NewYCbCr(image.Rect(0, 0, 320, 180), image.YCbCrSubsampleRatio420)
	inPlace := encodeAll(func(n int) image.Image { return framer{blank, frames[n]} })
	if len(copied) != 10 || len(inPlace) != len(copied) {
		t.Fatalf("%d packets copied, %d in place", len(copied), len(inPlace))
	}
	for i := range copied {
		if !bytes.Equal(copied[i], inPlace[i]) {
			t.Fatalf("packet %d differs", i)
		}
	}
	// A frame of another size is converted, as a Go image would be.
	small := yuvFrame(t, 160, 90)
	out := encodeAll(func(int) image.Image { return framer{testImage(160, 90, 0), small} })
	if len(out) != 10 {
		t.Errorf("%d packets from a frame of another size", len(out))
	}
}

// bgrx is a screen grab as capture.BGRX holds one: blue, green, red and a
// padding byte per pixel, rows stride apart.
type bgrx struct {
	pix    []byte
	stride int
	rect   image.Rectangle
}

func (b *bgrx) BGRXPix() ([]byte, int)  { return b.pix, b.stride }
func (b *bgrx) Bounds() image.Rectangle { return b.rect }
func (b *bgrx) ColorModel() color.Model { return color.RGBAModel }
func (b *bgrx) At(x, y int) color.Color {
	o := y*b.stride + x*4
	return color.RGBA{b.pix[o+2], b.pix[o+1], b.pix[o], 0xff}
}

// A BGRX screen grab is converted by libswscale as bgr0: the same planes as
// the same colours in an RGBA image, whatever its padding bytes and row
// padding hold, and pure red comes out as red.
func TestConverterTakesBGRXScreensWithTheirColours(t *testing.T) {
	const w, h, stride = 64, 48, 64*4 + 32
	scr := &bgrx{pix: make([]byte, stride*h), stride: stride, rect: image.Rect(0, 0, w, h)}
	rgba := image.NewRGBA(scr.rect)
	for y := range h {
		for x := range w {
			// Left half pure red, right half a gradient in every channel.
			r, g, b := byte(255), byte(0), byte(0)
			if x >= w/2 {
				r, g, b = byte(x*3), byte(y*5), byte(x+y)
			}
			o := y*stride + x*4
			scr.pix[o], scr.pix[o+1], scr.pix[o+2], scr.pix[o+3] = b, g, r, byte(x*y) // padding: anything
			rgba.SetRGBA(x, y, color.RGBA{r, g, b, 0xff})
		}
		for i := w * 4; i < stride; i++ {
			scr.pix[y*stride+i] = 0x5a // row padding: never read
		}
	}
	convert := func(img image.Image) *image.YCbCr {
		var c converter
		defer c.close()
		f := yuvFrame(t, 32, 24)
		if err := c.fill(f, img); err != nil {
			t.Fatalf("%T: %v", img, err)
		}
		out := image.NewYCbCr(image.Rect(0, 0, 32, 24), image.YCbCrSubsampleRatio420)
		if err := f.Data().ToImage(out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	got, want := convert(scr), convert(rgba)
	if !bytes.Equal(got.Y, want.Y) || !bytes.Equal(got.Cb, want.Cb) || !bytes.Equal(got.Cr, want.Cr) {
		t.Fatalf("BGRX and RGBA of the same picture convert differently")
	}
	// Red in BT.709 limited range, as the encoder tags its stream.
	if c := got.YCbCrAt(4, 4); !nearRed709(c) {
		t.Errorf("red came out as Y %d Cb %d Cr %d, want about 63 102 240", c.Y, c.Cb, c.Cr)
	}
}

// nearRed709 reports whether c is pure red in BT.709 limited range, Y 63,
// Cb 102, Cr 240 (±2 for rounding); BT.601's red is Y 81, Cb 90.
func nearRed709(c color.YCbCr) bool {
	near := func(a byte, b int) bool { return int(a) >= b-2 && int(a) <= b+2 }
	return near(c.Y, 63) && near(c.Cb, 102) && near(c.Cr, 240)
}

// The encoder tags its stream BT.709 (video.go), so RGB sources (screens,
// images) are converted with BT.709's matrix, not libswscale's default
// BT.601, whose red is Y 81, Cb 90: every plane of pure red, from Go images
// and from libav frames alike, is BT.709's red. A YUV frame is only scaled:
// a full-range (JPEG) one still comes out limited range.
func TestConverterUsesBT709ForRGB(t *testing.T) {
	const w, h = 64, 64
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	scr := &bgrx{pix: make([]byte, w*4*h), stride: w * 4, rect: rgba.Rect}
	for i := 0; i < len(rgba.Pix); i += 4 {
		rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2], rgba.Pix[i+3] = 255, 0, 0, 255
		scr.pix[i], scr.pix[i+1], scr.pix[i+2], scr.pix[i+3] = 0, 0, 255, 0
	}
	rgbFrame := astiav.AllocFrame()
	t.Cleanup(rgbFrame.Free)
	rgbFrame.SetWidth(w)
	rgbFrame.SetHeight(h)
	rgbFrame.SetPixelFormat(astiav.PixelFormatRgba)
	if err := rgbFrame.AllocBuffer(0); err != nil {
		t.Fatal(err)
	}
	if err := rgbFrame.Data().FromImage(rgba); err != nil {
		t.Fatal(err)
	}
	planes := func(f *astiav.Frame) *image.YCbCr {
		out := image.NewYCbCr(image.Rect(0, 0, f.Width(), f.Height()), image.YCbCrSubsampleRatio420)
		if err := f.Data().ToImage(out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, size := range [][2]int{{w, h}, {32, 24}} {
		for _, tc := range []struct {
			name string
			fill func(c *converter, dst *astiav.Frame) error
		}{
			{"RGBA", func(c *converter, dst *astiav.Frame) error { return c.fill(dst, rgba) }},
			{"BGRX", func(c *converter, dst *astiav.Frame) error { return c.fill(dst, scr) }},
			{"RGBA frame", func(c *converter, dst *astiav.Frame) error { return c.fillFrame(dst, rgbFrame) }},
		} {
			var c converter
			dst := yuvFrame(t, size[0], size[1])
			if err := tc.fill(&c, dst); err != nil {
				t.Fatalf("%s to %dx%d: %v", tc.name, size[0], size[1], err)
			}
			c.close()
			out := planes(dst)
			for _, p := range []struct {
				name string
				v    []byte
				want int // BT.709; BT.601's is 81, 90, 240
			}{{"Y", out.Y, 63}, {"Cb", out.Cb, 102}, {"Cr", out.Cr, 240}} {
				for i, b := range p.v {
					if int(b) < p.want-2 || int(b) > p.want+2 {
						t.Fatalf("%s to %dx%d: %s[%d] is %d, want BT.709's %d±2", tc.name, size[0], size[1], p.name, i, b, p.want)
					}
				}
			}
		}
	}

	// Full-range 4:2:0 white and black become limited range's 235 and 16.
	yuvj := astiav.AllocFrame()
	t.Cleanup(yuvj.Free)
	yuvj.SetWidth(w)
	yuvj.SetHeight(h)
	yuvj.SetPixelFormat(astiav.PixelFormatYuvj420P)
	if err := yuvj.AllocBuffer(0); err != nil {
		t.Fatal(err)
	}
	full := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for i := range full.Y {
		full.Y[i] = 255 * byte(i%full.YStride/(w/2)) // left half 0, right half 255
	}
	for i := range full.Cb {
		full.Cb[i], full.Cr[i] = 128, 128
	}
	if err := yuvj.Data().FromImage(full); err != nil {
		t.Fatal(err)
	}
	var c converter
	defer c.close()
	dst := yuvFrame(t, 32, 32)
	if err := c.fillFrame(dst, yuvj); err != nil {
		t.Fatal(err)
	}
	out := planes(dst)
	if b, wt := out.YCbCrAt(4, 16).Y, out.YCbCrAt(28, 16).Y; b < 14 || b > 18 || wt < 233 || wt > 237 {
		t.Errorf("full-range black and white became Y %d and %d, want 16 and 235", b, wt)
	}
}

// BenchmarkConvertScreen1080pTo720p is a 1920x1080 BGRX screen grab scaled
// and converted into a 1280x720 4:2:0 frame, as a screen source at 720p costs
// the encoder each frame.
func BenchmarkConvertScreen1080pTo720p(b *testing.B) {
	const w, h = 1920, 1080
	scr := &bgrx{pix: make([]byte, w*4*h), stride: w * 4, rect: image.Rect(0, 0, w, h)}
	for i := range scr.pix {
		scr.pix[i] = byte(i * 7)
	}
	var c converter
	defer c.close()
	f := yuvFrame(b, 1280, 720)
	b.SetBytes(int64(len(scr.pix)))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.fill(f, scr); err != nil {
			b.Fatal(err)
		}
	}
}
