package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
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
	// Nor in what Tally wrote to disk (the recording's metadata). A recording
	// keeps the run going while the server is unreachable, so the file must
	// be there: without it there is nothing to have checked.
	if err := checkRecordingHides(rec, "7700112233"); err != nil {
		t.Error(err)
	}
}

var errKeyInRecording = errors.New("the recording holds the key")

// checkRecordingHides fails unless path is a recording, not empty, with no
// trace of secret in it.
func checkRecordingHides(path, secret string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("no recording to check: %w", err)
	}
	if len(b) == 0 {
		return fmt.Errorf("the recording %s is empty", path)
	}
	if bytes.Contains(b, []byte(secret)) {
		return fmt.Errorf("%s: %w", path, errKeyInRecording)
	}
	return nil
}

// The recording check in TestStreamKeyNeverLeaks fails when there is no
// recording, instead of passing for want of a file to look in.
func TestRecordingCheckFailsWithoutARecording(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.flv")
	if err := checkRecordingHides(missing, "7700112233"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing recording: %v, want an error wrapping fs.ErrNotExist", err)
	}
	empty := filepath.Join(dir, "empty.flv")
	leaky := filepath.Join(dir, "leaky.flv")
	clean := filepath.Join(dir, "clean.flv")
	for path, body := range map[string]string{empty: "", leaky: "FLV\x01 onMetaData live_7700112233_x", clean: "FLV\x01 onMetaData"} {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := checkRecordingHides(empty, "7700112233"); err == nil {
		t.Error("an empty recording passed")
	}
	if err := checkRecordingHides(leaky, "7700112233"); !errors.Is(err, errKeyInRecording) {
		t.Errorf("a recording with the key: %v, want errKeyInRecording", err)
	}
	if err := checkRecordingHides(clean, "7700112233"); err != nil {
		t.Errorf("a clean recording: %v", err)
	}
}
