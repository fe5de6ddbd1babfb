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

	"github.com/tallystudio/tally/app"
	"github.com/tallystudio/tally/internal/peers"
	"github.com/tallystudio/tally/rtmpclient"
)

// The stream key never appears in anything Tally prints, whatever goes wrong:
// a server that quotes the key back in its refusal, a certificate that does
// not verify, an unreachable server, a key inside the URL, JSON stats, a
// recording. The key is given as tally takes it, in TALLY_STREAM_KEY (or in
// the URL). runTally fails the test if stdout or stderr holds the key.
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
		key  string // in TALLY_STREAM_KEY
		args []string
		want string // in stderr: proof the failure was reported
	}{
		{"refused, key quoted back", streamKey, []string{"--url", "rtmp://" + ln.Addr().String() + "/live"}, "not valid"},
		{"certificate", streamKey, []string{"--url", ng.TLSURL()}, "certificate"},
		{"unreachable, recording", streamKey, []string{"--url", "rtmp://127.0.0.1:1/live", "--record", rec}, "refused"},
		{"key in the URL, JSON stats", "", []string{"--url", ng.URL() + "/" + streamKey, "--stats", "json"}, ""},
		{"bad key", streamKey + " x", []string{"--url", ng.URL()}, "space"},
	} {
		stdout, stderr, _ := runTally(t, 60*time.Second, []string{"TALLY_STREAM_KEY=" + tc.key},
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

// A key on the command line is in every process list, so tally refuses
// --key, whatever its spelling, even with TALLY_STREAM_KEY set: a usage error
// that says to use TALLY_STREAM_KEY, and the key is not repeated (runTally
// fails the test if stdout or stderr holds it). Nothing is streamed.
func TestStreamRefusesAKeyOnTheCommandLine(t *testing.T) {
	for _, args := range [][]string{
		{"--key", streamKey},
		{"--key=" + streamKey},
		{"-key", streamKey},
		{"--size", "320x180", "-key=" + streamKey, "--duration", "1s"},
	} {
		stdout, stderr, code := runTally(t, 60*time.Second, streamKeyEnv, append([]string{"stream"}, args...)...)
		if code != exitUsage || !strings.Contains(stderr, "TALLY_STREAM_KEY") {
			t.Errorf("%d args: exit %d, want %d with a word on TALLY_STREAM_KEY:\n%s", len(args), code, exitUsage, stderr)
		}
		if stdout != "" || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%d args: more than the one line of refusal:\n%s%s", len(args), stdout, stderr)
		}
	}
}

// --key-entry NAME takes the key from the system keyring (here gnome-keyring
// on a private bus), from the entry NAME under app.KeyringService; the server
// is asked for it. An entry that is not there is an invalid setting.
func TestStreamTakesTheKeyFromTheKeyring(t *testing.T) {
	peers.StartKeyring(t)
	if err := (app.SystemKeyring{}).Set("tally-test-show", streamKey); err != nil {
		t.Fatal(err)
	}
	asked := make(chan string, 8)
	srv := &rtmpclient.Server{OnPublish: func(req rtmpclient.PublishRequest) (rtmpclient.StreamSink, error) {
		asked <- req.Name.Reveal()
		return nil, errors.New("refused by the test")
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	url := "rtmp://" + ln.Addr().String() + "/live"
	_, stderr, code := runTally(t, 60*time.Second, nil, "stream", "--key-entry", "tally-test-show", "--url", url,
		"--size", "320x180", "--duration", "2s", "--stats", "none")
	if code != exitRemote || !strings.Contains(stderr, "refused by the test") {
		t.Errorf("exit %d, want %d with the server's refusal:\n%s", code, exitRemote, stderr)
	}
	select {
	case got := <-asked:
		if got != streamKey {
			t.Errorf("the server was asked for a key of %d bytes, not the keyring's", len(got))
		}
	default:
		t.Error("the server was never asked to publish")
	}

	_, stderr, code = runTally(t, 60*time.Second, nil, "stream", "--key-entry", "tally-test-none", "--url", url, "--duration", "1s")
	if code != exitSettings || !strings.Contains(stderr, `no entry "tally-test-none"`) {
		t.Errorf("a missing entry: exit %d, want %d:\n%s", code, exitSettings, stderr)
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
