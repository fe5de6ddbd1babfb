package peers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// FixtureFLV makes (once per test binary) a short H.264/AAC FLV with FFmpeg's
// test sources: 30 fps colour bars with B-frames and a 2 s GOP, and a 440 Hz tone.
// Tests publish its tags, so that what Tally sends is real encoder output.
func FixtureFLV(t testing.TB, seconds int) string {
	t.Helper()
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	name := fmt.Sprintf("tally-fixture-%ds-%d.flv", seconds, os.Getpid())
	path := filepath.Join(os.TempDir(), name)
	if _, err := os.Stat(path); err == nil {
		return path
	}
	bin := Require(t, "ffmpeg")
	args := []string{"-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", strconv.Itoa(seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "fastdecode", "-g", "60", "-bf", "2", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "96k", "-ac", "2",
		"-f", "flv", path + ".tmp"}
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg fixture: %v\n%s", err, out)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	fixtures = append(fixtures, path)
	return path
}

var (
	fixtureMu sync.Mutex
	fixtures  []string
)

// Main runs a package's tests and deletes the fixtures they made: a
// TestMain for packages that need nothing else.
func Main(m *testing.M) {
	code := m.Run()
	RemoveFixtures()
	os.Exit(code)
}

// RemoveFixtures deletes the fixtures this process made; call it from TestMain.
func RemoveFixtures() {
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	for _, f := range fixtures {
		os.Remove(f)
	}
	fixtures = nil
}

// Probe is what ffprobe says about a media file.
type Probe struct {
	Streams []ProbeStream `json:"streams"`
	Format  struct {
		Duration string `json:"duration"`
		Format   string `json:"format_name"`
	} `json:"format"`
}

// ProbeStream is one stream of a Probe.
type ProbeStream struct {
	Type         string `json:"codec_type"`
	Codec        string `json:"codec_name"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	SampleRate   string `json:"sample_rate"`
	Channels     int    `json:"channels"`
	FrameRate    string `json:"avg_frame_rate"`
	ReadFrames   string `json:"nb_read_frames"`
	ReadPackets  string `json:"nb_read_packets"`
	Duration     string `json:"duration"`
	PixelFormat  string `json:"pix_fmt"`
	ProfileName  string `json:"profile"`
	BitRate      string `json:"bit_rate"`
	CodecTagName string `json:"codec_tag_string"`
}

// Stream returns the first stream of a type ("video", "audio"), or nil.
func (p *Probe) Stream(typ string) *ProbeStream {
	for i := range p.Streams {
		if p.Streams[i].Type == typ {
			return &p.Streams[i]
		}
	}
	return nil
}

// Frames is the number of frames ffprobe decoded.
func (s *ProbeStream) Frames() int { n, _ := strconv.Atoi(s.ReadFrames); return n }

// ProbeFile runs ffprobe, counting frames by decoding them.
func ProbeFile(t testing.TB, path string) *Probe {
	t.Helper()
	return probeWith(t, Require(t, "ffprobe"), path)
}

// ProbeFile8 is ProbeFile with FFmpeg 8's own ffprobe, which reads Enhanced
// RTMP's FLV (HEVC, AV1, several video tracks).
func ProbeFile8(t testing.TB, path string) *Probe {
	t.Helper()
	return probeWith(t, Require8(t, "ffprobe"), path)
}

func probeWith(t testing.TB, bin, path string) *Probe {
	t.Helper()
	out, err := exec.Command(bin, "-v", "error", "-count_frames", "-show_streams", "-show_format", "-of", "json", path).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("ffprobe %s: %v %s", path, err, stderr)
	}
	var p Probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	return &p
}

// PacketTimes returns the DTS (seconds) of every packet of one stream, in file order.
func PacketTimes(t testing.TB, path, stream string) []float64 {
	t.Helper()
	out, err := exec.Command(Require(t, "ffprobe"), "-v", "error", "-select_streams", stream,
		"-show_entries", "packet=dts_time,flags", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe packets of %s: %v", path, err)
	}
	var ts []float64
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, ",")
		if v, err := strconv.ParseFloat(f[0], 64); err == nil {
			ts = append(ts, v)
		}
	}
	return ts
}

// DecodeErrors decodes the whole file with `ffmpeg -v error -i FILE -f null -`
// and returns what the decoders and demuxer reported; empty means it decodes
// cleanly. Lines from the null muxer itself are left out: FFmpeg 5.1 rescales
// FLV's millisecond times into a 1/fps time base there and complains of its own
// rounding. Timestamp order is checked separately, from ffprobe's packet times.
func DecodeErrors(t testing.TB, path string) string {
	t.Helper()
	return decodeErrorsWith(t, Require(t, "ffmpeg"), path)
}

// DecodeErrors8 is DecodeErrors with FFmpeg 8's own ffmpeg, every stream
// of the file decoded (-map 0: several video tracks, not just the first).
func DecodeErrors8(t testing.TB, path string) string {
	t.Helper()
	return decodeErrorsWith(t, Require8(t, "ffmpeg"), path, "-map", "0")
}

func decodeErrorsWith(t testing.TB, bin, path string, opts ...string) string {
	t.Helper()
	args := append([]string{"-v", "error", "-i", path}, opts...)
	cmd := exec.Command(bin, append(args, "-f", "null", "-")...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	var kept []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line != "" && !strings.HasPrefix(line, "[null @") {
			kept = append(kept, line)
		}
	}
	if err != nil {
		kept = append(kept, fmt.Sprintf("ffmpeg exited with %v", err))
	}
	return strings.Join(kept, "\n")
}

// FFmpegServer is FFmpeg's command line as an RTMP server in listen mode,
// copying what it receives into a file: an independent implementation to publish to.
type FFmpegServer struct {
	Port   int
	Output string
	cmd    *exec.Cmd
	done   chan error
	log    *testLog
}

// StartFFmpegServer starts `ffmpeg -listen 1 -i rtmp://127.0.0.1:PORT/app/key -c copy out.flv`.
func StartFFmpegServer(t testing.TB, app, key string) *FFmpegServer {
	t.Helper()
	return startFFmpegServer(t, Require(t, "ffmpeg"), app, key, "flv", false)
}

// StartFFmpeg8Server is StartFFmpegServer with FFmpeg 8's own ffmpeg, which
// takes Enhanced RTMP. It keeps every stream it receives (-map 0: each video
// track of a multitrack stream) in a file of the container ext names (flv, mkv).
func StartFFmpeg8Server(t testing.TB, app, key, ext string) *FFmpegServer {
	t.Helper()
	return startFFmpegServer(t, Require8(t, "ffmpeg"), app, key, ext, true)
}

func startFFmpegServer(t testing.TB, bin, app, key, ext string, all bool) *FFmpegServer {
	t.Helper()
	s := &FFmpegServer{Port: FreePort(t), Output: filepath.Join(t.TempDir(), "ffmpeg-received."+ext), done: make(chan error, 1)}
	url := fmt.Sprintf("rtmp://127.0.0.1:%d/%s/%s", s.Port, app, key)
	s.log = newTestLog(t, "ffmpeg server")
	args := []string{"-v", "info", "-y", "-listen", "1", "-timeout", "20", "-i", url, "-c", "copy"}
	if all {
		// FFmpeg finds a multitrack stream's later tracks as their packets
		// arrive: let it look long enough, and keep all of them.
		args = []string{"-v", "info", "-y", "-listen", "1", "-timeout", "20", "-analyzeduration", "3M",
			"-i", url, "-map", "0", "-c", "copy"}
	}
	s.cmd = exec.Command(bin, append(args, s.Output)...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.done
	})
	// FFmpeg's listen mode takes exactly one connection, so probing by connecting
	// would use it up: watch for the listening socket instead.
	waitListenSocket(t, s.Port, 10*time.Second)
	return s
}

// waitListenSocket waits until a socket listens on the port, without connecting
// to it, by reading the kernel's socket table.
func waitListenSocket(t testing.TB, port int, within time.Duration) {
	t.Helper()
	want := fmt.Sprintf(":%04X ", port)
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
			b, _ := os.ReadFile(table)
			for _, line := range strings.Split(string(b), "\n") {
				f := strings.Fields(line)
				// local_address is field 1, st (state) field 3; 0A is LISTEN.
				if len(f) > 3 && strings.HasSuffix(f[1]+" ", want) && f[3] == "0A" {
					return
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on port %d after %v", port, within)
}

// URL is the server's application URL (the key is given separately).
func (s *FFmpegServer) URL(app string) string {
	return fmt.Sprintf("rtmp://127.0.0.1:%d/%s", s.Port, app)
}

// Wait waits for FFmpeg to finish writing (it exits when the publisher leaves).
func (s *FFmpegServer) Wait(ctx context.Context) error {
	select {
	case err := <-s.done:
		s.done <- err
		return err
	case <-ctx.Done():
		return fmt.Errorf("ffmpeg server did not finish: %w\n%s", ctx.Err(), s.log.String())
	}
}
