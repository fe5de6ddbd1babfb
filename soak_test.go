package main

import (
	"context"
	"fmt"
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
	lt := startTally(t, ctx, "stream", "--url", ng.URL(), "--key", streamKey, "--size", "1280x720",
		"--tune", "zerolatency", "--duration", d.String(), "--stats", "json")
	if code := lt.wait(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, lt.stderr.String())
	}
	summary, problems := judgeMemoryAndFrames(lt.rec.all(), 30)
	t.Log(summary)
	for _, p := range problems {
		t.Error(p)
	}
}

// judgeMemoryAndFrames holds TestSoakMemoryAndFramesFlat's verdict on a run's
// --stats json lines at fps: what it measured, and each way the run failed.
// A run with no live lines, or none in its first minute to compare against,
// fails: with nothing measured, "flat" would be vacuously true.
func judgeMemoryAndFrames(lines []app.Stats, fps float64) (summary string, problems []string) {
	var warm, last app.Stats
	var live, warmLive int
	for _, st := range lines {
		if st.State != app.StateLive {
			continue
		}
		live++
		if st.T <= 60 {
			warm = st
			warmLive++
		}
		last = st
	}
	if live == 0 {
		return fmt.Sprintf("%d stats lines", len(lines)), []string{fmt.Sprintf("no live stats line among %d: nothing was measured", len(lines))}
	}
	if warmLive == 0 {
		return fmt.Sprintf("%d live stats lines", live), []string{"no live stats line in the first minute to compare the end against"}
	}
	want := uint64(last.T * fps)
	summary = fmt.Sprintf("after 1 min: %.1f MB, %d goroutines; at %.0f s: %.1f MB, %d goroutines; %d frames sent (clock: %d), %d skipped, %d repeated",
		warm.RSSMB, warm.Goroutines, last.T, last.RSSMB, last.Goroutines, last.FramesSent, want, last.SkippedEncoding, last.RepeatedCapture)
	if last.RSSMB > warm.RSSMB+10 {
		problems = append(problems, fmt.Sprintf("RSS grew from %.1f to %.1f MB", warm.RSSMB, last.RSSMB))
	}
	if last.Goroutines > warm.Goroutines+2 {
		problems = append(problems, fmt.Sprintf("goroutines grew from %d to %d", warm.Goroutines, last.Goroutines))
	}
	if diff := int64(last.FramesSent) - int64(want); diff < -int64(want)/500-30 || diff > 30 {
		problems = append(problems, fmt.Sprintf("%d frames sent by %.0f s; the clock says %d", last.FramesSent, last.T, want))
	}
	return summary, problems
}

// The soak's verdict can fail: without live lines (a stream that never went
// live, or --stats that printed nothing) it reports that, instead of passing
// on zeros; and a run that is flat passes.
func TestSoakMemoryAndFramesJudgementNeedsLiveStats(t *testing.T) {
	flat := []app.Stats{
		{T: 30, State: app.StateLive, RSSMB: 100, Goroutines: 40, FramesSent: 900},
		{T: 60, State: app.StateLive, RSSMB: 104, Goroutines: 41, FramesSent: 1800},
		{T: 600, State: app.StateLive, RSSMB: 108, Goroutines: 41, FramesSent: 18000},
		{T: 600.4, State: app.StateStopped, FramesSent: 18012},
	}
	for _, tc := range []struct {
		name  string
		lines []app.Stats
		fails bool
	}{
		{"no stats lines", nil, true},
		{"never live", []app.Stats{{T: 1, State: app.StateConnecting}, {T: 2, State: app.StateReconnecting}, {T: 3, State: app.StateError}}, true},
		{"live only after the first minute", flat[2:], true},
		{"flat", flat, false},
		{"leaking", append(flat[:2:2], app.Stats{T: 600, State: app.StateLive, RSSMB: 140, Goroutines: 41, FramesSent: 18000}), true},
	} {
		if _, problems := judgeMemoryAndFrames(tc.lines, 30); (len(problems) > 0) != tc.fails {
			t.Errorf("%s: problems %q, want failure %v", tc.name, problems, tc.fails)
		}
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
	lt := startTally(t, ctx, "stream", "--url", ng.URL(), "--key", streamKey, "--size", "640x360",
		"--stats", "json", "--retry-max", "2s")
	rec := &lt.rec
	var warm app.Stats
	for i := 1; i <= cycles; i++ {
		time.Sleep(15 * time.Second)
		if i == 1 {
			l := rec.all()
			warm = l[len(l)-1]
		}
		ng.Restart(t)
		waitStat(t, rec, "reconnect", func(st app.Stats) bool { return st.State == app.StateLive && st.Reconnects == uint64(i) })
	}
	time.Sleep(5 * time.Second)
	_ = lt.cmd.Process.Signal(syscall.SIGINT)
	if code := lt.wait(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, lt.stderr.String())
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
