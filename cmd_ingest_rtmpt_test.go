package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/tallystudio/tally/ingest"
	"github.com/tallystudio/tally/internal/peers"
)

// FFmpeg 5.1's rtmpt:// client publishes to `tally ingest --rtmpt-listen`,
// plays the stream back through the tunnel while it is live, and the report
// finds the stream healthy.
func TestIngestCommandTakesFFmpegOverRTMPT(t *testing.T) {
	ffmpeg := peers.Require(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := tallyCommand(ctx, "ingest", "--listen", "127.0.0.1:0", "--rtmpt-listen", "127.0.0.1:0", "--json")
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stderr)
	var url string
	for sc.Scan() {
		if m := regexp.MustCompile(`publish to (rtmpt://\S+)/STREAM-KEY`).FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
			break
		}
	}
	if url == "" {
		t.Fatal("tally ingest did not say where it takes RTMPT")
	}
	go func() { // keep draining stderr so the child never blocks on it
		for sc.Scan() {
		}
	}()
	url += "/live_0011223344_rtmptsecret"
	pub := exec.CommandContext(ctx, ffmpeg, "-v", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", "6", "-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ar", "44100",
		"-f", "flv", url)
	var pubErr bytes.Buffer
	pub.Stderr = &pubErr
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	out := filepath.Join(t.TempDir(), "played.flv")
	if b, err := exec.CommandContext(ctx, ffmpeg, "-v", "error", "-i", url, "-t", "2", "-c", "copy", "-f", "flv", out).CombinedOutput(); err != nil {
		t.Errorf("ffmpeg playing over rtmpt: %v\n%s", err, b)
	}
	if err := pub.Wait(); err != nil {
		t.Fatalf("ffmpeg publishing over rtmpt: %v\n%s", err, pubErr.String())
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no report: %v", err)
	}
	var r ingest.Report
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, line)
	}
	// FFmpeg's rtmpt client discards what it has buffered but not yet sent
	// when it closes (rtmphttp.c empties its output before /close), so the
	// last frame or so of the 180 may not come.
	if r.Video == nil || r.Video.Frames < 175 || r.Video.Width != 640 || r.Audio == nil || r.Audio.SampleRate != 44100 || len(r.Problems) != 0 {
		t.Errorf("report: %s", line)
	}
	if bytes.Contains([]byte(line), []byte("0011223344")) {
		t.Errorf("report leaks the key: %s", line)
	}
	if v := peers.ProbeFile(t, out).Stream("video"); v == nil || v.Frames() < 30 {
		t.Errorf("played back %+v, want two seconds of video", v)
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Errorf("tally ingest did not exit cleanly on SIGINT: %v", err)
	}
}
