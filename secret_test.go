package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
	"github.com/tallystudio/tally/rtmpclient"
)

// The stream key never appears in anything Tally prints, whatever goes wrong:
// a server that quotes the key back in its refusal, a certificate that does
// not verify, an unreachable server, a key inside the URL, JSON stats, a
// recording. runTally fails the test if stdout or stderr holds the key.
func TestStreamKeyNeverLeaks(t *testing.T) {
	// A server that refuses and repeats the key in its description.
	srv := &rtmpclient.Server{OnPublish: func(req rtmpclient.PublishRequest) (rtmpclient.StreamSink, error) {
		return nil, fmt.Errorf("stream key %s is not valid", req.Name.Reveal())
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	ng := peers.StartNginx(t, peers.NginxOptions{TLS: true})
	dir := t.TempDir()
	rec := filepath.Join(dir, "show.flv")

	for _, tc := range []struct {
		name string
		args []string
		want string // in stderr: proof the failure was reported
	}{
		{"refused, key quoted back", []string{"--url", "rtmp://" + ln.Addr().String() + "/live", "--key", streamKey}, "not valid"},
		{"certificate", []string{"--url", ng.TLSURL(), "--key", streamKey}, "certificate"},
		{"unreachable, recording", []string{"--url", "rtmp://127.0.0.1:1/live", "--key", streamKey, "--record", rec}, "refused"},
		{"key in the URL, JSON stats", []string{"--url", ng.URL() + "/" + streamKey, "--stats", "json"}, ""},
		{"bad key", []string{"--url", ng.URL(), "--key", streamKey + " x"}, "space"},
	} {
		stdout, stderr, _ := runTally(t, 60*time.Second, nil,
			append([]string{"stream", "--size", "320x180", "--duration", "2s"}, tc.args...)...)
		if !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: stderr lacks %q:\n%s", tc.name, tc.want, stderr)
		}
		if tc.want == "" && !strings.Contains(stdout, `"state":"live"`) {
			t.Errorf("%s: no live stats:\n%s", tc.name, stdout)
		}
	}
	// Nor in what Tally wrote to disk (the recording's metadata).
	if b, err := os.ReadFile(rec); err == nil && strings.Contains(string(b), "7700112233") {
		t.Error("the recording holds the key")
	}
}
