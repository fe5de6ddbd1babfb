//go:build linux

package capture

// The screen source on Linux: Tally's own X11 driver, registered with
// mediadevices like the test pattern (mediadevices' own X11 driver is not
// imported: it allocated a 4 MB-plus buffer per frame and swapped every
// pixel's bytes). It grabs the root window with MIT-SHM, XShmGetImage
// straight into one of a few shared-memory segments that it hands out in
// turn, so a frame costs the X server's copy and nothing more here: no
// allocation, no pass over the pixels. The encoder converts the grab, BGRX
// as the server holds it, once into its own frame (encode.BGRXImage). A
// display that cannot share memory (a remote one) is read with plain
// XGetImage into the same kind of buffers.

/*
#cgo pkg-config: x11 xext
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/extensions/XShm.h>

// Xlib reports a failed request to a process-wide handler, and its default
// handler exits the process. The calls that may fail (a grab after the
// screen shrank, attaching memory the server cannot share) run with
// tally_x_catch in place, which records the error instead; Go serialises
// them (xMu), so one variable will do.
static int tally_x_err;

static int tally_x_catch(Display *d, XErrorEvent *e) {
	(void)d;
	tally_x_err = e->error_code ? e->error_code : -1;
	return 0;
}

static XErrorHandler tally_x_trap(void) {
	tally_x_err = 0;
	return XSetErrorHandler(tally_x_catch);
}

static int tally_x_untrap(XErrorHandler old) {
	XSetErrorHandler(old);
	return tally_x_err;
}

// tally_x_screen reports screen n's size, and whether its pixels are 32-bit
// BGRX in memory: a TrueColor visual with red in the third byte, 32 bits
// per pixel at its depth, least significant byte first.
static int tally_x_screen(Display *d, int n, int *w, int *h) {
	Screen *s = ScreenOfDisplay(d, n);
	*w = WidthOfScreen(s);
	*h = HeightOfScreen(s);
	Visual *v = DefaultVisualOfScreen(s);
	if (v->red_mask != 0xff0000 || v->green_mask != 0xff00 || v->blue_mask != 0xff) return 0;
	if (ImageByteOrder(d) != LSBFirst) return 0;
	int depth = DefaultDepthOfScreen(s), count = 0, bpp = 0;
	XPixmapFormatValues *f = XListPixmapFormats(d, &count);
	for (int i = 0; f && i < count; i++) {
		if (f[i].depth == depth) bpp = f[i].bits_per_pixel;
	}
	if (f) XFree(f);
	return bpp == 32;
}

// tally_x_root_size is the root window's size now (it changes with RandR).
static int tally_x_root_size(Display *d, int n, int *w, int *h) {
	Window root;
	int x, y;
	unsigned int uw, uh, border, depth;
	XErrorHandler old = tally_x_trap();
	Status ok = XGetGeometry(d, RootWindow(d, n), &root, &x, &y, &uw, &uh, &border, &depth);
	if (tally_x_untrap(old) || !ok) return 0;
	*w = (int)uw;
	*h = (int)uh;
	return 1;
}

// tally_slot is one frame's memory: a shared-memory segment the server
// writes into (img and shm), or, without MIT-SHM, memory of its own.
typedef struct {
	XImage *img;
	XShmSegmentInfo shm;
	int attached; // the server has the segment attached
	unsigned char *data;
	int stride;
} tally_slot;

static void tally_slot_free(tally_slot *s) {
	if (s->img) {
		s->img->data = NULL; // the segment is not the image's to free
		XDestroyImage(s->img);
	}
	if (s->shm.shmaddr != (char *)-1 && s->shm.shmaddr != NULL) {
		shmdt(s->shm.shmaddr);
	} else {
		free(s->data);
	}
	free(s);
}

// tally_slot_shm makes a segment for a w×h grab of screen n and has the
// server attach it; NULL, with *err set when the server refused, if not.
static tally_slot *tally_slot_shm(Display *d, int n, int w, int h, int *err) {
	*err = 0;
	tally_slot *s = calloc(1, sizeof *s);
	if (!s) return NULL;
	s->shm.shmid = -1;
	s->shm.shmaddr = (char *)-1;
	Screen *scr = ScreenOfDisplay(d, n);
	s->img = XShmCreateImage(d, DefaultVisualOfScreen(scr), DefaultDepthOfScreen(scr), ZPixmap, NULL, &s->shm, w, h);
	if (!s->img) goto fail;
	s->shm.shmid = shmget(IPC_PRIVATE, (size_t)s->img->bytes_per_line * h, IPC_CREAT | 0600);
	if (s->shm.shmid < 0) goto fail;
	s->shm.shmaddr = shmat(s->shm.shmid, NULL, 0);
	if (s->shm.shmaddr == (char *)-1) goto fail;
	s->img->data = s->shm.shmaddr;
	s->shm.readOnly = False;
	XErrorHandler old = tally_x_trap();
	Status ok = XShmAttach(d, &s->shm);
	XSync(d, False);
	*err = tally_x_untrap(old);
	// Marked for removal now: the memory goes when both sides detach,
	// whatever happens to this process.
	shmctl(s->shm.shmid, IPC_RMID, NULL);
	if (!ok || *err) {
		if (!*err) *err = -1;
		goto fail;
	}
	s->attached = 1;
	s->data = (unsigned char *)s->shm.shmaddr;
	s->stride = s->img->bytes_per_line;
	return s;
fail:
	if (s->shm.shmid >= 0 && s->shm.shmaddr == (char *)-1) shmctl(s->shm.shmid, IPC_RMID, NULL);
	tally_slot_free(s);
	return NULL;
}

// tally_slot_plain is memory for a w×h grab without MIT-SHM.
static tally_slot *tally_slot_plain(int w, int h) {
	tally_slot *s = calloc(1, sizeof *s);
	if (!s) return NULL;
	s->shm.shmid = -1;
	s->shm.shmaddr = (char *)-1;
	s->stride = w * 4;
	s->data = malloc((size_t)s->stride * h);
	if (!s->data) {
		free(s);
		return NULL;
	}
	return s;
}

// tally_slot_detach has the server let go of the segment (requests are
// sent by the next XSync).
static void tally_slot_detach(Display *d, tally_slot *s) {
	if (s->attached) {
		XShmDetach(d, &s->shm);
		s->attached = 0;
	}
}

// tally_grab_shm grabs the top-left w×h of screen n's root window into s;
// 0, or the X error.
static int tally_grab_shm(Display *d, int n, tally_slot *s) {
	XErrorHandler old = tally_x_trap();
	Bool ok = XShmGetImage(d, RootWindow(d, n), s->img, 0, 0, AllPlanes);
	int err = tally_x_untrap(old);
	return err ? err : (ok ? 0 : -1);
}

// tally_grab_plain is tally_grab_shm by XGetImage, which Xlib answers in
// memory of its own: its rows are copied into s.
static int tally_grab_plain(Display *d, int n, tally_slot *s, int w, int h) {
	XErrorHandler old = tally_x_trap();
	XImage *img = XGetImage(d, RootWindow(d, n), 0, 0, w, h, AllPlanes, ZPixmap);
	int err = tally_x_untrap(old);
	if (!img) return err ? err : -1;
	if (img->bits_per_pixel != 32 || img->width < w || img->height < h) {
		XDestroyImage(img);
		return -2;
	}
	for (int y = 0; y < h; y++) {
		memcpy(s->data + (size_t)y * s->stride, img->data + (size_t)y * img->bytes_per_line, (size_t)w * 4);
	}
	XDestroyImage(img);
	return 0;
}

// tally_fill_root paints a rectangle of screen n's root window in a
// 0xRRGGBB colour, for tests to know what a grab must show.
static int tally_fill_root(Display *d, int n, int x, int y, int w, int h, unsigned long rgb) {
	GC gc = XCreateGC(d, RootWindow(d, n), 0, NULL);
	XSetForeground(d, gc, rgb);
	XFillRectangle(d, RootWindow(d, n), gc, x, y, w, h);
	XFreeGC(d, gc);
	XSync(d, False);
	return 0;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
	"unsafe"

	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// xMu is held through every Xlib call of the package: the error trap is
// one variable for the process.
var xMu sync.Mutex

var xThreads sync.Once

// openDisplay connects to an X display by name ("" for DISPLAY).
// The caller holds xMu.
func openDisplay(name string) (*C.Display, error) {
	// Xlib 1.8 is thread-safe by default; older ones need this before
	// anything else, for the window's X connection as much as this one.
	xThreads.Do(func() { C.XInitThreads() })
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	d := C.XOpenDisplay(cname)
	if d == nil {
		return nil, fmt.Errorf("cannot open X display %q", name)
	}
	return d, nil
}

// screenLabel is how a screen of the display is listed; mediadevices' X11
// driver listed them so, and saved settings name them so.
func screenLabel(n int) string { return fmt.Sprintf("X11Screen%d", n) }

func init() { scanScreens() }

// scanScreens registers a driver for each screen of the X display DISPLAY
// names: one entry per screen, Tally's own.
func scanScreens() {
	name := os.Getenv("DISPLAY")
	if name == "" {
		return
	}
	xMu.Lock()
	d, err := openDisplay(name)
	n := 0
	if err == nil {
		n = int(C.XScreenCount(d))
		C.XCloseDisplay(d)
	}
	xMu.Unlock()
	if err != nil {
		slog.Debug("capture: no X screens", "err", err)
		return
	}
	for i := range n {
		_ = driver.GetManager().Register(&x11Screen{display: name, num: i}, driver.Info{
			Label: screenLabel(i), Name: "screen", DeviceType: driver.Screen,
		})
	}
}

// noScreenReason says why no screen can be listed, for the error that says
// none was found; "" when the display opens.
func noScreenReason() string {
	name := os.Getenv("DISPLAY")
	if name == "" {
		return "DISPLAY is not set (Tally captures X11 screens)"
	}
	xMu.Lock()
	defer xMu.Unlock()
	d, err := openDisplay(name)
	if err != nil {
		return err.Error()
	}
	C.XCloseDisplay(d)
	return ""
}

// x11Screen is the driver for one screen of a display.
type x11Screen struct {
	display string
	num     int
	grab    *x11Grab // while open
}

func (s *x11Screen) Open() error {
	g, err := openX11Grab(s.display, s.num)
	if err != nil {
		return err
	}
	s.grab = g
	return nil
}

func (s *x11Screen) Close() error {
	if s.grab != nil {
		s.grab.Close()
		s.grab = nil
	}
	return nil
}

// Properties is the screen's size; the frame rate is whatever is asked.
func (s *x11Screen) Properties() []prop.Media {
	if s.grab == nil {
		return nil
	}
	s.grab.mu.Lock()
	w, h := s.grab.w, s.grab.h
	s.grab.mu.Unlock()
	return []prop.Media{{Video: prop.Video{Width: w, Height: h, FrameRate: 30, FrameFormat: "BGRX"}}}
}

// VideoRecord starts pacing grabs at the asked-for frame rate (30 when none
// is given). The screen's size is the frame's: the encoder scales it.
func (s *x11Screen) VideoRecord(p prop.Media) (video.Reader, error) {
	if s.grab == nil {
		return nil, errors.New("screen: not open")
	}
	fps := float64(p.FrameRate)
	if fps <= 0 {
		fps = 30
	}
	if fps > 1000 {
		return nil, fmt.Errorf("screen: frame rate %v out of range", fps)
	}
	s.grab.start(time.Duration(float64(time.Second) / fps))
	return s.grab, nil
}

// maxSlots bounds the frames out at once: the one being read, the feed's
// newest, the one a session encodes and the one the preview scales, with
// room to spare. A Read that finds them all out waits for a release.
const maxSlots = 6

// slot is one frame's memory and the image that shows it. Both the image
// and release are made once, so handing a frame out allocates nothing.
type slot struct {
	g       *x11Grab
	c       *C.tally_slot
	img     BGRX
	release func()
	w, h    int  // the screen size it was made for
	out     bool // handed out and not yet released
}

// x11Grab is an open screen: its own X connection and its frames.
type x11Grab struct {
	name   string
	num    int
	shm    bool
	ticker *time.Ticker
	// first is set until the first Read, which grabs without waiting.
	first bool
	done  chan struct{} // closed by Close

	// dpy is the connection, nil once closed; guarded by xMu.
	dpy *C.Display

	mu       sync.Mutex // guards what follows
	w, h     int        // the screen's size now
	free     []*slot    // idle, at the current size
	slots    []*slot    // every slot whose memory is not yet freed
	closed   bool
	released chan struct{} // a token after each release, for a Read waiting for a slot
}

// openX11Grab opens screen num of display name. An X server whose last
// client leaves resets itself and refuses connections meanwhile (an Xvfb
// after the look for screens at start-up closed its connection: a few
// milliseconds, or a few hundred on a busy machine), so a refused
// connection is tried again for up to two seconds.
func openX11Grab(name string, num int) (*x11Grab, error) {
	xMu.Lock()
	defer xMu.Unlock()
	d, err := openDisplay(name)
	for tries := 0; err != nil && tries < 100; tries++ {
		xMu.Unlock()
		time.Sleep(20 * time.Millisecond)
		xMu.Lock()
		d, err = openDisplay(name)
	}
	if err != nil {
		return nil, fmt.Errorf("screen %d: %w", num, err)
	}
	if num < 0 || num >= int(C.XScreenCount(d)) {
		C.XCloseDisplay(d)
		return nil, fmt.Errorf("screen %d: display %q has no such screen", num, name)
	}
	var w, h C.int
	if C.tally_x_screen(d, C.int(num), &w, &h) == 0 {
		C.XCloseDisplay(d)
		return nil, fmt.Errorf("screen %d of %q: only 24-bit colour in 32-bit pixels (BGRX) is supported", num, name)
	}
	g := &x11Grab{name: name, num: num, dpy: d, w: int(w), h: int(h),
		shm: C.XShmQueryExtension(d) != 0, done: make(chan struct{}), released: make(chan struct{}, 1), first: true}
	if !g.shm {
		slog.Info("capture: the X display has no MIT-SHM; the screen is read with XGetImage", "display", name)
	}
	return g, nil
}

// start sets the pace of Read.
func (g *x11Grab) start(interval time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ticker != nil {
		g.ticker.Reset(interval)
		return
	}
	g.ticker = time.NewTicker(interval)
}

// Read waits for the next tick and grabs the screen into a free slot. The
// frame is a *BGRX in memory the source owns: release gives it back, and a
// Read waits for a release when every slot is out. Reads are not safe for
// concurrent use with each other; Close is safe at any time.
func (g *x11Grab) Read() (image.Image, func(), error) {
	if err := g.wait(); err != nil {
		return nil, nil, err
	}
	for tries := 0; ; tries++ {
		s, err := g.take()
		if err != nil {
			return nil, nil, err
		}
		err = g.grabInto(s)
		if err == nil {
			return &s.img, s.release, nil
		}
		s.release()
		if errors.Is(err, errResized) && tries == 0 {
			continue // once, into a slot of the new size
		}
		return nil, nil, err
	}
}

var errResized = errors.New("screen: the screen changed size")

// wait blocks until the next frame is due; io.EOF once closed.
func (g *x11Grab) wait() error {
	g.mu.Lock()
	first, ticker := g.first, g.ticker
	g.first = false
	g.mu.Unlock()
	if ticker == nil {
		return errors.New("screen: not started")
	}
	if first {
		select {
		case <-g.done:
			return io.EOF
		default:
			return nil
		}
	}
	select {
	case <-g.done:
		return io.EOF
	case <-ticker.C:
		return nil
	}
}

// take returns an idle slot of the current size, a new one while there are
// fewer than maxSlots, or waits for one to be released.
func (g *x11Grab) take() (*slot, error) {
	for {
		g.mu.Lock()
		if g.closed {
			g.mu.Unlock()
			return nil, io.EOF
		}
		if n := len(g.free); n > 0 {
			s := g.free[n-1]
			g.free = g.free[:n-1]
			s.out = true
			g.mu.Unlock()
			return s, nil
		}
		if len(g.slots) < maxSlots {
			w, h := g.w, g.h
			g.mu.Unlock()
			return g.newSlot(w, h)
		}
		g.mu.Unlock()
		select {
		case <-g.released:
		case <-g.done:
			return nil, io.EOF
		}
	}
}

// newSlot makes a slot for a w×h grab, falling back to XGetImage for good
// when the server cannot attach shared memory (a remote display).
func (g *x11Grab) newSlot(w, h int) (*slot, error) {
	xMu.Lock()
	if g.dpy == nil {
		xMu.Unlock()
		return nil, io.EOF
	}
	var c *C.tally_slot
	if g.shm {
		var xerr C.int
		c = C.tally_slot_shm(g.dpy, C.int(g.num), C.int(w), C.int(h), &xerr)
		if c == nil {
			slog.Info("capture: the X server cannot share memory with Tally; the screen is read with XGetImage",
				"display", g.name, "xerror", int(xerr))
			g.shm = false
		}
	}
	if c == nil {
		c = C.tally_slot_plain(C.int(w), C.int(h))
	}
	xMu.Unlock()
	if c == nil {
		return nil, fmt.Errorf("screen: no memory for a %dx%d frame", w, h)
	}
	s := &slot{g: g, c: c, w: w, h: h, out: true}
	s.img = BGRX{Pix: unsafe.Slice((*uint8)(unsafe.Pointer(c.data)), int(c.stride)*h), Stride: int(c.stride),
		Rect: image.Rect(0, 0, w, h)}
	s.release = func() { g.put(s) }
	g.mu.Lock()
	g.slots = append(g.slots, s)
	closed := g.closed
	g.mu.Unlock()
	if closed {
		s.release()
		return nil, io.EOF
	}
	return s, nil
}

// grabInto grabs the screen into s. A grab that fails because the screen
// changed size (RandR) makes the current size the new one.
func (g *x11Grab) grabInto(s *slot) error {
	xMu.Lock()
	defer xMu.Unlock()
	if g.dpy == nil {
		return io.EOF
	}
	var xerr C.int
	if s.c.img != nil {
		xerr = C.tally_grab_shm(g.dpy, C.int(g.num), s.c)
	} else {
		xerr = C.tally_grab_plain(g.dpy, C.int(g.num), s.c, C.int(s.w), C.int(s.h))
	}
	if xerr == 0 {
		return nil
	}
	var w, h C.int
	if C.tally_x_root_size(g.dpy, C.int(g.num), &w, &h) != 0 && (int(w) != s.w || int(h) != s.h) && w > 0 && h > 0 {
		g.mu.Lock()
		g.w, g.h = int(w), int(h)
		stale := g.free
		g.free = nil
		g.mu.Unlock()
		for _, st := range stale {
			g.freeSlot(st)
		}
		return errResized
	}
	return fmt.Errorf("screen %d of %q: grab failed (X error %d)", g.num, g.name, int(xerr))
}

// put takes a released frame back: idle again, or freed when the source is
// closed or the screen has changed size since. A second release is ignored.
func (g *x11Grab) put(s *slot) {
	g.mu.Lock()
	if !s.out {
		g.mu.Unlock()
		return
	}
	s.out = false
	keep := !g.closed && s.w == g.w && s.h == g.h
	if keep {
		g.free = append(g.free, s)
	}
	g.mu.Unlock()
	if !keep {
		xMu.Lock()
		g.freeSlot(s)
		xMu.Unlock()
	}
	select {
	case g.released <- struct{}{}:
	default:
	}
}

// freeSlot frees a slot's memory, the server's hold on it first while the
// display is open (once closed, the server has let go of every segment).
// The caller holds xMu.
func (g *x11Grab) freeSlot(s *slot) {
	if g.dpy != nil {
		C.tally_slot_detach(g.dpy, s.c)
		C.XSync(g.dpy, 0)
	}
	g.mu.Lock()
	for i, o := range g.slots {
		if o == s {
			g.slots = append(g.slots[:i], g.slots[i+1:]...)
			break
		}
	}
	g.mu.Unlock()
	C.tally_slot_free(s.c)
	s.c = nil
	s.img = BGRX{}
}

// interrupt ends a Read that is waiting, now and from now on, and frees
// nothing: Close does that.
func (g *x11Grab) interrupt() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closed {
		g.closed = true
		close(g.done)
	}
}

// Close ends the source. A grab in flight finishes first (the X calls hold
// xMu), so no segment is freed while the server writes into it; the server
// lets go of every segment, and a frame still out keeps its memory until
// it is released. Safe to call twice, and while a Read is in flight.
func (g *x11Grab) Close() error {
	g.interrupt()
	g.mu.Lock()
	if g.ticker != nil {
		g.ticker.Stop()
	}
	g.mu.Unlock()
	xMu.Lock()
	defer xMu.Unlock()
	if g.dpy == nil {
		return nil
	}
	g.mu.Lock()
	all := append([]*slot(nil), g.slots...)
	idle := g.free
	g.free = nil
	g.mu.Unlock()
	for _, s := range all {
		C.tally_slot_detach(g.dpy, s.c)
	}
	C.XSync(g.dpy, 0)
	C.XCloseDisplay(g.dpy)
	g.dpy = nil
	for _, s := range idle {
		g.freeSlot(s)
	}
	return nil
}

// holdDisplay keeps a connection to a display open until release is called:
// an X server with no client resets itself, which clears what was painted
// on its root window. A desktop always has clients; a test's Xvfb may not.
func holdDisplay(name string) (release func(), err error) {
	xMu.Lock()
	defer xMu.Unlock()
	d, err := openDisplay(name)
	if err != nil {
		return nil, err
	}
	return func() {
		xMu.Lock()
		C.XCloseDisplay(d)
		xMu.Unlock()
	}, nil
}

// fillRoot paints a rectangle of a display's screen in a 0xRRGGBB colour,
// so that a test knows what a grab must show.
func fillRoot(name string, num int, r image.Rectangle, rgb uint32) error {
	xMu.Lock()
	defer xMu.Unlock()
	d, err := openDisplay(name)
	if err != nil {
		return err
	}
	defer C.XCloseDisplay(d)
	C.tally_fill_root(d, C.int(num), C.int(r.Min.X), C.int(r.Min.Y), C.int(r.Dx()), C.int(r.Dy()), C.ulong(rgb))
	return nil
}
