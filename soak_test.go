package main

import (
	"os"
	"strings"
	"testing"
	"time"

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
