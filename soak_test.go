package main

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tallystudio/tally/app"
	"github.com/tallystudio/tally/internal/peers"
)

// soakDuration is how long the soak tests run, from TALLY_SOAK (e.g. "1h");
// they are skipped in `make test` and run by `make soak`.
func soakDuration(t *testing.T) time.Duration {
	t.Helper()
	v := os.Getenv("TALLY_SOAK")
	if v == "" {
		t.Skip("a soak test: set TALLY_SOAK to a duration (make soak)")
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 10*time.Second {
		t.Fatalf("TALLY_SOAK=%q: want a duration of at least 10s", v)
	}
	return d
}

// A/V sync holds within one video frame for the whole run: every flash of the
// test pattern has its beep within 33 ms in nginx's recording, from the first
// second to the last, and the frame count is exact to ±3.
func TestSoakAVSyncHolds(t *testing.T) {
	d := soakDuration(t)
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})
	// Small frames keep the soak cheap; sync depends on timestamps, not size.
	_, stderr, code := runTally(t, d+2*time.Minute, nil, "stream", "--url", ng.URL(), "--key", streamKey,
		"--size", "320x180", "--fps", "30", "--vbitrate", "400k", "--preset", "ultrafast",
		"--duration", d.String(), "--stats", "none")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	waitFor(t, func() bool { return strings.Contains(ng.ErrorLog(), "deleteStream") })
	time.Sleep(time.Second)
	checkStream(t, ng.Recording(streamKey), 320, 180, int(d.Seconds()*30), 2)
}

// Memory and goroutines stay flat and no frame goes missing over a long run
// at 720p30: RSS grows by at most 10 MB after the first minute, the goroutine
// count returns to where it was, and frames_sent matches the clock.
func TestSoakMemoryAndFramesFlat(t *testing.T) {
	d := soakDuration(t)
	ng := peers.StartNginx(t, peers.NginxOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), d+2*time.Minute)
	defer cancel()
	cmd := tallyCommand(ctx, "stream", "--url", ng.URL(), "--key", streamKey, "--size", "1280x720",
		"--tune", "zerolatency", "--duration", d.String(), "--stats", "json")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var rec statsRecorder
	rec.read(out)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
	lines := rec.all()
	var warm, last app.Stats
	for _, st := range lines {
		if st.T <= 60 {
			warm = st
		}
		if st.State == "live" {
			last = st
		}
	}
	want := uint64(last.T * 30)
	t.Logf("after 1 min: %.1f MB, %d goroutines; at %.0f s: %.1f MB, %d goroutines; %d frames sent (clock: %d), %d skipped, %d repeated",
		warm.RSSMB, warm.Goroutines, last.T, last.RSSMB, last.Goroutines, last.FramesSent, want, last.SkippedEncoding, last.RepeatedCapture)
	if last.RSSMB > warm.RSSMB+10 {
		t.Errorf("RSS grew from %.1f to %.1f MB", warm.RSSMB, last.RSSMB)
	}
	if last.Goroutines > warm.Goroutines+2 {
		t.Errorf("goroutines grew from %d to %d", warm.Goroutines, last.Goroutines)
	}
	if diff := int64(last.FramesSent) - int64(want); diff < -int64(want)/500-30 || diff > 30 {
		t.Errorf("%d frames sent by %.0f s; the clock says %d", last.FramesSent, last.T, want)
	}
}

// The server restarts again and again: every time Tally reconnects, and the
// last recording starts on a keyframe and decodes cleanly.
func TestSoakNginxRestartCycles(t *testing.T) {
	d := soakDuration(t)
	cycles := int(d / (20 * time.Second))
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})
	ctx, cancel := context.WithTimeout(context.Background(), d+5*time.Minute)
	defer cancel()
	cmd := tallyCommand(ctx, "stream", "--url", ng.URL(), "--key", streamKey, "--size", "640x360",
		"--stats", "json", "--retry-max", "2s")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var rec statsRecorder
	go rec.read(out)
	var warm app.Stats
	for i := 1; i <= cycles; i++ {
		time.Sleep(15 * time.Second)
		if i == 1 {
			l := rec.all()
			warm = l[len(l)-1]
		}
		ng.Restart(t)
		waitStat(t, &rec, "reconnect", func(st app.Stats) bool { return st.State == "live" && st.Reconnects == uint64(i) })
	}
	time.Sleep(5 * time.Second)
	_ = cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
	l := rec.all()
	last := l[len(l)-1]
	t.Logf("%d restarts, %d reconnects; RSS %.1f → %.1f MB, goroutines %d → %d",
		cycles, last.Reconnects, warm.RSSMB, last.RSSMB, warm.Goroutines, last.Goroutines)
	if last.RSSMB > warm.RSSMB+10 || last.Goroutines > warm.Goroutines+2 {
		t.Errorf("resources grew over %d reconnects", cycles)
	}
	waitFor(t, func() bool { return strings.Contains(ng.ErrorLog(), "deleteStream") })
	time.Sleep(300 * time.Millisecond)
	path := ng.Recording(streamKey)
	keys, vt := peers.KeyframeTimes(t, path), peers.PacketTimes(t, path, "v:0")
	if len(vt) == 0 || len(keys) == 0 || keys[0] != vt[0] {
		t.Errorf("the last recording does not start on a keyframe")
	}
	if errs := peers.DecodeErrors(t, path); errs != "" {
		t.Errorf("the last recording does not decode cleanly: %s", errs)
	}
}
