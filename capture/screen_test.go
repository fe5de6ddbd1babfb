//go:build linux

package capture

import (
	"errors"
	"image"
	"image/color"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tallystudio/tally/encode"
	"github.com/tallystudio/tally/internal/peers"
)

// The encoder takes screen grabs as they are, by this interface.
var _ encode.BGRXImage = (*BGRX)(nil)

// useXvfbScreen starts an Xvfb (1280x800), points DISPLAY at it and lists
// its screens; the test's end puts DISPLAY and the listing back.
func useXvfbScreen(t testing.TB) *peers.Xvfb {
	t.Helper()
	x := peers.StartXvfb(t)
	// A client for the whole test, as a desktop has: Xvfb would reset, and
	// clear what a test painted, each time its last client leaves.
	release, err := holdDisplay(x.Display)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	useDisplay(t, x.Display)
	return x
}

// useDisplay points DISPLAY at name and lists the screens again, until the
// test ends.
func useDisplay(t testing.TB, name string) {
	t.Helper()
	// Registered before Setenv, so it runs after Setenv's own clean-up has
	// put DISPLAY back.
	t.Cleanup(Rescan)
	t.Setenv("DISPLAY", name)
	Rescan()
}

// quadrants paints the four quarters of a w×h screen in four colours and
// returns them, top left, top right, bottom left, bottom right.
func quadrants(t *testing.T, display string, w, h int) [4]color.RGBA {
	t.Helper()
	cols := [4]color.RGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}, {0x12, 0x34, 0x56, 255}}
	for i, c := range cols {
		r := image.Rect((i%2)*w/2, (i/2)*h/2, (i%2+1)*w/2, (i/2+1)*h/2)
		if err := fillRoot(display, 0, r, uint32(c.R)<<16|uint32(c.G)<<8|uint32(c.B)); err != nil {
			t.Fatal(err)
		}
	}
	return cols
}

// checkQuadrants reads the middle of each quarter of img.
func checkQuadrants(t *testing.T, img image.Image, want [4]color.RGBA) {
	t.Helper()
	b := img.Bounds()
	for i, c := range want {
		x, y := b.Min.X+(2*(i%2)+1)*b.Dx()/4, b.Min.Y+(2*(i/2)+1)*b.Dy()/4
		if got := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA); got != c {
			t.Errorf("quarter %d at (%d,%d): %v, want %v", i, x, y, got, c)
		}
	}
}

// The screen is listed once, as Tally's own X11 screen: mediadevices' X11
// driver is not registered next to it, before or after a rescan.
func TestScreenIsListedOncePerXScreen(t *testing.T) {
	useXvfbScreen(t)
	for range 2 {
		var screens []string
		for _, d := range List() {
			if d.Kind == KindScreen {
				screens = append(screens, d.Label)
			}
		}
		if len(screens) != 1 || screens[0] != "X11Screen0" {
			t.Fatalf("screens listed: %q, want one, X11Screen0", screens)
		}
		Rescan()
	}
}

// A screen source delivers frames of the screen's size, whatever size is
// asked for (the encoder scales), with the colours on the screen, in place.
func TestScreenSourceDeliversTheScreenWithItsColours(t *testing.T) {
	x := useXvfbScreen(t)
	want := quadrants(t, x.Display, 1280, 800)
	src, err := OpenVideo("screen:0", 640, 360, 30)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	img, release, err := src.Read()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	frame, ok := img.(*BGRX)
	if !ok {
		t.Fatalf("a screen frame is a %T, want *capture.BGRX", img)
	}
	if frame.Rect != image.Rect(0, 0, 1280, 800) || frame.Stride < 1280*4 || len(frame.Pix) < 799*frame.Stride+1280*4 {
		t.Fatalf("frame %v, stride %d, %d bytes: not the 1280x800 screen", frame.Rect, frame.Stride, len(frame.Pix))
	}
	checkQuadrants(t, frame, want)
	// The bytes themselves: blue, green, red.
	if p := frame.Pix[frame.PixOffset(10, 10):]; p[0] != 0 || p[1] != 0 || p[2] != 255 {
		t.Errorf("red pixel's bytes %v, want 0 0 255 (BGRX)", p[:4])
	}
}

// Without MIT-SHM (a remote display) the screen is read with XGetImage, to
// the same frames.
func TestScreenWithoutSharedMemoryReadsTheSameFrames(t *testing.T) {
	x := useXvfbScreen(t)
	want := quadrants(t, x.Display, 1280, 800)
	g, err := openX11Grab(x.Display, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	g.shm = false
	g.start(time.Millisecond)
	for range 3 { // a slot reused, not only made
		img, release, err := g.Read()
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds() != image.Rect(0, 0, 1280, 800) {
			t.Fatalf("bounds %v", img.Bounds())
		}
		checkQuadrants(t, img, want)
		release()
	}
	if len(g.slots) != 1 || g.slots[0].c.img != nil {
		t.Errorf("%d slots, want one without a shared-memory image", len(g.slots))
	}
}

// In steady state a Read allocates nothing: the frames come from a ring of
// buffers that release gives back, two of them out at a time here as when
// the encoder still holds the last one.
func TestScreenSourceReadsWithoutAllocating(t *testing.T) {
	useXvfbScreen(t)
	src, err := OpenVideo("screen:0", 1280, 720, 240)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var held func()
	read := func() {
		_, release, err := src.Read()
		if err != nil {
			t.Fatal(err)
		}
		if held != nil {
			held()
		}
		held = release
	}
	for range 5 {
		read()
	}
	if allocs := testing.AllocsPerRun(50, read); allocs != 0 {
		t.Errorf("%.1f allocations per Read, want 0", allocs)
	}
	held()
}

// BenchmarkScreenRead is one frame of a screen source (a 1280x800 Xvfb
// screen, paced at 1000 fps) read and released, as the program's feed reads
// it: its allocs/op are what a frame costs the garbage collector.
func BenchmarkScreenRead(b *testing.B) {
	useXvfbScreen(b)
	src, err := OpenVideo("screen:0", 1280, 720, 1000)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	b.ReportAllocs()
	for b.Loop() {
		_, release, err := src.Read()
		if err != nil {
			b.Fatal(err)
		}
		release()
	}
}

// Closing a screen source while another goroutine is inside its Read (the
// program's feed, when the session ends or the source changes) must end that
// read and not crash: the segment a grab writes into is never freed under
// it, and a frame still out when the source closes keeps its memory until
// released. The source runs at 1000 fps, so that it is nearly always
// grabbing, and each close comes at another moment of the reads.
func TestScreenSourceClosesWhileAReadIsInFlight(t *testing.T) {
	useXvfbScreen(t)
	for i := range 25 {
		after := time.Duration(i) * 2600 * time.Microsecond
		src, err := OpenVideo("screen:0", 640, 360, 1000)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan int)
		go func() {
			n := 0
			var last *BGRX
			var release func()
			for {
				img, rel, err := src.Read()
				if err != nil {
					if last != nil {
						// A frame still out when the source closed is
						// readable until it is released.
						sum := 0
						for _, b := range last.Pix[len(last.Pix)-4096:] {
							sum += int(b)
						}
						_ = sum
						release()
					}
					done <- n
					return
				}
				if release != nil {
					release()
				}
				// The encoder holds the newest frame while the next read goes on.
				last, release = img.(*BGRX), rel
				n++
			}
		}()
		time.Sleep(after)
		if err := src.Close(); err != nil {
			t.Fatalf("close after %v: %v", after, err)
		}
		select {
		case n := <-done:
			t.Logf("closed after %v: %d frames read, then the read ended", after, n)
		case <-time.After(5 * time.Second):
			t.Fatalf("closed after %v: the read did not end within 5 s of Close", after)
		}
		if err := src.Close(); err != nil {
			t.Fatalf("a second close: %v", err)
		}
	}
}

// Without a display there is no screen, and the error says why.
func TestScreenWithoutADisplaySaysWhy(t *testing.T) {
	if _, err := openX11Grab(":4242", 0); !strings.Contains(fmtErr(err), `cannot open X display ":4242"`) {
		t.Errorf("opening a display with no server: %v", err)
	}
	if _, err := os.Stat("/tmp/.X11-unix/X4242"); err == nil {
		t.Skip("display :4242 exists here")
	}
	for display, want := range map[string]string{
		"":      "DISPLAY is not set",
		":4242": `cannot open X display ":4242"`,
	} {
		useDisplay(t, display)
		_, err := OpenVideo("screen", 1280, 720, 30)
		if !errors.Is(err, ErrNoDevice) || !strings.Contains(err.Error(), want) {
			t.Errorf("DISPLAY=%q: %v, want ErrNoDevice saying %q", display, err, want)
		}
	}
}

func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
