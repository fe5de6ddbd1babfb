package peers

import (
	"bufio"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Xvfb is a virtual X display started for one test.
type Xvfb struct {
	Display string // e.g. ":99"
}

// StartXvfb starts Xvfb on a display number it picks itself (-displayfd) and stops
// it when the test ends.
func StartXvfb(t testing.TB) *Xvfb {
	t.Helper()
	bin := Require(t, "Xvfb")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp", "+extension", "GLX")
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stderr = newTestLog(t, "Xvfb")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Xvfb: %v", err)
	}
	w.Close()
	t.Cleanup(func() { stop(cmd) })

	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		r.Close()
		got <- strings.TrimSpace(line)
	}()
	select {
	case n := <-got:
		if n == "" {
			t.Fatal("Xvfb exited before reporting its display")
		}
		return &Xvfb{Display: ":" + n}
	case <-time.After(20 * time.Second):
		t.Fatal("Xvfb did not report a display within 20s")
	}
	return nil
}

// Env is the environment a program needs to draw on this display.
func (x *Xvfb) Env() []string {
	return append(os.Environ(), "DISPLAY="+x.Display, "WAYLAND_DISPLAY=")
}

// WaitWindow waits until a window with exactly this title is mapped and returns its id.
func (x *Xvfb) WaitWindow(ctx context.Context, title string) (string, error) {
	for {
		// Each search gets 10 s of its own: an xdotool stuck on a busy X
		// server held a whole test run until the package's timeout.
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		cmd := exec.CommandContext(sctx, "xdotool", "search", "--onlyvisible", "--name", "^"+title+"$")
		cmd.Env = x.Env()
		cmd.WaitDelay = 2 * time.Second
		out, _ := cmd.Output()
		cancel()
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			return ids[0], nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no window titled %q appeared: %w", title, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// WindowTree is xwininfo's tree of the server's windows, or why there is
// none: what a test that found no window shows.
func (x *Xvfb) WindowTree() string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "xwininfo", "-root", "-tree")
	cmd.Env = x.Env()
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Sprintf("xwininfo: %v: %s", err, out)
	}
	return string(out)
}

// Screenshot captures a window (an id from WaitWindow, or "root" for the whole
// screen) with ImageMagick's import into path.
func (x *Xvfb) Screenshot(ctx context.Context, window, path string) (image.Image, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "import", "-display", x.Display, "-window", window, path)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("import: %v: %s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decode screenshot %s: %w", path, err)
	}
	return img, nil
}

// DistinctHues counts the distinct colourful colours in the rectangle r of
// img, up to limit: those whose channels differ by more than a quarter of
// their range. Anti-aliased text (a "no signal" heading) makes many greys;
// only a picture makes these.
func DistinctHues(img image.Image, r image.Rectangle, limit int) int {
	seen := make(map[[3]uint32]struct{})
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if max(cr, cg, cb)-min(cr, cg, cb) <= 0xffff/4 {
				continue
			}
			seen[[3]uint32{cr, cg, cb}] = struct{}{}
			if len(seen) >= limit {
				return len(seen)
			}
		}
	}
	return len(seen)
}

// Size returns a window's width and height.
func (x *Xvfb) Size(ctx context.Context, window string) (w, h int, err error) {
	cmd := exec.CommandContext(ctx, "xdotool", "getwindowgeometry", "--shell", window)
	cmd.Env = x.Env()
	out, err := cmd.Output()
	if err != nil {
		return 0, 0, fmt.Errorf("xdotool getwindowgeometry: %w", err)
	}
	for _, line := range strings.Fields(string(out)) {
		if v, ok := strings.CutPrefix(line, "WIDTH="); ok {
			w, _ = strconv.Atoi(v)
		}
		if v, ok := strings.CutPrefix(line, "HEIGHT="); ok {
			h, _ = strconv.Atoi(v)
		}
	}
	return w, h, nil
}

// Click presses the left button at (px, py) inside a window, as a user would.
func (x *Xvfb) Click(ctx context.Context, window string, px, py int) error {
	cmd := exec.CommandContext(ctx, "xdotool", "mousemove", "--window", window, strconv.Itoa(px), strconv.Itoa(py), "click", "1")
	cmd.Env = x.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("xdotool click: %v: %s", err, out)
	}
	return nil
}
