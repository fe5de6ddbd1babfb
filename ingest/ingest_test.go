package ingest

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tallystudio/tally/flv"
	"github.com/tallystudio/tally/internal/peers"
	"github.com/tallystudio/tally/rtmpclient"
	"github.com/tallystudio/tally/rtmpclient/amf"
)

func TestMain(m *testing.M) { peers.Main(m) }

const secretKey = "live_5566778899_topsecret_q1"

// FFmpeg's command line publishes to the ingest; the report describes the stream
// correctly and ffprobe reads the recording the ingest wrote.
func TestFFmpegPublishesToIngestWhichReportsAndRecords(t *testing.T) {
	fixture := peers.FixtureFLV(t, 4)
	in, err := Start("127.0.0.1:0", Config{RecordDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()

	r := ffmpegReport(t, in, "-i", fixture, "-c", "copy", "-f", "flv", in.URL("live")+"/"+secretKey)
	v, a := r.Video, r.Audio
	if v == nil || a == nil {
		t.Fatalf("report lacks a track: %+v", r)
	}
	if v.Codec != "h264" || v.Width != 640 || v.Height != 360 || v.Frames != 120 {
		t.Errorf("video %s %dx%d %d frames, want h264 640x360 120", v.Codec, v.Width, v.Height, v.Frames)
	}
	if v.FrameRate < 29.9 || v.FrameRate > 30.1 {
		t.Errorf("frame rate %.2f, want 30", v.FrameRate)
	}
	if v.KeyframeIntervalS != 2 || v.Keyframes != 2 {
		t.Errorf("keyframes %d every %.2f s, want 2 every 2 s", v.Keyframes, v.KeyframeIntervalS)
	}
	if a.Codec != "aac" || a.SampleRate != 44100 || a.Channels != 2 {
		t.Errorf("audio %s %d Hz %d ch", a.Codec, a.SampleRate, a.Channels)
	}
	if a.BitrateKbps < 60 || a.BitrateKbps > 140 {
		t.Errorf("audio at %.0f kb/s, encoded at 96", a.BitrateKbps)
	}
	// The drift must match the source file's own, from ffprobe's packet times.
	want := (streamEnd(peers.PacketTimes(t, fixture, "a:0")) - streamEnd(peers.PacketTimes(t, fixture, "v:0"))) * 1000
	if d := r.AVDriftMs; d < want-2 || d > want+2 {
		t.Errorf("A/V drift %.1f ms; by ffprobe's packet times it is %.1f ms", d, want)
	}
	if len(r.Problems) > 0 {
		t.Errorf("problems on a healthy stream: %v", r.Problems)
	}
	if r.Metadata["width"] != 640.0 {
		t.Errorf("metadata not captured: %v", r.Metadata)
	}

	// The recording is a real FLV: ffprobe reads it and FFmpeg decodes it cleanly.
	pr := peers.ProbeFile(t, r.Recording)
	if s := pr.Stream("video"); s == nil || s.Frames() != 120 || s.Width != 640 {
		t.Errorf("recording's video: %+v", s)
	}
	if s := pr.Stream("audio"); s == nil || s.Codec != "aac" {
		t.Errorf("recording's audio: %+v", s)
	}
	if errs := peers.DecodeErrors(t, r.Recording); errs != "" {
		t.Errorf("recording does not decode cleanly: %s", errs)
	}
	if strings.Contains(r.Recording, secretKey) {
		t.Errorf("recording's file name holds the key: %s", r.Recording)
	}
	j, _ := json.Marshal(r)
	if strings.Contains(string(j)+r.String(), "5566778899") {
		t.Errorf("report leaks the key:\n%s\n%s", j, r)
	}
}

// ffmpegReport publishes with FFmpeg's command line (args after -v error)
// and returns the ingest's report on that stream.
func ffmpegReport(t *testing.T, in *Ingest, args ...string) Report {
	t.Helper()
	out, err := exec.Command(peers.Require(t, "ffmpeg"), append([]string{"-v", "error"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg publish: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := in.WaitReport(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// streamEnd is the last timestamp plus one typical step.
func streamEnd(ts []float64) float64 {
	if len(ts) < 2 {
		return 0
	}
	return ts[len(ts)-1] + (ts[len(ts)-1]-ts[0])/float64(len(ts)-1)
}

// ffprobe plays a stream back from the ingest while FFmpeg publishes it.
func TestFFprobePlaysFromIngest(t *testing.T) {
	fixture := peers.FixtureFLV(t, 4)
	in, err := Start("127.0.0.1:0", Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	url := in.URL("live") + "/" + secretKey
	pub := exec.Command(peers.Require(t, "ffmpeg"), "-v", "error", "-re", "-i", fixture, "-c", "copy", "-f", "flv", url)
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pub.Process.Kill(); _ = pub.Wait() }()
	time.Sleep(700 * time.Millisecond) // let the publish start
	out, err := exec.Command(peers.Require(t, "ffprobe"), "-v", "error", "-rw_timeout", "5000000",
		"-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", url).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe play: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "h264,640,360") || !strings.Contains(string(out), "aac") {
		t.Fatalf("ffprobe saw: %s", out)
	}
}

// Tally's own Publisher into the ingest: the report matches what was sent.
func TestTallyPublisherToIngest(t *testing.T) {
	in, err := Start("127.0.0.1:0", Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	ep, err := rtmpclient.ParseURL(in.URL("live"), secretKey)
	if err != nil {
		t.Fatal(err)
	}
	pkts := fixtureTags(t, peers.FixtureFLV(t, 4))
	p := rtmpclient.NewPublisher(rtmpclient.PublisherConfig{Endpoint: ep, DropThreshold: 2 * time.Second,
		Metadata: amf.ECMAArray{{Key: "width", Value: 640.0}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	for _, pk := range pkts {
		if err := p.WriteWait(ctx, pk); err != nil {
			t.Fatal(err)
		}
	}
	for p.Stats().QueuePackets > 0 {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	r, err := in.WaitReport(wctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r.Video == nil || r.Video.Frames != 120 || r.Video.Width != 640 || r.Audio == nil || r.Audio.Channels != 2 || len(r.Problems) > 0 {
		t.Fatalf("report: %s", r)
	}
}

// fixtureTags turns an FLV's audio and video tags into Packets.
func fixtureTags(t *testing.T, path string) []rtmpclient.Packet {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := flv.NewReader(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []rtmpclient.Packet
	for {
		tag, err := r.Next()
		if err != nil {
			return out
		}
		role, err := flv.RoleOf(tag)
		if err != nil {
			t.Fatal(err)
		}
		if !role.Media {
			continue
		}
		pk := rtmpclient.Packet{Type: tag.Type, DTS: int64(tag.Timestamp), Payload: tag.Data, Header: role.Header, Keyframe: role.Keyframe}
		out = append(out, pk)
	}
}

// FFmpeg's command line, stamping each frame with its wall-clock capture
// time, is measured from those stamps: the same capture-to-receipt latency the
// ingest reads from Tally's SEI, so the two can be compared.
func TestWallClockStampedFFmpegStreamGetsLatency(t *testing.T) {
	in, err := Start("127.0.0.1:0", Config{WallClockTimestamps: true})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	// The comma is escaped for the filter graph; the length is the sources'
	// (an output -t would count from the stamps, hours past midnight).
	stamp := `floor(mod(RTCTIME/1000\,86400000))`
	r := ffmpegReport(t, in, "-re", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=3",
		"-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=3",
		"-vf", "settb=1/1000,setpts="+stamp, "-af", "asettb=1/1000,asetpts="+stamp,
		"-fps_mode", "passthrough", "-enc_time_base", "1/1000",
		"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-c:a", "aac",
		"-f", "flv", in.URL("live")+"/stamped")
	l := r.Latency
	if l == nil || r.Video == nil || l.Frames != r.Video.Frames || l.Frames < 80 {
		t.Fatalf("latency %+v for video %+v", l, r.Video)
	}
	// Loopback and zerolatency at 320x180: well under a second, never negative.
	if l.P50Ms <= 0 || l.MaxMs > 1000 {
		t.Errorf("latency p50 %.0f ms, max %.0f ms", l.P50Ms, l.MaxMs)
	}
	t.Logf("FFmpeg, zerolatency, 320x180: p50 %.0f ms, p99 %.0f ms over %d frames", l.P50Ms, l.P99Ms, l.Frames)
	// The sound is stamped the same way and measured the same way.
	al := r.AudioLatency
	if al == nil || r.Audio == nil || al.Frames != r.Audio.Frames || al.P50Ms <= 0 || al.MaxMs > 1000 {
		t.Fatalf("audio latency %+v for audio %+v", al, r.Audio)
	}
	t.Logf("FFmpeg's sound: p50 %.0f ms, p99 %.0f ms over %d frames", al.P50Ms, al.P99Ms, al.Frames)
}

func TestSinceWallClockAcrossMidnight(t *testing.T) {
	now := time.Date(2026, 11, 23, 0, 0, 0, 50e6, time.UTC) // 50 ms past midnight
	for _, c := range []struct {
		pts  int64
		want float64
	}{
		{30, 20},           // stamped after midnight
		{dayMs - 100, 150}, // stamped before midnight
		{dayMs + 30, 20},   // a 32-bit timestamp need not be reduced
		{80, -30},          // a clock 30 ms ahead of ours
	} {
		if got := sinceWallClock(c.pts, now); math.Abs(got-c.want) > 0.01 {
			t.Errorf("pts %d: %.2f ms, want %.2f", c.pts, got, c.want)
		}
	}
}

// An ingest started again within the same second counts its publishes from 1
// again; the recording it starts must not replace the one already there.
func TestRecordingNeverReplacesAnEarlierFile(t *testing.T) {
	dir := t.TempDir()
	in := &Ingest{cfg: Config{RecordDir: dir}}
	now := time.Now()
	var earlier []string
	// The name carries the second: files for this one and the next cover a
	// call that crosses into it.
	for _, at := range []time.Time{now, now.Add(time.Second)} {
		p := filepath.Join(dir, "live-"+at.Format("20060102-150405")+"-1.flv")
		if err := os.WriteFile(p, []byte("earlier show"), 0o644); err != nil {
			t.Fatal(err)
		}
		earlier = append(earlier, p)
	}
	f, path, err := in.createRecording("live", 1)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, p := range earlier {
		if b, err := os.ReadFile(p); err != nil || string(b) != "earlier show" || p == path {
			t.Errorf("%s: %q, %v; new recording at %s", p, b, err, path)
		}
	}
	if !strings.HasSuffix(path, "-1.2.flv") {
		t.Errorf("new recording at %s, want the earlier name with .2", path)
	}
}
