package main

import (
	"context"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
)

// Ctrl-C in the terminal that started the studio goes through the same
// watcher as tally stream's (one that ends with the command): the studio says
// it is stopping, closes cleanly and exits 0.
func TestStudioStopsCleanlyOnInterrupt(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Xvfb runs on Linux only")
	}
	peers.Require(t, "xdotool")
	x := peers.StartXvfb(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	st := startStudio(t, ctx, x, "XDG_CONFIG_HOME="+t.TempDir())
	st.stopWith(t, syscall.SIGINT)
	if !strings.Contains(st.logs.String(), "tally: stopping") {
		t.Errorf("the studio did not say it was stopping:\n%s", st.logs.String())
	}
}
