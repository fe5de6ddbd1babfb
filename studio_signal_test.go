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
	cmd, logs, exited := st.cmd, st.logs, st.exited

	_ = cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		if err != nil {
			t.Fatalf("exit after SIGINT: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the studio did not quit within 30 s of SIGINT\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "tally: stopping") {
		t.Errorf("the studio did not say it was stopping:\n%s", logs.String())
	}
}
