package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tallystudio/tally/ingest"
	"github.com/tallystudio/tally/internal/peers"
)

func TestIngestCommandReportsFFmpegStreamAsJSON(t *testing.T) {
	fixture := peers.FixtureFLV(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := tallyCommand(ctx, "ingest", "--listen", "127.0.0.1:0", "--json", "--record", t.TempDir())
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	// The first line on stderr names the address it listens on.
	sc := bufio.NewScanner(stderr)
	var url string
	for sc.Scan() {
		if m := regexp.MustCompile(`publish to (rtmp://\S+)/STREAM-KEY`).FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
			break
		}
	}
	if url == "" {
		t.Fatal("tally ingest did not say where it listens")
	}
	go func() { // keep draining stderr so the child never blocks on it
		for sc.Scan() {
		}
	}()
	key := "live_0011223344_cmdsecret"
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", fixture, "-c", "copy", "-f", "flv", url+"/"+key).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no report: %v", err)
	}
	var r ingest.Report
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, line)
	}
	if r.Video == nil || r.Video.Frames != 90 || r.Audio == nil || r.Audio.SampleRate != 44100 {
		t.Errorf("report: %s", line)
	}
	if strings.Contains(line, "0011223344") {
		t.Errorf("report leaks the key: %s", line)
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Errorf("tally ingest did not exit cleanly on SIGINT: %v", err)
	}
}
