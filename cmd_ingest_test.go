package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
)

func TestIngestCommandReportsFFmpegStreamAsJSON(t *testing.T) {
	fixture := peers.FixtureFLV(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	in := startIngest(t, ctx, "--record", t.TempDir())
	url := in.rtmp
	key := "live_0011223344_cmdsecret"
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", fixture, "-c", "copy", "-f", "flv", url+"/"+key).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	r := in.nextReport(t)
	line, _ := json.Marshal(r)
	if r.Video == nil || r.Video.Frames != 90 || r.Audio == nil || r.Audio.SampleRate != 44100 {
		t.Errorf("report: %s", line)
	}
	if strings.Contains(string(line), "0011223344") {
		t.Errorf("report leaks the key: %s", line)
	}
	_ = in.cmd.Process.Signal(syscall.SIGINT)
	if err := in.cmd.Wait(); err != nil {
		t.Errorf("tally ingest did not exit cleanly on SIGINT: %v", err)
	}
}
