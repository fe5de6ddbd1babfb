package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tallystudio/tally/app"
	"github.com/tallystudio/tally/internal/peers"
)

// statsRecorder keeps every --stats json line of a running tally.
type statsRecorder struct {
	mu    sync.Mutex
	lines []app.Stats
}

func (r *statsRecorder) read(out io.Reader) {
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var st app.Stats
		if json.Unmarshal(sc.Bytes(), &st) == nil {
			r.mu.Lock()
			r.lines = append(r.lines, st)
			r.mu.Unlock()
		}
	}
}

func (r *statsRecorder) all() []app.Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]app.Stats(nil), r.lines...)
}

// liveTally is `tally args...` running in the background with --stats json
// on its stdout, which rec collects line by line.
type liveTally struct {
	cmd      *exec.Cmd
	rec      statsRecorder
	stderr   bytes.Buffer
	readDone chan struct{}
}

// startTally starts `tally args...`; args should include --stats json.
func startTally(t *testing.T, ctx context.Context, env []string, args ...string) *liveTally {
	t.Helper()
	lt := &liveTally{cmd: tallyCommand(ctx, args...), readDone: make(chan struct{})}
	lt.cmd.Env = append(lt.cmd.Env, env...)
	lt.cmd.Stderr = &lt.stderr
	out, err := lt.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := lt.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { defer close(lt.readDone); lt.rec.read(out) }()
	return lt
}

// wait waits for tally to exit and returns its exit code; stderr is complete
// after it, and checked for the stream key.
func (lt *liveTally) wait(t *testing.T) int {
	t.Helper()
	<-lt.readDone
	err := lt.cmd.Wait()
	if strings.Contains(lt.stderr.String(), "7700112233") {
		t.Error("the key leaked into stderr")
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode()
	case err != nil:
		t.Fatalf("tally: %v", err)
	}
	return 0
}

// The server dies mid-stream and comes back: Tally says "reconnecting" with
// the attempt and the next retry, publishes again, and the server's new
// recording starts on a keyframe and decodes without errors.
func TestStreamResumesAfterNginxRestarts(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	lt := startTally(t, ctx, streamKeyEnv, "stream", "--url", ng.URL(), "--size", "640x360",
		"--vbitrate", "1M", "--duration", "16s", "--stats", "json", "--retry-max", "2s")
	rec := &lt.rec

	waitFor(t, func() bool { return strings.Contains(ng.ErrorLog(), "publish: name=") })
	time.Sleep(4 * time.Second)
	ng.Stop()
	outage := time.Now()
	waitFor(t, func() bool {
		l := rec.all()
		return len(l) > 0 && l[len(l)-1].State == app.StateReconnecting
	})
	time.Sleep(2 * time.Second)
	ng.Restart(t)
	waitFor(t, func() bool {
		l := rec.all()
		return len(l) > 0 && l[len(l)-1].State == app.StateLive && l[len(l)-1].Reconnects == 1
	})
	t.Logf("back live %.1f s after the server went away", time.Since(outage).Seconds())
	if code := lt.wait(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, lt.stderr.String())
	}
	sawRetry := false
	for _, st := range rec.all() {
		if st.State == app.StateReconnecting && st.Attempt >= 1 && st.NextRetryS <= 2.5 {
			sawRetry = true
		}
	}
	if !sawRetry {
		t.Error("no stats line said reconnecting with an attempt and a next retry")
	}

	waitFor(t, ng.Unpublished)
	time.Sleep(300 * time.Millisecond)
	path := ng.Recording(streamKey)
	keys := peers.KeyframeTimes(t, path)
	vt := peers.PacketTimes(t, path, "v:0")
	if len(vt) < 120 || len(keys) == 0 || keys[0] != vt[0] {
		t.Fatalf("second recording: %d video packets, first keyframe at %v, first packet at %v", len(vt), keys, vt[:min(len(vt), 1)])
	}
	if errs := peers.DecodeErrors(t, path); errs != "" {
		t.Errorf("second recording does not decode cleanly: %s", errs)
	}
}

// noisyFile makes a 640x360 clip of moving noise: no encoder can squeeze it,
// so the stream really needs the bitrate it is given.
func noisyFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "noise.mp4")
	out, err := exec.Command(peers.Require(t, "ffmpeg"), "-v", "error", "-f", "lavfi", "-i",
		"testsrc2=size=640x360:rate=30,noise=alls=80:allf=t+u", "-f", "lavfi", "-i", "sine=frequency=500:sample_rate=48000",
		"-t", "6", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "18", "-c:a", "aac", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	return path
}

// streamThrough runs tally stream with the noisy file through a throttle to
// nginx, calls during(t, stats) while it runs, and returns every stats line.
func streamThrough(t *testing.T, th *peers.Throttle, extra []string, during func(rec *statsRecorder)) []app.Stats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := append([]string{"stream", "--url", "rtmp://" + th.Addr() + "/live",
		"--video", "file:" + noisyFile(t), "--loop", "--audio", "file", "--size", "640x360", "--vbitrate", "2M",
		"--abitrate", "128k", "--preset", "ultrafast", "--stats", "json", "--retry-max", "2s", "--log-level", "info"}, extra...)
	lt := startTally(t, ctx, streamKeyEnv, args...)
	during(&lt.rec)
	if code := lt.wait(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, lt.stderr.String())
	}
	errOut := &lt.stderr
	// What Tally said about the link, so a failure shows why it reconnected
	// or changed rate.
	for _, line := range strings.Split(errOut.String(), "\n") {
		if strings.Contains(line, "reconnect") || strings.Contains(line, "dynamic bitrate") {
			t.Log(line)
		}
	}
	return lt.rec.all()
}

// waitStat waits until the newest stats line satisfies ok.
func waitStat(t *testing.T, rec *statsRecorder, what string, ok func(app.Stats) bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if l := rec.all(); len(l) > 0 && ok(l[len(l)-1]) {
			return
		}
		if time.Now().After(deadline) {
			l := rec.all()
			if len(l) > 3 {
				l = l[len(l)-3:]
			}
			t.Fatalf("timed out waiting for %s; the last stats: %+v", what, l)
		}
	}
}

func checkRecordingDecodes(t *testing.T, ng *peers.Nginx, minFrames int) {
	t.Helper()
	waitFor(t, ng.Unpublished)
	time.Sleep(300 * time.Millisecond)
	rec := ng.Recording(streamKey)
	if pr := peers.ProbeFile(t, rec); pr.Stream("video") == nil || pr.Stream("video").Frames() < minFrames {
		t.Fatalf("server recording: %+v", pr.Streams)
	}
	if errs := peers.DecodeErrors(t, rec); errs != "" {
		t.Errorf("server recording does not decode cleanly: %s", errs)
	}
}

// At half the bandwidth the stream needs, the queue stays bounded (the drop
// threshold plus one GOP), drops are counted, and what the server records
// decodes without errors.
func TestHalfBandwidthKeepsQueueBoundedAndRecordingClean(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})
	th := peers.StartThrottle(t, "127.0.0.1:"+strconv.Itoa(ng.Port))
	th.SetRate(1_050_000) // the stream needs 2128 kb/s plus overhead
	lines := streamThrough(t, th, []string{"--duration", "20s"}, func(*statsRecorder) {})
	maxQueue := 0.0
	for _, st := range lines {
		maxQueue = math.Max(maxQueue, st.QueueMs)
	}
	last := lines[len(lines)-1]
	if maxQueue > 700+2000+300 {
		t.Errorf("queue reached %.0f ms; the bound is the 700 ms drop threshold plus a 2 s GOP", maxQueue)
	}
	if last.DroppedNetwork == 0 {
		t.Errorf("no drops counted at half the bandwidth: %+v", last)
	}
	t.Logf("max queue %.0f ms, %d frames sent, %d dropped, sent %.0f kb/s at the end", maxQueue, last.FramesSent, last.DroppedNetwork, last.SentKbps)
	// Each 2 s GOP needs 4 s of this link, so most of every GOP is dropped
	// (the rest waits for the next keyframe): few frames, all decodable.
	checkRecordingDecodes(t, ng, 20)
}

// With dynamic bitrate on, a link at half the rate brings the encoder down
// near the link within seconds, without drops piling up; when the link
// recovers the bitrate climbs back to what was asked for.
func TestDynamicBitrateFollowsTheLinkAndRecovers(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})
	th := peers.StartThrottle(t, "127.0.0.1:"+strconv.Itoa(ng.Port))
	th.SetRate(1_050_000)
	var limited []app.Stats
	lines := streamThrough(t, th, []string{"--duration", "40s", "--dynamic-bitrate"}, func(rec *statsRecorder) {
		waitStat(t, rec, "16 s of stream", func(st app.Stats) bool { return st.T >= 16 })
		for _, st := range rec.all() {
			if st.T >= 10 {
				limited = append(limited, st)
			}
		}
		th.SetRate(0)
	})
	for _, st := range lines {
		t.Logf("t=%4.0f %-12s sent %5.0f target %5.0f queue %4.0f dropped %d", st.T, st.State, st.SentKbps, st.TargetKbps, st.QueueMs, st.DroppedNetwork)
	}
	sent := 0.0
	var targets []float64
	for _, st := range limited {
		sent += st.SentKbps / float64(len(limited))
		if st.T <= 15 { // at 16 s the link recovers, and a probe may rightly climb
			targets = append(targets, st.TargetKbps)
		}
	}
	// Where the encoder settled after its cuts (its lowest rate while limited:
	// above it are only the probes, one step every 8 s by design) plus 128 kb/s
	// of audio must fit the link, without cutting to half of it or less, and
	// the link must stay in use. (What was sent can run above the link for a
	// few seconds while socket buffers fill, so it has no upper bound here.)
	slices.Sort(targets)
	target := targets[0]
	if sent < 700 || target+128 > 1.1*1050 || target+128 < 0.5*1050 {
		t.Errorf("on the 1050 kb/s link from 10 s to 15 s: sent %.0f kb/s on average, encoder settled at %.0f kb/s (%v)", sent, target, targets)
	}
	last := lines[len(lines)-1]
	if last.TargetKbps < 1800 {
		t.Errorf("20 s after the link recovered the encoder is at %.0f kb/s of 2000", last.TargetKbps)
	}
	t.Logf("limited: sent %.0f kb/s, encoder settled at %.0f kb/s; recovered: encoder %.0f kb/s, sent %.0f kb/s, %d dropped in all",
		sent, target, last.TargetKbps, last.SentKbps, last.DroppedNetwork)
	checkRecordingDecodes(t, ng, 60)
}

// A reset and a stall of the link: each is noticed (the stall by the write
// timeout), the stream reconnects and carries on.
func TestLinkResetAndStallReconnect(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})
	th := peers.StartThrottle(t, "127.0.0.1:"+strconv.Itoa(ng.Port))
	lines := streamThrough(t, th, []string{"--duration", "40s", "--vbitrate", "800k"}, func(rec *statsRecorder) {
		waitStat(t, rec, "live", func(st app.Stats) bool { return st.State == app.StateLive && st.T > 3 })
		th.Reset()
		waitStat(t, rec, "the first reconnect", func(st app.Stats) bool { return st.State == app.StateLive && st.Reconnects == 1 })
		th.Stall(true)
		stalled := time.Now()
		waitStat(t, rec, "the stall noticed", func(st app.Stats) bool { return st.State == app.StateReconnecting })
		t.Logf("stall noticed after %.1f s", time.Since(stalled).Seconds())
		th.Stall(false)
		waitStat(t, rec, "the second reconnect", func(st app.Stats) bool { return st.State == app.StateLive && st.Reconnects == 2 })
	})
	if last := lines[len(lines)-1]; last.Reconnects != 2 {
		t.Errorf("%d reconnects at the end", last.Reconnects)
	}
	checkRecordingDecodes(t, ng, 60)
}
