package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tallystudio/tally/app"
	"github.com/tallystudio/tally/internal/peers"
	"github.com/tallystudio/tally/internal/raceflag"
)

const streamKey = "live_7700112233_e2esecret_k4"

// streamKeyEnv gives tally the stream key the only way it takes one on the
// command line's side: the environment, which no process list shows.
var streamKeyEnv = []string{"TALLY_STREAM_KEY=" + streamKey}

// runTally runs the test binary as `tally args...` and returns its output and exit code.
func runTally(t *testing.T, timeout time.Duration, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := tallyCommand(ctx, args...)
	cmd.Env = append(cmd.Env, env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("tally %v: %v", args, err)
	}
	if strings.Contains(o.String()+e.String(), "7700112233") {
		t.Errorf("tally %v printed the stream key", args)
	}
	return o.String(), e.String(), code
}

// checkStream judges a recording of `tally stream` as checkRecording does,
// and its sync: every flash has its beep within a frame.
func checkStream(t *testing.T, path string, w, h, frames int, keyint float64) {
	t.Helper()
	worst := 0.0
	for _, p := range checkRecording(t, path, w, h, frames, keyint) {
		worst = math.Max(worst, math.Abs(p.offset))
	}
	if worst > 1.0/30 {
		t.Errorf("flash and beep up to %.0f ms apart, more than one frame", worst*1000)
	}
	t.Logf("worst flash/beep offset %.0f ms", worst*1000)
}

// checkRecording judges a recording of `tally stream` of the test pattern
// and tone: codecs, size, frame count, keyframe spacing, continuous audio
// and clean decode. It returns each flash paired with its beep, for the
// caller to judge their sync.
func checkRecording(t *testing.T, path string, w, h, frames int, keyint float64) []syncPoint {
	t.Helper()
	pr := peers.ProbeFile(t, path)
	v, a := pr.Stream("video"), pr.Stream("audio")
	if v == nil || a == nil {
		t.Fatalf("recording lacks a track: %+v", pr.Streams)
	}
	if v.Codec != "h264" || v.Width != w || v.Height != h {
		t.Errorf("video %s %dx%d, want h264 %dx%d", v.Codec, v.Width, v.Height, w, h)
	}
	if n := v.Frames(); n < frames-3 || n > frames+3 {
		t.Errorf("%d video frames, want %d±3", n, frames)
	}
	if a.Codec != "aac" {
		t.Errorf("audio codec %s", a.Codec)
	}
	keys := peers.KeyframeTimes(t, path)
	for i := 1; i < len(keys); i++ {
		if d := keys[i] - keys[i-1]; math.Abs(d-keyint) > 0.04 {
			t.Errorf("keyframes %.3f s apart at %.3f s, want %.1f s", d, keys[i], keyint)
		}
	}
	if want := int(float64(frames)/30/keyint) - 1; len(keys) < want {
		t.Errorf("%d keyframes, want at least %d", len(keys), want)
	}
	at := peers.PacketTimes(t, path, "a:0")
	for i := 1; i < len(at); i++ {
		if d := at[i] - at[i-1]; d > 0.03 || d < 0 {
			t.Errorf("audio gap of %.3f s at %.3f s", d, at[i])
			break
		}
	}
	if errs := peers.DecodeErrors(t, path); errs != "" {
		t.Errorf("recording does not decode cleanly: %s", errs)
	}
	flashes, beeps := peers.FlashTimes(t, path), peers.BeepTimes(t, path)
	if len(flashes) < frames/30-2 || len(beeps) < frames/30-2 {
		t.Fatalf("found %d flashes and %d beeps in %d frames", len(flashes), len(beeps), frames)
	}
	pairs := pairFlashesAndBeeps(flashes, beeps, at)
	t.Logf("%d frames, %d keyframes, %d flash/beep pairs", v.Frames(), len(keys), len(pairs))
	return pairs
}

// syncPoints pairs the flashes and beeps of a recording of the test
// pattern and tone, judging nothing else.
func syncPoints(t *testing.T, path string) []syncPoint {
	t.Helper()
	return pairFlashesAndBeeps(peers.FlashTimes(t, path), peers.BeepTimes(t, path), peers.PacketTimes(t, path, "a:0"))
}

// syncPoint is a flash of the test pattern in a recording, and where the
// nearest beep is from it: beep − flash, s (positive: the sound is late).
type syncPoint struct{ flash, offset float64 }

// pairFlashesAndBeeps pairs each flash with its nearest beep, given the
// audio packets' times. It judges only flashes with audio around them: a
// beep at the very start has no silence before it for silencedetect to end,
// and at the very end the tracks stop a few frames apart, and a scene's
// sources stop a few blocks before the mix does (its last 0.2 s are silent).
func pairFlashesAndBeeps(flashes, beeps, audio []float64) []syncPoint {
	var out []syncPoint
	for _, f := range flashes {
		if len(audio) == 0 || f < audio[0]+0.15 || f > audio[len(audio)-1]-0.5 {
			continue
		}
		p := syncPoint{flash: f, offset: math.Inf(1)}
		for _, b := range beeps {
			if math.Abs(b-f) < math.Abs(p.offset) {
				p.offset = b - f
			}
		}
		out = append(out, p)
	}
	return out
}

func TestStreamToNginxTenSecondsAt720p30(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})
	stdout, stderr, code := runTally(t, 60*time.Second, []string{"TALLY_STREAM_KEY=" + streamKey},
		"stream", "--url", ng.URL(), "--video", "testpattern", "--audio", "tone", "--size", "1280x720",
		"--fps", "30", "--keyint", "2s", "--duration", "10s", "--stats", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// One JSON object a second, with the fields the issue names.
	var last app.Stats
	lines := 0
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var raw map[string]any
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("stats line is not JSON: %q", sc.Text())
		}
		for _, k := range []string{"t", "state", "fps", "video_kbps", "audio_kbps", "sent_kbps", "queue_ms", "frames_sent",
			"dropped_network", "skipped_encoding", "repeated_capture", "reconnects", "cpu_percent"} {
			if _, ok := raw[k]; !ok {
				t.Fatalf("stats line lacks %q: %s", k, sc.Text())
			}
		}
		_ = json.Unmarshal(sc.Bytes(), &last)
		lines++
	}
	if lines < 8 || last.FPS < 28 || last.SentKbps < 3000 || last.DroppedNetwork != 0 {
		t.Errorf("%d stats lines, last %+v", lines, last)
	}
	rec := ng.Recording(streamKey)
	waitFor(t, ng.Unpublished)
	time.Sleep(300 * time.Millisecond)
	checkStream(t, rec, 1280, 720, 300, 2)
}

func TestStreamOverRTMPSAndToFFmpegServer(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true, TLS: true})
	_, stderr, code := runTally(t, 60*time.Second, streamKeyEnv, "stream", "--url", ng.TLSURL(),
		"--ca-file", ng.CAFile, "--size", "640x360", "--duration", "4s", "--stats", "none")
	if code != 0 {
		t.Fatalf("rtmps: exit %d: %s", code, stderr)
	}
	waitFor(t, ng.Unpublished)
	time.Sleep(300 * time.Millisecond)
	checkStream(t, ng.Recording(streamKey), 640, 360, 120, 2)

	srv := peers.StartFFmpegServer(t, "live", streamKey)
	_, stderr, code = runTally(t, 60*time.Second, streamKeyEnv, "stream", "--url", srv.URL("live"),
		"--size", "640x360", "--duration", "4s", "--stats", "none")
	if code != 0 {
		t.Fatalf("ffmpeg server: exit %d: %s", code, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	checkStream(t, srv.Output, 640, 360, 120, 2)
}

// The recording is complete even when the destination never answers.
func TestRecordingSurvivesUnreachableDestination(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "show.mp4")
	dead := "rtmp://127.0.0.1:" + strconv.Itoa(peers.FreePort(t)) + "/live"
	_, stderr, code := runTally(t, 60*time.Second, streamKeyEnv, "stream", "--url", dead,
		"--size", "640x360", "--duration", "4s", "--record", rec, "--stats", "none")
	if code != exitRemote || !strings.Contains(stderr, "connection refused") {
		t.Errorf("exit %d, want %d with the connection error: %s", code, exitRemote, stderr)
	}
	checkStream(t, rec, 640, 360, 120, 2)
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !ok(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// Every kind of bad input gets its own clear message and exit code; nothing panics.
// The key, where a case needs one, is in TALLY_STREAM_KEY, as tally takes it.
func TestStreamBadInputsGiveClearErrors(t *testing.T) {
	earlier := filepath.Join(t.TempDir(), "show.flv")
	if err := os.WriteFile(earlier, []byte("FLV"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key  string
		args []string
		code int
		want string
	}{
		{streamKey, []string{"--url", "http://youtube.com/live2"}, exitSettings, "web address"},
		{streamKey, []string{"--url", "rtmp://host:70000/live"}, exitSettings, `port "70000"`},
		{streamKey, []string{"--url", "ftp://host/live"}, exitSettings, `unknown scheme "ftp"`},
		{"", []string{"--url", "rtmp://host/live"}, exitSettings, "no stream key"},
		{"abc def", []string{"--url", "rtmp://host/live"}, exitSettings, "space or control character"},
		{streamKey, []string{"--service", "facebook", "--url", "rtmp://live-api-s.facebook.com/rtmp/"}, exitSettings, "only accepts rtmps://"},
		{streamKey, []string{"--service", "myspace"}, exitSettings, `unknown service "myspace"`},
		{"", []string{"--size", "1280"}, exitSettings, "WIDTHxHEIGHT"},
		{"", []string{"--size", "1281x720"}, exitSettings, "even width and height"},
		{"", []string{"--size", "99999x720"}, exitSettings, "out of range"},
		{"", []string{"--fps", "0"}, exitSettings, "frame rate 0"},
		{"", []string{"--vbitrate", "fast"}, exitSettings, "not a bitrate"},
		{"", []string{"--vbitrate", "10k"}, exitSettings, "video bitrate 10 kb/s"},
		{"", []string{"--abitrate", "9000k"}, exitSettings, "audio bitrate 9000 kb/s"},
		{"", []string{"--samplerate", "22050"}, exitSettings, "use 44100 or 48000"},
		{"", []string{"--keyint", "soon"}, exitSettings, "not a duration"},
		{"", []string{"--record", "out.avi"}, exitSettings, ".flv, .mp4 or .mkv"},
		{"", []string{"--record", earlier}, exitSettings, earlier + " is already there"},
		{"", []string{"--video", "none", "--audio", "none"}, exitSettings, "nothing to stream"},
		{"", []string{"--video", "camera:Nonexistent Cam", "--duration", "1s"}, exitDevice, `no camera matching "Nonexistent Cam"`},
		{"", []string{"--audio", "mic:Nope", "--duration", "1s"}, exitDevice, `no microphone matching "Nope"`},
		{"", []string{"--video", "hologram", "--duration", "1s"}, exitDevice, `unknown source "hologram"`},
		{"", []string{"--encoder", "h264_imaginary", "--duration", "1s"}, exitDevice, "h264_imaginary is not in this FFmpeg build"},
		{"", []string{"--stats", "xml"}, exitUsage, "--stats must be json"},
		{"", []string{"--log-level", "loud"}, exitUsage, "--log-level must be debug"},
		{"", []string{"--frobnicate"}, exitUsage, "flag provided but not defined"},
		{"", []string{"--key", streamKey}, exitUsage, "set the TALLY_STREAM_KEY environment variable"},
	} {
		t.Setenv("TALLY_STREAM_KEY", tc.key)
		var out, errOut bytes.Buffer
		code := run(append([]string{"stream"}, tc.args...), &out, &errOut)
		if code != tc.code || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args, code, firstLine(errOut.String()), tc.code, tc.want)
		}
		if strings.Contains(out.String()+errOut.String(), "7700112233") {
			t.Errorf("%v: the key leaked", tc.args)
		}
	}
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "tally stream:") {
			return l
		}
	}
	return s
}

func TestDevicesListsBuiltInSourcesAndWorkingEncoders(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"devices"}, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"--video testpattern", "--audio tone", "h264  libx264", "aac   aac"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("devices output lacks %q:\n%s", want, out.String())
		}
	}
	// No GPU here: the VAAPI encoders are compiled in but must not be offered.
	if strings.Contains(out.String(), "h264_vaapi") {
		t.Errorf("an encoder that cannot open is listed:\n%s", out.String())
	}
}

// Ctrl-C unpublishes (deleteStream reaches the server before the disconnect) and
// finishes the recording.
func TestSIGINTStopsCleanly(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})
	rec := filepath.Join(t.TempDir(), "show.mkv")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := tallyCommand(ctx, "stream", "--url", ng.URL(), "--size", "640x360", "--record", rec, "--stats", "none")
	cmd.Env = append(cmd.Env, streamKeyEnv...)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(ng.ErrorLog(), "publish: name=") })
	time.Sleep(3 * time.Second)
	_ = cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGINT: %v\n%s", err, errOut.String())
	}
	log := ng.PublisherLog()
	del, disc := strings.Index(log, "deleteStream"), strings.LastIndex(log, "disconnect")
	if del < 0 || disc < 0 || del > disc {
		t.Errorf("no deleteStream before the disconnect:\n%s", log)
	}
	pr := peers.ProbeFile(t, rec)
	if v := pr.Stream("video"); v == nil || v.Frames() < 80 {
		t.Fatalf("recording after SIGINT: %+v", pr.Streams)
	}
	if errs := peers.DecodeErrors(t, rec); errs != "" {
		t.Errorf("recording after SIGINT does not decode cleanly: %s", errs)
	}
}

// A media file made by FFmpeg plays through to nginx: the recording has the
// file's duration and frame count.
func TestStreamFileSourceKeepsDurationAndFrames(t *testing.T) {
	src := filepath.Join(t.TempDir(), "source.mp4")
	if out, err := exec.Command(peers.Require(t, "ffmpeg"), "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=300:sample_rate=44100", "-t", "6", "-c:v", "libx264", "-preset", "ultrafast",
		"-c:a", "aac", src).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})
	_, stderr, code := runTally(t, 60*time.Second, streamKeyEnv, "stream", "--url", ng.URL(),
		"--video", "file:"+src, "--audio", "file", "--size", "640x360", "--fps", "30", "--stats", "none")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	waitFor(t, ng.Unpublished)
	time.Sleep(300 * time.Millisecond)
	rec := ng.Recording(streamKey)
	pr := peers.ProbeFile(t, rec)
	v, a := pr.Stream("video"), pr.Stream("audio")
	if v == nil || a == nil {
		t.Fatalf("recording: %+v", pr.Streams)
	}
	if n := v.Frames(); n < 177 || n > 183 {
		t.Errorf("%d frames from a 180-frame file", n)
	}
	vt, at := peers.PacketTimes(t, rec, "v:0"), peers.PacketTimes(t, rec, "a:0")
	if d := vt[len(vt)-1] - vt[0]; d < 5.8 || d > 6.1 {
		t.Errorf("video spans %.2f s of a 6 s file", d)
	}
	if d := at[len(at)-1] - at[0]; d < 5.8 || d > 6.2 {
		t.Errorf("audio spans %.2f s of a 6 s file", d)
	}
	if errs := peers.DecodeErrors(t, rec); errs != "" {
		t.Errorf("recording does not decode cleanly: %s", errs)
	}
}

// A media file's picture and sound stay in step through Tally: a file
// recorded from the test pattern and tone, streamed as a file source, gives a
// recording whose flashes and beeps are as far apart as the file's own, within
// a frame (the file source hands on its sound in larger pieces than the
// decoder makes). The file's own offset, up to a frame itself, is not the file
// source's doing: two passes could add up to more than a frame.
func TestStreamFileSourceKeepsPictureAndSoundInStep(t *testing.T) {
	src := filepath.Join(t.TempDir(), "pattern.mp4")
	if _, stderr, code := runTally(t, 60*time.Second, nil, "stream", "--video", "testpattern", "--audio", "tone",
		"--size", "640x360", "--duration", "6s", "--record", src, "--stats", "none"); code != 0 {
		t.Fatalf("recording the source: exit %d: %s", code, stderr)
	}
	frames := peers.ProbeFile(t, src).Stream("video").Frames()
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})
	if _, stderr, code := runTally(t, 60*time.Second, streamKeyEnv, "stream", "--url", ng.URL(),
		"--video", "file:"+src, "--audio", "file", "--size", "640x360", "--keyint", "2s", "--stats", "none"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	waitFor(t, ng.Unpublished)
	time.Sleep(300 * time.Millisecond)
	var own []float64
	for _, p := range syncPoints(t, src) {
		own = append(own, p.offset)
	}
	if len(own) == 0 {
		t.Fatal("no flash/beep pairs in the source file")
	}
	slices.Sort(own)
	base, worst := own[len(own)/2], 0.0
	for _, p := range checkRecording(t, ng.Recording(streamKey), 640, 360, frames, 2) {
		worst = math.Max(worst, math.Abs(p.offset-base))
	}
	t.Logf("the file's own flash/beep offset %.0f ms (median of %v); the stream's differ from it by up to %.0f ms", base*1000, own, worst*1000)
	if worst > 1.0/30 {
		t.Errorf("the stream's flashes and beeps differ from the file's by up to %.0f ms, more than a frame", worst*1000)
	}
}

// Screen capture for real: an X server's screen (RGBA from the X11 driver) is
// scaled and converted once, encoded and streamed to the built-in ingest.
// It once stalled for 1–2 s at start when packages' tests ran side by side on
// 2 cores; with one package at a time (make test) it passes, also beside two
// busy loops.
func TestStreamScreenUnderXvfb(t *testing.T) {
	x := peers.StartXvfb(t)
	stdout, stderr, code := runTally(t, 60*time.Second, []string{"DISPLAY=" + x.Display},
		"stream", "--video", "screen:0", "--audio", "none", "--size", "640x360", "--duration", "3s", "--stats", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "video: h264 640x360") || strings.Contains(stderr, "problem:") {
		t.Fatalf("ingest report:\n%s\nstats:\n%s", stderr, stdout)
	}
	m := regexp.MustCompile(`(\d+) frames`).FindStringSubmatch(stderr)
	if n, _ := strconv.Atoi(m[1]); n < 85 {
		t.Errorf("%d frames in 3 s at 30 fps", n)
	}
}

// The microphone path for real, through miniaudio and ALSA: the only capture
// device here is ALSA's null device, which is not clocked and hands out silence
// as fast as it is asked. The stream must still keep real time.
func TestStreamMicrophoneKeepsRealTime(t *testing.T) {
	_, stderr, code := runTally(t, 60*time.Second, nil,
		"stream", "--audio", "mic", "--size", "320x180", "--duration", "3s", "--stats", "none")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m := regexp.MustCompile(`audio: aac 48000 Hz, 2 ch, (\d+) frames`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no audio in the report:\n%s", stderr)
	}
	if raceflag.Enabled {
		return // pacing is judged without the race detector
	}
	// 3 s is 141 AAC frames; half a second of slack is allowed ahead.
	if n, _ := strconv.Atoi(m[1]); n < 120 || n > 170 {
		t.Errorf("%d AAC frames in 3 s", n)
	}
	if strings.Contains(stderr, "problem:") {
		t.Errorf("report:\n%s", stderr)
	}
}
