package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
)

// FFmpeg 5.1's rtmpt:// client publishes to `tally ingest --rtmpt-listen`,
// plays the stream back through the tunnel while it is live, and the report
// finds the stream healthy.
func TestIngestCommandTakesFFmpegOverRTMPT(t *testing.T) {
	ffmpeg := peers.Require(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	in := startIngest(t, ctx, "--rtmpt-listen", "127.0.0.1:0")
	url := in.rtmpt
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
	r := in.nextReport(t)
	// FFmpeg's rtmpt client discards what it has buffered but not yet sent
	// when it closes (rtmphttp.c empties its output before /close), so the
	// last frame or so of the 180 may not come.
	if r.Video == nil || r.Video.Frames < 175 || r.Video.Width != 640 || r.Audio == nil || r.Audio.SampleRate != 44100 || len(r.Problems) != 0 {
		t.Errorf("report: %+v", r)
	}
	if b, _ := json.Marshal(r); bytes.Contains(b, []byte("0011223344")) {
		t.Errorf("report leaks the key: %s", b)
	}
	if v := peers.ProbeFile(t, out).Stream("video"); v == nil || v.Frames() < 30 {
		t.Errorf("played back %+v, want two seconds of video", v)
	}
	_ = in.cmd.Process.Signal(syscall.SIGINT)
	if err := in.cmd.Wait(); err != nil {
		t.Errorf("tally ingest did not exit cleanly on SIGINT: %v", err)
	}
}
