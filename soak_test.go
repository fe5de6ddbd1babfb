package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
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
	_, stderr, code := runTally(t, d+2*time.Minute, streamKeyEnv, "stream", "--url", ng.URL(),
		"--size", "320x180", "--fps", "30", "--vbitrate", "400k", "--preset", "ultrafast",
		"--duration", d.String(), "--stats", "none")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	waitFor(t, ng.Unpublished)
	time.Sleep(time.Second)
	checkStream(t, ng.Recording(streamKey), 320, 180, int(d.Seconds()*30), 2)
}

// A microphone whose clock runs 0.1 % fast stays in step with the picture
// for the whole run, and the stats show its correction: a tone at clock_ppm
// 1000 (48 048 samples recorded each wall-clock second while claiming
// 48 kHz, its beeps on wall-clock seconds) mixed under the test pattern has
// every beep within one AAC frame (1024 samples, 21.3 ms) of where it was
// from its flash in the first minute, in nginx's recording; and its
// correction_ppm in the JSON stats averages +1000 ±100 over every 10 s after
// the first minute. Uncorrected, the beeps fall 1 ms a second further behind.
func TestSoakFastClockMicrophoneStaysInStepAndShowsItsCorrection(t *testing.T) {
	d := soakDuration(t)
	if d < 2*time.Minute {
		t.Skipf("TALLY_SOAK=%v: the correction is judged after the first minute; needs at least 2m", d)
	}
	path := filepath.Join(t.TempDir(), "fast-mic.json")
	// 320x180 keeps it cheap; sync depends on timestamps, not size.
	doc := `{"version": 1, "canvas": {"width": 320, "height": 180},
  "sources": [
    {"name": "pattern", "type": "test"},
    {"name": "usb mic", "type": "tone", "clock_ppm": 1000}
  ],
  "scenes": [{"name": "main", "layers": [{"source": "pattern"}, {"source": "usb mic"}]}]}`
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})
	stdout, stderr, code := runTally(t, d+2*time.Minute, []string{"TALLY_STREAM_KEY=" + streamKey},
		"stream", "--url", ng.URL(), "--scenes", path, "--fps", "30", "--vbitrate", "400k", "--preset", "ultrafast",
		"--duration", d.String(), "--stats", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var stats statsRecorder
	stats.read(strings.NewReader(stdout))
	waitFor(t, ng.Unpublished)
	time.Sleep(time.Second)
	// The move is judged, not the offset itself: that is the mix's latency
	// as much as the device's drift (its queues are not yet taken off the
	// sound's timestamps, about 50-70 ms late here), the same whatever the
	// clock; the summary gives it.
	pairs := checkRecording(t, ng.Recording(streamKey), 320, 180, int(d.Seconds()*30), 2)
	summary, problems := judgeFastClock(pairs, stats.all(), "usb mic", 1000)
	t.Log(summary)
	for _, p := range problems {
		t.Error(p)
	}
}

// audioFrame is an AAC frame's length, s: how far a drifting source's sound
// may move against the picture.
const audioFrame = 1024.0 / 48000

// judgeFastClock holds TestSoakFastClockMicrophoneStaysInStepAndShowsItsCorrection's
// verdict: how far each flash's beep moved from where it was in the first
// minute (the median there), and source's correction_ppm in the live stats
// lines after the first minute, each 10 s on average, against wantPPM ±100.
// With nothing to judge in either, it fails: a run without beeps or stats is
// not in step.
func judgeFastClock(pairs []syncPoint, lines []app.Stats, source string, wantPPM float64) (summary string, problems []string) {
	var first, last []float64
	for _, p := range pairs {
		if p.flash <= 60 {
			first = append(first, p.offset)
		}
		if p.flash > pairs[len(pairs)-1].flash-60 {
			last = append(last, p.offset)
		}
	}
	if len(first) < 30 {
		return fmt.Sprintf("%d flash/beep pairs", len(pairs)), []string{fmt.Sprintf("%d flash/beep pairs in the first minute: nothing to measure drift from", len(first))}
	}
	slices.Sort(first)
	ref := first[len(first)/2]
	worst, at := 0.0, 0.0
	for _, p := range pairs {
		if dev := math.Abs(p.offset - ref); dev > worst {
			worst, at = dev, p.flash
		}
	}
	if worst > audioFrame {
		problems = append(problems, fmt.Sprintf("the beep moved %.1f ms from its first minute's %.1f ms at %.0f s: more than an AAC frame (%.1f ms)",
			worst*1000, ref*1000, at, audioFrame*1000))
	}
	// Each line is the loop's correction at that moment: its integral, which
	// holds the device's drift, plus a proportional term that steers the
	// queue back after a stall (a busy machine moves it a few hundred ppm for
	// a second). What settles is its mean: judged over each 10 s.
	var ppm, window, means []float64
	var windowStart float64
	judge := func() {
		if len(window) < 5 {
			return
		}
		m := mean(window)
		means = append(means, m)
		if math.Abs(m-wantPPM) > 100 && len(problems) < 10 {
			problems = append(problems, fmt.Sprintf("for 10 s from %.0f s %s's correction is %+.1f ppm on average (%d lines), want %+.0f ±100",
				windowStart, source, m, len(window), wantPPM))
		}
	}
	for _, st := range lines {
		if st.State != app.StateLive || st.T <= 60 {
			continue
		}
		for _, s := range st.Sound {
			if s.Source != source {
				continue
			}
			if len(window) > 0 && st.T-windowStart >= 10 {
				judge()
				window = window[:0]
			}
			if len(window) == 0 {
				windowStart = st.T
			}
			ppm, window = append(ppm, s.CorrectionPPM), append(window, s.CorrectionPPM)
		}
	}
	judge()
	if len(means) == 0 {
		problems = append(problems, fmt.Sprintf("fewer than 5 live stats lines after the first minute give %s's correction: nothing settled to judge", source))
		return fmt.Sprintf("%d flash/beep pairs, worst move %.1f ms", len(pairs), worst*1000), problems
	}
	m := mean(ppm)
	var sd float64
	for _, x := range ppm {
		sd += (x - m) * (x - m)
	}
	sd = math.Sqrt(sd / float64(len(ppm)))
	summary = fmt.Sprintf("%d flash/beep pairs: offset %.1f ms in the first minute (median), %.1f ms in the last (mean), worst move %.1f ms at %.0f s (bound %.1f ms); "+
		"%s's correction after the first minute %+.1f..%+.1f ppm (10 s means %+.1f..%+.1f), mean %+.1f, s.d. %.1f, over %d stats lines",
		len(pairs), ref*1000, mean(last)*1000, worst*1000, at, audioFrame*1000, source, slices.Min(ppm), slices.Max(ppm),
		slices.Min(means), slices.Max(means), m, sd, len(ppm))
	return summary, problems
}

func mean(v []float64) float64 {
	var sum float64
	for _, x := range v {
		sum += x
	}
	return sum / float64(len(v))
}

// The fast clock's verdict can fail: a beep that walks off its flash by more
// than an AAC frame, a correction that never reaches the device's drift, no
// pairs or no stats after the first minute all fail it; a run in step passes.
func TestSoakFastClockJudgementFailsWhenTheSoundWalksOrTheCorrectionIsOff(t *testing.T) {
	var steady, walking []syncPoint
	for s := 1.0; s < 180; s++ {
		steady = append(steady, syncPoint{flash: s, offset: 0.012 + 0.002*math.Sin(s)})
		walking = append(walking, syncPoint{flash: s, offset: 0.012 + s/1000*0.2}) // 200 ppm left over
	}
	stats := func(source string, ppm float64) []app.Stats {
		var l []app.Stats
		for s := 1.0; s < 180; s++ {
			l = append(l, app.Stats{T: s, State: app.StateLive, Sound: []app.SoundLevel{{Source: source, CorrectionPPM: ppm}}})
		}
		return l
	}
	// A stall steers the correction for a second or two: the mean holds.
	stall := stats("mic", 1000)
	stall[100].Sound[0].CorrectionPPM, stall[101].Sound[0].CorrectionPPM = 1320, 900
	// Off for half a minute: a mean is out.
	astray := stats("mic", 1000)
	for i := 120; i < 150; i++ {
		astray[i].Sound[0].CorrectionPPM = 1200
	}
	for _, tc := range []struct {
		name  string
		pairs []syncPoint
		lines []app.Stats
		fails bool
	}{
		{"in step", steady, stats("mic", 1010), false},
		{"the beep walks off", walking, stats("mic", 1000), true},
		{"correction off", steady, stats("mic", 850), true},
		{"a stall", steady, stall, false},
		{"correction astray for a while", steady, astray, true},
		{"no pairs", nil, stats("mic", 1000), true},
		{"no stats after the first minute", steady, stats("mic", 1000)[:50], true},
		{"only another source's stats", steady, stats("music", 1000), true},
	} {
		if _, problems := judgeFastClock(tc.pairs, tc.lines, "mic", 1000); (len(problems) > 0) != tc.fails {
			t.Errorf("%s: problems %q, want failure %v", tc.name, problems, tc.fails)
		}
	}
}

// Memory and goroutines stay flat and no frame goes missing over a long run
// at 720p30: RSS grows by at most 10 MB after the first minute, the goroutine
// count returns to where it was, and frames_sent matches the clock.
func TestSoakMemoryAndFramesFlat(t *testing.T) {
	d := soakDuration(t)
	ng := peers.StartNginx(t, peers.NginxOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), d+2*time.Minute)
	defer cancel()
	lt := startTally(t, ctx, streamKeyEnv, "stream", "--url", ng.URL(), "--size", "1280x720",
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
	lt := startTally(t, ctx, streamKeyEnv, "stream", "--url", ng.URL(), "--size", "640x360",
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
	waitFor(t, ng.Unpublished)
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
