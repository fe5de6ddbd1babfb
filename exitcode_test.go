package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/tallystudio/tally/app"
	"github.com/tallystudio/tally/capture"
	"github.com/tallystudio/tally/rtmpclient"
)

// Exit codes follow the kind of error through every layer of wrapping, never
// the words in its message.
func TestExitCodesFollowTheErrorsKindNotItsText(t *testing.T) {
	hangUp := &rtmpclient.HangUpError{Server: "rtmp://host/live/ke****", Count: 1, Err: rtmpclient.ErrUnexpectedClose}
	one := &app.DestinationError{Index: 1, Server: "rtmp://a/live/ke****", Err: hangUp}
	two := &app.DestinationError{Index: 2, Server: "rtmp://b/live/ke****", Err: errors.New("connection refused")}
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		// A recording path that happens to contain "rtmp" is not the server's fault.
		{"recording in a folder named rtmp", fmt.Errorf("recording: %w", &os.PathError{Op: "open", Path: "/home/me/rtmp/show.mkv", Err: os.ErrPermission}), exitError},
		{"the only destination hung up", &app.DestinationsError{Failed: []*app.DestinationError{one}, Total: 1}, exitRemote},
		{"both destinations failed", &app.DestinationsError{Failed: []*app.DestinationError{one, two}, Total: 2}, exitRemote},
		{"one of two failed", &app.DestinationsError{Failed: []*app.DestinationError{two}, Total: 2}, exitPartial},
		{"a bad key found by a destination", &app.DestinationsError{Failed: []*app.DestinationError{{Index: 1, Err: &rtmpclient.URLError{Key: true, Msg: "the stream key is empty"}}}, Total: 1}, exitSettings},
		{"a camera that is not there, wrapped twice", fmt.Errorf("session: %w", fmt.Errorf("%w: video: %w", app.ErrNoSource, capture.ErrNoDevice)), exitDevice},
		{"a device error without ErrNoSource", fmt.Errorf("open: %w", capture.ErrNoDevice), exitDevice},
	} {
		if got := exitCodeFor(tc.err); got != tc.want {
			t.Errorf("%s: exit %d, want %d (%v)", tc.name, got, tc.want, tc.err)
		}
	}
}

// Each run of a command in-process releases its signal watcher: the tests
// call runStream many times, and each call used to leave a goroutine behind.
func TestInterruptWatcherEndsWithTheCommand(t *testing.T) {
	// The first Notify starts os/signal's own loop, which stays for good.
	onInterrupt(os.Stderr, "test", func() {})()
	before := runtime.NumGoroutine()
	for range 20 {
		release := onInterrupt(os.Stderr, "test", func() {})
		release()
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after 20 commands, %d before", n, before)
	}
}
