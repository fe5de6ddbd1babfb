package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
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

// The server dies mid-stream and comes back: Tally says "reconnecting" with
// the attempt and the next retry, publishes again, and the server's new
// recording starts on a keyframe and decodes without errors.
func TestStreamResumesAfterNginxRestarts(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := tallyCommand(ctx, "stream", "--url", ng.URL(), "--key", streamKey, "--size", "640x360",
		"--vbitrate", "1M", "--duration", "16s", "--stats", "json", "--retry-max", "2s")
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var rec statsRecorder
	readDone := make(chan struct{})
	go func() { defer close(readDone); rec.read(out) }()

	waitFor(t, func() bool { return strings.Contains(ng.ErrorLog(), "publish: name=") })
	time.Sleep(4 * time.Second)
	ng.Stop()
	outage := time.Now()
	waitFor(t, func() bool {
		l := rec.all()
		return len(l) > 0 && l[len(l)-1].State == "reconnecting"
	})
	time.Sleep(2 * time.Second)
	ng.Restart(t)
	waitFor(t, func() bool {
		l := rec.all()
		return len(l) > 0 && l[len(l)-1].State == "live" && l[len(l)-1].Reconnects == 1
	})
	t.Logf("back live %.1f s after the server went away", time.Since(outage).Seconds())
	<-readDone
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, errOut.String())
	}
	if strings.Contains(errOut.String(), "7700112233") {
		t.Error("the key leaked into stderr")
	}
	sawRetry := false
	for _, st := range rec.all() {
		if st.State == "reconnecting" && st.Attempt >= 1 && st.NextRetryS <= 2.5 {
			sawRetry = true
		}
	}
	if !sawRetry {
		t.Error("no stats line said reconnecting with an attempt and a next retry")
	}

	waitFor(t, func() bool { return strings.Count(ng.ErrorLog(), "deleteStream") >= 1 })
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
