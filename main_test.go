package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
	"github.com/tallystudio/tally/ui"
)

// TestMain lets the test binary stand in for bin/tally: tests re-execute it with
// TALLY_TEST_AS_MAIN=1 to run the real command, including the window's main loop,
// which must own the process's main thread.
func TestMain(m *testing.M) {
	if os.Getenv("TALLY_TEST_AS_MAIN") == "1" {
		main()
	}
	code := m.Run()
	peers.RemoveFixtures()
	os.Exit(code)
}

// tallyCommand returns a command that runs this test binary as `tally args...`.
func tallyCommand(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), "TALLY_TEST_AS_MAIN=1")
	return cmd
}

func TestVersionReportsRuntimeLibavAndEncoders(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"version"}, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d, stderr: %s", code, errOut.String())
	}
	s := out.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^Tally \S+$`),
		regexp.MustCompile(`(?m)^Go 1\.\d+`),
		regexp.MustCompile(`(?m)^FFmpeg \S*8\.`),            // go-astiav v0.42 needs FFmpeg 8
		regexp.MustCompile(`(?m)^\s+libavcodec\s+6[2-9]\.`), // libavcodec 62 is FFmpeg 8
		regexp.MustCompile(`(?m)^\s+h264\s+libx264\s`),
		regexp.MustCompile(`(?m)^\s+aac\s+aac\s`),
	} {
		if !want.MatchString(s) {
			t.Errorf("version output lacks %s:\n%s", want, s)
		}
	}
}

func TestUnknownCommandIsAUsageError(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"frobnicate"}, &out, &errOut); code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	if !strings.Contains(errOut.String(), `unknown command "frobnicate"`) {
		t.Errorf("stderr does not name the bad command: %q", errOut.String())
	}
}

func TestHelpListsCommands(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"help"}, &out, &out); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out.String(), "version") {
		t.Errorf("help does not list the version command:\n%s", out.String())
	}
}

// TestStudioWindowOpensUnderXvfb starts the real studio in a real X server and
// proves it draws a non-blank window titled "Tally".
func TestStudioWindowOpensUnderXvfb(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Xvfb runs on Linux only")
	}
	peers.Require(t, "xdotool")
	peers.Require(t, "import")
	x := peers.StartXvfb(t)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := tallyCommand(ctx)
	cmd.Env = append(x.Env(), "TALLY_TEST_AS_MAIN=1", "FYNE_THEME=dark")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})

	win, err := x.WaitWindow(ctx, ui.Title)
	if err != nil {
		select {
		case werr := <-exited:
			t.Fatalf("tally exited (%v) before its window appeared:\n%s", werr, logs.String())
		default:
		}
		t.Fatalf("%v\n%s", err, logs.String())
	}

	dir := os.Getenv("TALLY_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	shot := filepath.Join(dir, "screenshot.png")
	// The window maps before its first frame is drawn; poll until it shows content.
	var colors int
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		img, err := x.Screenshot(ctx, win, shot)
		if err != nil {
			t.Fatal(err)
		}
		colors = peers.DistinctColors(img, img.Bounds(), 64)
		if colors >= 64 {
			break
		}
	}
	if colors < 64 {
		t.Fatalf("window looks blank: %d distinct colours in %s\n%s", colors, shot, logs.String())
	}
	t.Logf("screenshot with %d+ colours: %s", colors, shot)
}
