package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
)

// Enhanced RTMP (issue 20): HEVC and AV1, several tracks in one connection,
// an output per destination, and the fallback to H.264 where a server takes
// no more. Recordings with the newer codecs are read with FFmpeg 8's own
// programs; Debian's 5.1 knows no Enhanced RTMP.

// waitFFmpeg waits for FFmpeg's listener to finish its file.
func waitFFmpeg(t *testing.T, srv *peers.FFmpegServer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// videoStreams are a probe's video streams, in file order.
func videoStreams(p *peers.Probe) []peers.ProbeStream {
	var out []peers.ProbeStream
	for _, s := range p.Streams {
		if s.Type == "video" {
			out = append(out, s)
		}
	}
	return out
}

// checkVideo judges one video stream: codec, size and about the frames
// expected (an encoder flushed at the end gives them all; the first frame
// may land a slot late on a busy machine).
func checkVideo(t *testing.T, s peers.ProbeStream, codec string, w, h, frames int) {
	t.Helper()
	t.Logf("video: %s %dx%d, %d frames", s.Codec, s.Width, s.Height, s.Frames())
	if s.Codec != codec || s.Width != w || s.Height != h {
		t.Errorf("video is %s %dx%d; want %s %dx%d", s.Codec, s.Width, s.Height, codec, w, h)
	}
	if n := s.Frames(); n < frames*93/100 || n > frames+3 {
		t.Errorf("%s %dx%d has %d frames; want about %d", codec, w, h, n, frames)
	}
}

// ffmpeg8Run is what a tally stream to FFmpeg 8's listener printed, and
// what the listener recorded.
type ffmpeg8Run struct {
	stdout, stderr string
	probe          *peers.Probe
	video          []peers.ProbeStream
}

// streamToFFmpeg8 runs tally stream with args (the key from the
// environment) to srv, and once the listener has its recording, checks that
// it holds wantVideo video streams and decodes cleanly with FFmpeg 8.
func streamToFFmpeg8(t *testing.T, srv *peers.FFmpegServer, wantVideo int, args ...string) ffmpeg8Run {
	t.Helper()
	stdout, stderr, code := runTally(t, 90*time.Second, streamKeyEnv, append([]string{"stream"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	waitFFmpeg(t, srv)
	r := ffmpeg8Run{stdout: stdout, stderr: stderr, probe: peers.ProbeFile8(t, srv.Output)}
	if r.video = videoStreams(r.probe); len(r.video) != wantVideo {
		t.Fatalf("%d video streams arrived; want %d", len(r.video), wantVideo)
	}
	if e := peers.DecodeErrors8(t, srv.Output); e != "" {
		t.Errorf("decoding: %s", e)
	}
	return r
}

func TestStreamHEVCAndAV1ReachFFmpeg8sListener(t *testing.T) {
	for _, tc := range []struct{ encoder, codec string }{{"libx265", "hevc"}, {"libsvtav1", "av1"}} {
		t.Run(tc.codec, func(t *testing.T) {
			srv := peers.StartFFmpeg8Server(t, "live", streamKey, "flv")
			r := streamToFFmpeg8(t, srv, 1, "--url", srv.URL("live"),
				"--assume-enhanced", "--encoder", tc.encoder, "--preset", "ultrafast", "--size", "640x360",
				"--vbitrate", "1M", "--duration", "4s", "--stats", "json")
			checkVideo(t, r.video[0], tc.codec, 640, 360, 120)
			if a := r.probe.Stream("audio"); a == nil || a.Codec != "aac" {
				t.Errorf("audio: %+v; want aac", a)
			}
			if st := lastStats(t, r.stdout); st.Fallbacks != 0 {
				t.Errorf("%d fallbacks to a listener told to take %s", st.Fallbacks, tc.codec)
			}
		})
	}
}

// FFmpeg's listener takes a single connection and states no Enhanced RTMP
// support. Without --assume-enhanced, HEVC falls back to H.264, published on
// the very connection that asked: asking does not use the listener up.
func TestStreamHEVCFallsBackToH264OnFFmpeg8sSingleConnection(t *testing.T) {
	srv := peers.StartFFmpeg8Server(t, "live", streamKey, "flv")
	r := streamToFFmpeg8(t, srv, 1, "--url", srv.URL("live"),
		"--encoder", "libx265", "--size", "640x360", "--vbitrate", "1M", "--duration", "4s", "--stats", "json")
	checkVideo(t, r.video[0], "h264", 640, 360, 120)
	if st := lastStats(t, r.stdout); st.Fallbacks != 1 {
		t.Errorf("%d fallbacks; want 1", st.Fallbacks)
	}
	if !strings.Contains(r.stderr, "states no Enhanced RTMP support") {
		t.Errorf("the fallback is not explained:\n%s", r.stderr)
	}
}

func TestStreamTwoTracksArriveAsTwoTracksWithAlignedKeyframes(t *testing.T) {
	srv := peers.StartFFmpeg8Server(t, "live", streamKey, "flv")
	file := writeDestinations(t, fmt.Sprintf(`{"destinations": [{"url": %q, "key_env": "TALLY_STREAM_KEY",
		"assume_enhanced": true, "video": [{"size": "640x360", "bitrate": "1M"}, {"size": "320x180", "fps": 15, "bitrate": "300k"}]}]}`,
		srv.URL("live")))
	vs := streamToFFmpeg8(t, srv, 2, "--size", "640x360", "--destinations", file, "--duration", "4s", "--stats", "none").video
	checkVideo(t, vs[0], "h264", 640, 360, 120)
	checkVideo(t, vs[1], "h264", 320, 180, 60)
	k0, k1 := peers.KeyframeTimes8(t, srv.Output, 0), peers.KeyframeTimes8(t, srv.Output, 1)
	if len(k0) < 2 || len(k0) != len(k1) {
		t.Fatalf("keyframes at %v and %v; want the same count, at least 2", k0, k1)
	}
	for i := range k0 {
		if math.Abs(k0[i]-k1[i]) > 0.002 {
			t.Errorf("keyframe %d at %.3f s on track 0, %.3f s on track 1", i, k0[i], k1[i])
		}
	}
}

func TestStreamTwoDestinationsGetTheirOwnOutputs(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})
	srv := peers.StartFFmpeg8Server(t, "live", streamKey, "flv")
	file := writeDestinations(t, fmt.Sprintf(`{"destinations": [
		{"url": %q, "key_env": "TALLY_STREAM_KEY", "video": [{"size": "640x360", "bitrate": "1M"}]},
		{"url": %q, "key_env": "TALLY_STREAM_KEY", "assume_enhanced": true,
		 "video": [{"encoder": "libx265", "speed": "ultrafast", "size": "320x180", "fps": 15, "bitrate": "400k"}]}]}`,
		ng.URL(), srv.URL("live")))
	stdout, stderr, code := runTally(t, 90*time.Second, streamKeyEnv, "stream", "--size", "1280x720", "--destinations", file,
		"--duration", "4s", "--stats", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	waitFFmpeg(t, srv)
	waitFor(t, ng.Unpublished)
	time.Sleep(300 * time.Millisecond)
	checkVideo(t, *peers.ProbeFile(t, ng.Recording(streamKey)).Stream("video"), "h264", 640, 360, 120)
	checkVideo(t, *peers.ProbeFile8(t, srv.Output).Stream("video"), "hevc", 320, 180, 60)
	for _, path := range []string{ng.Recording(streamKey), srv.Output} {
		if e := peers.DecodeErrors8(t, path); e != "" {
			t.Errorf("decoding %s: %s", filepath.Base(path), e)
		}
	}
	st := lastStats(t, stdout)
	if len(st.Destinations) != 2 || !strings.Contains(st.Destinations[0].Output, "H.264 640x360") ||
		!strings.Contains(st.Destinations[1].Output, "HEVC 320x180 15 fps") {
		t.Errorf("stats show the outputs as %+v", st.Destinations)
	}
}

func TestStreamFallsBackToH264WhereTheServerTakesNoMore(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})
	stdout, stderr, code := runTally(t, 90*time.Second, streamKeyEnv, "stream", "--url", ng.URL(), "--encoder", "libx265",
		"--size", "640x360", "--duration", "4s", "--stats", "json", "--log-level", "warn")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	waitFor(t, ng.Unpublished)
	time.Sleep(300 * time.Millisecond)
	p := peers.ProbeFile(t, ng.Recording(streamKey))
	checkVideo(t, *p.Stream("video"), "h264", 640, 360, 120)
	if e := peers.DecodeErrors(t, ng.Recording(streamKey)); e != "" {
		t.Errorf("decoding: %s", e)
	}
	st := lastStats(t, stdout)
	if st.Fallbacks != 1 || len(st.Destinations) != 1 || !strings.Contains(st.Destinations[0].Fallback, "HEVC") ||
		!strings.HasPrefix(st.Destinations[0].Output, "H.264") {
		t.Errorf("stats: %d fallbacks, destinations %+v; want one fallback from HEVC to H.264", st.Fallbacks, st.Destinations)
	}
	if !strings.Contains(stderr, "falls back") {
		t.Errorf("the fallback was not logged: %s", stderr)
	}
}

func TestStreamDestinationsBadInputGivesClearErrors(t *testing.T) {
	dest := func(video string) string {
		return `{"destinations": [{"url": "rtmp://127.0.0.1:1/live", "key_env": "TALLY_STREAM_KEY", "video": [` + video + `]}]}`
	}
	for _, tc := range []struct {
		file, want string
	}{
		{dest(`{"encoder": "libvvenc"}`), `video encoder "libvvenc" is not in this FFmpeg build`},
		{dest(`{"size": "1920x1080"}`), "larger than the 1280x720 canvas"},
		{dest(`{"size": "641x360"}`), "even width and height for 4:2:0"},
		{dest(`{"fps": 25}`), "must divide the canvas's 30 fps"},
		{dest(`{"size": "640x360"}, {"size": "320x180", "keyint": "1s"}`), "keyframe interval 1s differs from track 0's 2s"},
		{dest(`{"keyint": "0.5s", "fps": 15}, {"size": "320x180", "fps": 15, "keyint": "0.5s"}`), "a keyframe every 500ms is not a whole number of frames at 15 fps"},
		{`{"destinations": [{"service": "youtube", "key_env": "TALLY_STREAM_KEY", "video": [{"encoder": "libx265", "bitrate": "20M"}]}]}`,
			"YouTube takes HEVC at 720p30 between 3000 and 8000 kb/s; 20000 kb/s is set"},
		{`{"destinations": [{"url": "rtmp://h/live", "key_env": "TALLY_STREAM_KEY", "dynamic_bitrate": true, "video": [{"encoder": "libx265"}]}]}`,
			"dynamic bitrate needs H.264; HEVC keeps the rate it opened with"},
		{`{"destinations": [{"url": "rtmp://h/live", "key": "7700112233"}]}`, "a key is not kept in the file"},
		{`{"destinations": [{"url": "rtmp://h/live", "key_env": "NO_SUCH_VARIABLE_HERE"}]}`, "the environment has no NO_SUCH_VARIABLE_HERE"},
		{`{"destinations": [{"url": "rtmp://h/live", "output": "myspace-8k"}]}`, `no preset "myspace-8k"`},
		{`{"destinations": [{"url": "rtmp://h/live", "colour": "red"}]}`, `unknown field "colour"`},
		{"{\n\"destinations\": [\n{,}]}", ":3: invalid character"},
	} {
		file := writeDestinations(t, tc.file)
		t.Setenv("TALLY_STREAM_KEY", streamKey)
		var out, errOut bytes.Buffer
		code := run([]string{"stream", "--destinations", file, "--duration", "1s"}, &out, &errOut)
		if code != exitSettings || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", tc.file, code, firstLine(errOut.String()), exitSettings, tc.want)
		}
		if strings.Contains(out.String()+errOut.String(), "7700112233") {
			t.Errorf("%s: the key leaked", tc.file)
		}
	}
}

// writeDestinations writes a destinations file for the test.
func writeDestinations(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "destinations.json")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// streamStats is the part of `--stats json` these tests read.
type streamStats struct {
	Fallbacks    uint64 `json:"fallbacks"`
	Destinations []struct {
		Output   string `json:"output"`
		Fallback string `json:"fallback"`
	} `json:"destinations"`
}

// lastStats is the last JSON stats line tally printed.
func lastStats(t *testing.T, stdout string) streamStats {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		var st streamStats
		if json.Unmarshal([]byte(lines[i]), &st) == nil && len(st.Destinations) > 0 {
			return st
		}
	}
	t.Fatalf("no stats with destinations in %q", stdout)
	return streamStats{}
}
