// Package capture provides Tally's video and audio sources through
// github.com/pion/mediadevices: the system's cameras, microphones and screens,
// plus a test pattern and a tone registered as drivers, so they are chosen
// exactly like devices and stand in wherever no hardware exists.
package capture

import (
	"fmt"
	"image"
	"io"
	"sync"
	"time"

	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/frame"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// Labels of the built-in sources, as listed next to real devices.
const (
	TestPatternLabel = "Test pattern"
	ToneLabel        = "Test tone"
)

func init() {
	registerTestPattern()
	// Registration cannot fail for these adapters (the manager only stores them).
	_ = driver.GetManager().Register(&tone{}, driver.Info{
		Label: ToneLabel, Name: "tone", DeviceType: driver.Microphone, Priority: driver.PriorityLow,
	})
}

// registerTestPattern adds a test pattern of its own to the drivers, at start-up
// and after a rescan of the video devices has cleared them all. It is a new
// one each time: one that is open carries on with whoever opened it.
func registerTestPattern() {
	_ = driver.GetManager().Register(&testPattern{}, driver.Info{
		Label: TestPatternLabel, Name: "testpattern", DeviceType: driver.Camera, Priority: driver.PriorityLow,
	})
}

// testPattern draws moving colour bars with a burnt-in frame counter and wall
// clock, and flashes white on the first frame of every wall-clock second, in
// step with the tone's beeps: a recording then shows A/V sync at a glance and
// to a measuring tool.
type testPattern struct{ openState }

// openState is the open/closed state the built-in sources share: a reader of
// a closed source returns io.EOF.
type openState struct {
	mu     sync.Mutex
	closed bool
}

func (o *openState) Open() error  { o.set(false); return nil }
func (o *openState) Close() error { o.set(true); return nil }

func (o *openState) set(closed bool) {
	o.mu.Lock()
	o.closed = closed
	o.mu.Unlock()
}

func (o *openState) isClosed() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.closed
}

// Properties lists the modes the pattern offers; any size works when asked
// directly, these are what device pickers show.
func (d *testPattern) Properties() []prop.Media {
	var ps []prop.Media
	for _, s := range [][2]int{{640, 360}, {1280, 720}, {1920, 1080}} {
		for _, fps := range []float32{30, 60} {
			ps = append(ps, prop.Media{Video: prop.Video{Width: s[0], Height: s[1], FrameRate: fps, FrameFormat: frame.FormatI420}})
		}
	}
	return ps
}

// VideoRecord starts the pattern. Read blocks until the next frame is due, so
// the pattern runs in real time like a camera.
func (d *testPattern) VideoRecord(p prop.Media) (video.Reader, error) {
	w, h, fps := p.Width, p.Height, float64(p.FrameRate)
	if w <= 0 || h <= 0 || w%2 != 0 || h%2 != 0 || w > 7680 || h > 4320 {
		return nil, fmt.Errorf("test pattern: size %dx%d must be even and at most 7680x4320", w, h)
	}
	if fps <= 0 || fps > 240 {
		return nil, fmt.Errorf("test pattern: frame rate %v out of range", fps)
	}
	g := newPatternGen(w, h)
	start := time.Now()
	interval := time.Duration(float64(time.Second) / fps)
	var n int64
	pool := sync.Pool{New: func() any { return image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420) }}
	return video.ReaderFunc(func() (image.Image, func(), error) {
		if d.isClosed() {
			return nil, nil, io.EOF
		}
		due := start.Add(time.Duration(n) * interval)
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		now := time.Now()
		// Flash on the frame scheduled nearest a wall-clock second, where the
		// tone's beep starts: at most half a frame apart by construction.
		into := time.Duration(due.UnixNano() % int64(time.Second))
		flash := n > 0 && (into < interval/2 || into >= time.Second-interval/2)
		img := pool.Get().(*image.YCbCr)
		g.draw(img, n, now, flash)
		n++
		return img, func() { pool.Put(img) }, nil
	}), nil
}

// patternGen holds precomputed bar rows, so a frame costs a few copies per row.
type patternGen struct {
	w, h  int
	barY  []uint8 // two periods of the luma row, for scrolling by slicing
	barCb []uint8
	barCr []uint8
	scale int
}

// 75% colour bars in BT.601 limited range: white, yellow, cyan, green, magenta, red, blue.
var bars = [7][3]uint8{
	{180, 128, 128}, {162, 44, 142}, {131, 156, 44}, {112, 72, 58},
	{84, 184, 198}, {65, 100, 212}, {35, 212, 114},
}

func newPatternGen(w, h int) *patternGen {
	g := &patternGen{w: w, h: h, scale: max(h/90, 1)}
	g.barY = make([]uint8, 2*w)
	g.barCb = make([]uint8, w)
	g.barCr = make([]uint8, w)
	for x := 0; x < 2*w; x++ {
		g.barY[x] = bars[(x%w)*7/w][0]
	}
	for x := 0; x < w; x++ {
		// Chroma rows hold two periods of half width.
		c := bars[((2*x)%w)*7/w]
		g.barCb[x], g.barCr[x] = c[1], c[2]
	}
	return g
}

func (g *patternGen) draw(img *image.YCbCr, n int64, now time.Time, flash bool) {
	if flash {
		fillLuma(img, img.Rect, 235)
		fillChroma(img, img.Rect, 128, 128)
	} else {
		shift := int(n*4) % g.w
		for y := 0; y < g.h; y++ {
			copy(img.Y[y*img.YStride:y*img.YStride+g.w], g.barY[shift:shift+g.w])
		}
		cshift := shift / 2
		cw := g.w / 2
		for y := 0; y < g.h/2; y++ {
			row := y * img.CStride
			copy(img.Cb[row:row+cw], g.barCb[cshift:cshift+cw])
			copy(img.Cr[row:row+cw], g.barCr[cshift:cshift+cw])
		}
	}
	s := g.scale
	drawText(img, 2*s, 2*s, s, fmt.Sprintf("%06d", n))
	drawText(img, 2*s, 13*s, s, now.UTC().Format("15:04:05.000"))
}
