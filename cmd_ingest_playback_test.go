package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tallystudio/tally/ingest"
	"github.com/tallystudio/tally/internal/peers"
)

// ingestRun is a `tally ingest` the test started: where it takes RTMP (and
// RTMPE), where it takes RTMPT (and RTMPTE), RTMPS and RTMPTS when asked,
// and its reports.
type ingestRun struct {
	cmd     *exec.Cmd
	rtmp    string // rtmp://host:port/live
	rtmpt   string // rtmpt://host:port/live, with --rtmpt-listen
	rtmps   string // rtmps://host:port/live, with --rtmps-listen
	rtmpts  string // rtmpts://host:port/live, with --rtmpts-listen
	reports *bufio.Reader
	log     *ingestLog
}

// startIngest runs `tally ingest --listen 127.0.0.1:0 --json` with args,
// and reads where it listens from what it prints.
func startIngest(t *testing.T, ctx context.Context, args ...string) ingestRun {
	t.Helper()
	cmd := tallyCommand(ctx, append([]string{"ingest", "--listen", "127.0.0.1:0", "--json"}, args...)...)
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	run := ingestRun{cmd: cmd, reports: bufio.NewReader(stdout), log: &ingestLog{}}
	// Each URL the command line asks for, by its scheme; rtmp always.
	urls := map[string]*string{"rtmp": &run.rtmp}
	for _, a := range args {
		switch a {
		case "--rtmpt-listen":
			urls["rtmpt"] = &run.rtmpt
		case "--rtmps-listen":
			urls["rtmps"] = &run.rtmps
		case "--rtmpts-listen":
			urls["rtmpts"] = &run.rtmpts
		}
	}
	missing := func() bool {
		for _, u := range urls {
			if *u == "" {
				return true
			}
		}
		return false
	}
	publishTo := regexp.MustCompile(`publish to ((rtmp[ts]{0,2})://\S+)/STREAM-KEY`)
	sc := bufio.NewScanner(stderr)
	for missing() && sc.Scan() {
		if m := publishTo.FindStringSubmatch(sc.Text()); m != nil && urls[m[2]] != nil {
			*urls[m[2]] = m[1]
		}
	}
	if missing() {
		t.Fatal("tally ingest did not say where it listens")
	}
	go func() { // keep draining stderr so the child never blocks on it
		for sc.Scan() {
			run.log.add(sc.Text())
		}
	}()
	return run
}

// ingestLog is what a `tally ingest` logged after saying where it listens.
type ingestLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *ingestLog) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
}

func (l *ingestLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// nextReport reads the next stream's JSON report.
func (r ingestRun) nextReport(t *testing.T) ingest.Report {
	t.Helper()
	line, err := r.reports.ReadString('\n')
	if err != nil {
		t.Fatalf("no report: %v", err)
	}
	var rep ingest.Report
	if err := json.Unmarshal([]byte(line), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, line)
	}
	return rep
}

// recordOne publishes FFmpeg's 10 s fixture (a keyframe every 2 s) to an
// ingest that records, and returns the recording's file name.
func recordOne(t *testing.T, ctx context.Context, in ingestRun) string {
	t.Helper()
	fixture := peers.FixtureFLV(t, 10)
	if out, err := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-i", fixture, "-c", "copy", "-f", "flv", in.rtmp+"/recordkey").CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg publishing: %v\n%s", err, out)
	}
	rep := in.nextReport(t)
	if rep.Recording == "" || rep.Video == nil || rep.Video.Frames != 300 {
		t.Fatalf("the publish was not recorded whole: %+v", rep)
	}
	return filepath.Base(rep.Recording)
}

// videoTimes returns the decode times of a file's video packets, in seconds.
func videoTimes(t *testing.T, ffprobe, path string) []float64 {
	t.Helper()
	out, err := exec.Command(ffprobe, "-v", "error", "-select_streams", "v", "-show_entries", "packet=dts_time", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var times []float64
	for _, f := range strings.Fields(string(out)) {
		v, err := strconv.ParseFloat(strings.Trim(f, ","), 64)
		if err != nil {
			t.Fatalf("ffprobe printed %q", f)
		}
		times = append(times, v)
	}
	return times
}

// rtmpdump (librtmp) downloads a recording from `tally ingest` starting 5 s
// in: the server seeks to the keyframe at or before 5 s, and the download
// decodes cleanly from there to the end.
func TestIngestServesItsRecordingToRtmpdumpFromTheStartAsked(t *testing.T) {
	rtmpdump := peers.Require(t, "rtmpdump")
	ffprobe := peers.Require(t, "ffprobe")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	in := startIngest(t, ctx, "--record", t.TempDir())
	name := recordOne(t, ctx, in)

	out := filepath.Join(t.TempDir(), "dump.flv")
	if b, err := exec.CommandContext(ctx, rtmpdump, "-q", "-m", "20", "-r", in.rtmp+"/"+name, "--start", "5", "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("rtmpdump --start 5: %v\n%s", err, b)
	}
	times := videoTimes(t, ffprobe, out)
	// librtmp writes what it gets from the start it asked for: the keyframe
	// at 4 s (the fixture has one every 2 s) lands at 5 s, and the 180
	// frames from there to the end follow.
	if len(times) != 180 || times[0] < 4.95 || times[0] > 5.05 {
		t.Fatalf("rtmpdump got %d video frames starting at %v s; want the 180 from the keyframe at 4 s, written from 5 s", len(times), times[:min(len(times), 1)])
	}
	if errs := peers.DecodeErrors(t, out); errs != "" {
		t.Errorf("the download does not decode cleanly:\n%s", errs)
	}
	t.Logf("rtmpdump --start 5: %d frames from %.3f s to %.3f s", len(times), times[0], times[len(times)-1])
}

// FFmpeg plays a recording from `tally ingest` over each variant: its own
// 5.1 over rtmp:// and rtmpt://, FFmpeg 8 (built with RTMPE) over rtmpe://
// and rtmpte://. Each gets the whole recording.
func TestIngestPlaysItsRecordingToFFmpegOverEveryVariant(t *testing.T) {
	ffmpeg := peers.Require(t, "ffmpeg")
	ffmpeg8 := peers.Require8(t, "ffmpeg")
	ffprobe := peers.Require(t, "ffprobe")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	in := startIngest(t, ctx, "--record", t.TempDir(), "--rtmpt-listen", "127.0.0.1:0")
	name := recordOne(t, ctx, in)
	rtmpe := strings.Replace(in.rtmp, "rtmp://", "rtmpe://", 1)
	rtmpte := strings.Replace(in.rtmpt, "rtmpt://", "rtmpte://", 1)
	// Played in real time, so all four at once.
	dir := t.TempDir()
	var wg sync.WaitGroup
	for _, c := range []struct{ bin, url string }{{ffmpeg, in.rtmp}, {ffmpeg, in.rtmpt}, {ffmpeg8, rtmpe}, {ffmpeg8, rtmpte}} {
		scheme, _, _ := strings.Cut(c.url, ":")
		out := filepath.Join(dir, scheme+".flv")
		wg.Go(func() {
			if b, err := exec.CommandContext(ctx, c.bin, "-v", "error", "-i", c.url+"/"+name, "-c", "copy", "-f", "flv", out).CombinedOutput(); err != nil {
				t.Errorf("ffmpeg playing over %s: %v\n%s", scheme, err, b)
			}
		})
	}
	wg.Wait()
	for _, scheme := range []string{"rtmp", "rtmpt", "rtmpe", "rtmpte"} {
		if n := len(videoTimes(t, ffprobe, filepath.Join(dir, scheme+".flv"))); n != 300 {
			t.Errorf("ffmpeg over %s got %d video frames of the recording's 300", scheme, n)
		}
	}
}

// FFmpeg 8 publishes to `tally ingest` over rtmpe:// (on the RTMP port) and
// rtmpte:// (on the RTMPT port), and each stream arrives whole.
func TestIngestTakesFFmpeg8PublishingOverRTMPEAndRTMPTE(t *testing.T) {
	ffmpeg8 := peers.Require8(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	in := startIngest(t, ctx, "--rtmpt-listen", "127.0.0.1:0")
	fixture := peers.FixtureFLV(t, 3)
	for _, url := range []string{strings.Replace(in.rtmp, "rtmp://", "rtmpe://", 1), strings.Replace(in.rtmpt, "rtmpt://", "rtmpte://", 1)} {
		scheme, _, _ := strings.Cut(url, ":")
		var stderr bytes.Buffer
		pub := exec.CommandContext(ctx, ffmpeg8, "-v", "error", "-re", "-i", fixture, "-c", "copy", "-f", "flv", url+"/live_0011223344_"+scheme+"secret")
		pub.Stderr = &stderr
		if err := pub.Run(); err != nil {
			t.Fatalf("ffmpeg 8 publishing over %s: %v\n%s", scheme, err, stderr.String())
		}
		rep := in.nextReport(t)
		// FFmpeg's tunnel client drops what it has not sent yet when it
		// closes (see TestIngestCommandTakesFFmpegOverRTMPT).
		if rep.Video == nil || rep.Video.Frames < 85 || rep.Video.Width != 640 || rep.Audio == nil || len(rep.Problems) != 0 {
			t.Errorf("over %s the report is %+v", scheme, rep)
		}
		if strings.Contains(string(rep.Name), "0011223344") {
			t.Errorf("the report shows the key: %q", rep.Name)
		}
	}
}

// `tally stream` publishes through the tunnel to `tally ingest`, over
// rtmpt:// and, encrypted, rtmpte://: each stream arrives whole, with its
// sound, and the key stays out of the report.
func TestStreamCommandPublishesToTheIngestOverRTMPTAndRTMPTE(t *testing.T) {
	peers.Require(t, "ffmpeg") // a real-peer test: skipped under -short with the others
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	in := startIngest(t, ctx, "--rtmpt-listen", "127.0.0.1:0")
	for _, url := range []string{in.rtmpt, strings.Replace(in.rtmpt, "rtmpt://", "rtmpte://", 1)} {
		streamFourSecondsTo(t, ctx, in, url)
	}
}

// streamFourSecondsTo runs `tally stream` with args for 4 s of 640x360 at
// 30 fps to url, the key in the environment, and checks the ingest's
// report: at least 110 of the 120 frames, sound, no problems, no key.
func streamFourSecondsTo(t *testing.T, ctx context.Context, in ingestRun, url string, args ...string) {
	t.Helper()
	scheme, _, _ := strings.Cut(url, ":")
	cmd := tallyCommand(ctx, append([]string{"stream", "--url", url, "--size", "640x360", "--fps", "30", "--duration", "4s", "--stats", "none"}, args...)...)
	cmd.Env = append(cmd.Env, streamKeyEnv...)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("tally stream over %s: %v\n%s", scheme, err, errOut.String())
	}
	rep := in.nextReport(t)
	if rep.Video == nil || rep.Video.Frames < 110 || rep.Video.Width != 640 || rep.Audio == nil || len(rep.Problems) != 0 {
		t.Fatalf("over %s the report is %+v", scheme, rep)
	}
	if b, _ := json.Marshal(rep); bytes.Contains(b, []byte(streamKey)) {
		t.Errorf("the report over %s shows the key: %s", scheme, b)
	}
	t.Logf("tally stream over %s: %d frames at %dx%d, audio %v", scheme, rep.Video.Frames, rep.Video.Width, rep.Video.Height, rep.Audio != nil)
}
