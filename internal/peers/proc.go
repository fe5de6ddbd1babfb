package peers

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Require returns the path of a program the test needs. `make test` installs every
// one of them (scripts/deps), so a missing one is a failure, not a skip.
// Under `go test -short` (the fast tier, `make test-unit`) every test that
// needs a real peer is skipped here, in one place.
func Require(t testing.TB, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs %s: a real-peer test, skipped under -short", name)
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed (scripts/deps installs it): %v", name, err)
	}
	return p
}

// Require8 returns the path of FFmpeg 8's own program (ffmpeg or ffprobe),
// which scripts/ffmpeg builds into its cache and names in TALLY_FFMPEG_BIN:
// Debian's 5.1 knows no Enhanced RTMP. Under -short it skips, as Require does.
func Require8(t testing.TB, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs FFmpeg 8's %s: a real-peer test, skipped under -short", name)
	}
	dir := os.Getenv("TALLY_FFMPEG_BIN")
	if dir == "" {
		t.Fatalf("TALLY_FFMPEG_BIN is not set: run the tests through make, or eval \"$(scripts/ffmpeg --env)\" first")
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("FFmpeg 8's %s is not in the cache (scripts/ffmpeg builds it): %v", name, err)
	}
	return p
}

// stop ends a peer politely, then firmly, and reaps it.
func stop(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// testLog collects a peer's output and shows it only when the test fails, so that a
// failing run explains itself without flooding passing ones.
type testLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func newTestLog(t testing.TB, name string) *testLog {
	l := &testLog{}
	t.Cleanup(func() {
		if t.Failed() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.buf.Len() > 0 {
				t.Logf("%s output:\n%s", name, l.buf.String())
			}
		}
	})
	return l
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() < 1<<20 { // a runaway peer must not eat the test's memory
		l.buf.Write(p)
	}
	return len(p), nil
}

// String returns what the peer has printed so far.
func (l *testLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
