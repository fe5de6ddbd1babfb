package capture

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
)

// Closing a screen source while another goroutine is inside its Read (the
// program's feed, when the session ends or the source changes) must end that
// read and not crash: closing the X11 driver under a read unmaps the image the
// read copies from (SIGSEGV), and a read begun after it never returns. The
// X11 driver finds displays when the package initialises (and fails to reopen
// after a few opens in one process), so each close runs in a fresh copy of
// the test binary with DISPLAY pointing at an Xvfb, at a different moment of
// the reads.
func TestScreenSourceClosesWhileAReadIsInFlight(t *testing.T) {
	if delay := os.Getenv("TALLY_SCREEN_CLOSE_AFTER"); delay != "" {
		ms, _ := strconv.Atoi(delay)
		closeScreenDuringReads(t, time.Duration(ms)*time.Millisecond)
		return
	}
	x := peers.StartXvfb(t)
	for ms := 0; ms < 60; ms += 11 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestScreenSourceClosesWhileAReadIsInFlight$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "DISPLAY="+x.Display, "TALLY_SCREEN_CLOSE_AFTER="+strconv.Itoa(ms))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("closing %d ms into the reads: %v\n%s", ms, err, out)
		}
	}
}

func closeScreenDuringReads(t *testing.T, after time.Duration) {
	src, err := OpenVideo("screen:0", 640, 360, 30)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan int)
	go func() {
		n := 0
		for {
			_, release, err := src.Read()
			if err != nil {
				done <- n
				return
			}
			if release != nil {
				release()
			}
			n++
		}
	}()
	time.Sleep(after)
	if err := src.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	select {
	case n := <-done:
		t.Logf("%d frames read, then the read ended", n)
	case <-time.After(5 * time.Second):
		t.Fatal("the read did not end within 5 s of Close")
	}
}
