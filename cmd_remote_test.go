package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
)

// obsWebSocketJS installs obs-websocket-js 5.0.8, pinned by the lockfile in
// remote/testdata/js, into a directory of the test's with the driver script,
// and returns that directory.
func obsWebSocketJS(t *testing.T) string {
	t.Helper()
	peers.Require(t, "node")
	npm := peers.Require(t, "npm")
	dir := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json", "drive.mjs"} {
		b, err := os.ReadFile(filepath.Join("remote", "testdata", "js", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--prefer-offline")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci obs-websocket-js: %v\n%s", err, out)
	}
	return dir
}

// colourCollection writes a collection whose scenes are one colour each,
// sceneRed and sceneBlue, with a test tone the mixer mixes.
func colourCollection(t *testing.T) string {
	t.Helper()
	doc := fmt.Sprintf(`{"version":1,"canvas":{"width":320,"height":180},
 "sources":[{"name":"red","type":"colour","colour":"#%02x%02x%02x"},{"name":"blue","type":"colour","colour":"#%02x%02x%02x"},
   {"name":"Tone","type":"tone","audio":{"global":true}}],
 "scenes":[{"name":"Red","layers":[{"source":"red"}]},{"name":"Blue","layers":[{"source":"blue"}]}]}`,
		sceneRed.R, sceneRed.G, sceneRed.B, sceneBlue.R, sceneBlue.G, sceneBlue.B)
	path := filepath.Join(t.TempDir(), "colours.json")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// maxVolume is a recording's loudest sample in dB, -inf as -200.
func maxVolume(t *testing.T, path string) float64 {
	t.Helper()
	out, err := exec.Command(peers.Require(t, "ffmpeg"), "-nostats", "-i", path, "-vn", "-af", "volumedetect", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg volumedetect: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`max_volume: (\S+) dB`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no max_volume in:\n%s", out)
	}
	if string(m[1]) == "-inf" {
		return -200
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// obs-websocket's own JavaScript client drives a headless Tally end to end:
// it is refused with MessagePack and with a wrong password, then with the
// password it mutes the tone, starts the stream, switches from the red scene
// to the blue one and stops, hearing each event. nginx's recording proves
// it: a stream that starts on red, turns blue once, lasts as long as the
// client kept it up, and is silent; and Tally stays up, idle, afterwards.
func TestRemoteControlWithObsWebSocketJSDrivesALiveStream(t *testing.T) {
	js := obsWebSocketJS(t)
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})
	port := peers.FreePort(t)
	const password = "remote-e2e-Pa55word"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := tallyCommand(ctx, "stream", "--url", ng.URL(), "--scenes", colourCollection(t), "--fps", "30",
		"--vbitrate", "800k", "--preset", "ultrafast", "--stats", "none", "--log-level", "debug",
		"--remote-listen", "127.0.0.1:"+strconv.Itoa(port), "--remote-idle")
	cmd.Env = append(cmd.Env, "TALLY_STREAM_KEY="+streamKey, "TALLY_REMOTE_PASSWORD="+password)
	var stderr lockedLog
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	peers.WaitListening(t, port, 30*time.Second)
	if _, err := os.Stat(ng.Recording(streamKey)); err == nil {
		t.Fatal("nginx records before any client asked to go live")
	}

	node := exec.CommandContext(ctx, peers.Require(t, "node"), "drive.mjs")
	node.Dir = js
	node.Env = append(os.Environ(), "TALLY_REMOTE_URL=ws://127.0.0.1:"+strconv.Itoa(port), "TALLY_REMOTE_PASSWORD="+password)
	out, err := node.Output()
	if err != nil {
		t.Fatalf("the client failed: %v\n%s\ntally:\n%s", err, out, stderr.String())
	}

	// What the client saw.
	got := map[string]json.RawMessage{}
	var states []string
	var events []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("client line %q: %v", sc.Text(), err)
		}
		for k, v := range line {
			if k == "t" {
				continue
			}
			got[k] = v
		}
		if ev, ok := line["event"]; ok {
			var name string
			_ = json.Unmarshal(ev, &name)
			events = append(events, name)
			var d struct{ OutputState string }
			_ = json.Unmarshal(line["data"], &d)
			if name == "StreamStateChanged" {
				states = append(states, d.OutputState)
			}
		}
	}
	for k, want := range map[string]string{"msgpack": "4012", "wrongPassword": "4009", "unknownRequest": "204", "done": "true"} {
		if string(got[k]) != want {
			t.Errorf("%s: %s, want %s\n%s", k, got[k], want, out)
		}
	}
	if e, ok := got["error"]; ok {
		t.Fatalf("client error %s\n%s", e, out)
	}
	want := []string{"OBS_WEBSOCKET_OUTPUT_STARTING", "OBS_WEBSOCKET_OUTPUT_STARTED", "OBS_WEBSOCKET_OUTPUT_STOPPING", "OBS_WEBSOCKET_OUTPUT_STOPPED"}
	if !slices.Equal(states, want) {
		t.Errorf("stream states %v, want %v", states, want)
	}
	for _, want := range []string{"InputMuteStateChanged", "CurrentProgramSceneChanged"} {
		if !strings.Contains(strings.Join(events, " "), want) {
			t.Errorf("no %s among %v", want, events)
		}
	}

	// What nginx recorded: the stream really started and stopped.
	waitFor(t, func() bool {
		l := ng.ErrorLog()
		at := strings.Index(l, "publish: name=")
		return at >= 0 && strings.Contains(l[at:], "deleteStream")
	})
	rec := ng.Recording(streamKey)
	time.Sleep(300 * time.Millisecond)
	pts := peers.PacketTimes(t, rec, "v:0")
	if len(pts) == 0 {
		t.Fatal("nothing recorded")
	}
	// The client kept the stream up for 6 s between STARTED and STOPPING.
	if d := pts[len(pts)-1] - pts[0]; d < 5 || d > 9 {
		t.Errorf("the recording lasts %.1f s; the client streamed for about 6 s", d)
	}
	if v := maxVolume(t, rec); v > -60 {
		t.Errorf("the muted tone is heard at %.1f dB", v)
	}
	// The scene really switched, once, from red to blue.
	var runs []string
	counts := map[string]int{}
	recordingFrames(t, rec, 320, 180, func(i int, img *image.YCbCr) bool {
		c := "other"
		if ok, _ := colourAt(img, 160, 90, sceneRed, 12); ok {
			c = "red"
		} else if ok, _ := colourAt(img, 160, 90, sceneBlue, 12); ok {
			c = "blue"
		}
		if len(runs) == 0 || runs[len(runs)-1] != c {
			runs = append(runs, c)
		}
		counts[c]++
		return true
	})
	if strings.Join(runs, ",") != "red,blue" || counts["red"] < 60 || counts["blue"] < 60 {
		t.Errorf("the recording's scenes run %v (%v frames); want red for about 3 s, then blue", runs, counts)
	}

	// Tally is still up, idle, for the next client; a signal ends it cleanly.
	if cmd.ProcessState != nil {
		t.Fatal("tally exited after the stream stopped")
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Errorf("tally stream: %v\n%s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), password) {
		t.Errorf("tally's log carries the remote control password:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "remote control on ws://127.0.0.1:"+strconv.Itoa(port)) {
		t.Errorf("tally did not say where the remote control listens:\n%s", stderr.String())
	}
}

// lockedLog collects a process's output while the test reads it.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
