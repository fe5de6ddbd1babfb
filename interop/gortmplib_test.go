package interop

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/av1"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"

	"github.com/tallystudio/tally/app"
)

// streamFor is how long Tally publishes in each test.
const streamFor = 4 * time.Second

// publish runs a Tally session of the test pattern and the tone, 640x360 at
// 30 fps, to the peer as one custom destination with the given renditions,
// and returns what the peer read.
func publish(t *testing.T, video []app.Rendition) *received {
	t.Helper()
	return publishOver(t, "rtmp", video)
}

// publishOver is publish with the URL's scheme: rtmp, or rtmpe, which
// gortmplib's server tells by the first handshake byte.
func publishOver(t *testing.T, scheme string, video []app.Rendition) *received {
	t.Helper()
	p := startPeer(t)
	s := app.DefaultSettings()
	s.Video.Width, s.Video.Height, s.Video.FPS, s.Video.Bitrate, s.Video.Preset = 640, 360, 30, 1_000_000, "ultrafast"
	s.Duration = streamFor
	s.Destinations = []app.Destination{{Service: "custom", URL: scheme + "://" + p.addr + "/live", Key: app.StreamKey("stream"),
		// gortmplib's server states no Enhanced RTMP capabilities in its
		// connect answer: without this Tally would fall back to one H.264
		// track.
		AssumeEnhanced: true,
		Video:          video}}
	log := &testLog{t: t}
	defer log.close()
	sess, warnings, err := app.NewSession(s, slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelInfo})))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warnings {
		t.Log("warning:", w)
	}
	ctx, cancel := context.WithTimeout(context.Background(), streamFor+20*time.Second)
	defer cancel()
	start := time.Now()
	if err := sess.Run(ctx); err != nil {
		t.Errorf("Tally's session: %v", err)
	}
	t.Logf("Tally's session ran %v", time.Since(start).Round(time.Millisecond))
	r := p.wait(t, 5*time.Second)
	if extra := p.extraConnections(); len(extra) > 0 {
		t.Errorf("Tally connected %d more times after the first (%v): it should have published once", len(extra), extra)
	}
	if want := scheme + "://" + p.addr + "/live/stream"; r.streamURL != want {
		t.Errorf("published to %q, want %q", r.streamURL, want)
	}
	t.Logf("connect's fourCcList %v; %d video tracks, audio %d frames; ended by %v", r.fourCcList, len(r.video), r.audioFrames, r.err)
	return r
}

// testLog passes the session's log to the test's until the session is over.
type testLog struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (l *testLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.t.Log("tally: " + strings.TrimSuffix(string(b), "\n"))
	}
	return len(b), nil
}

func (l *testLog) close() {
	l.mu.Lock()
	l.done = true
	l.mu.Unlock()
}

// checkAAC checks that the Reader found the one AAC track the tone is sent
// as, and that it carried about streamFor of 1024-sample frames at 48 kHz.
func checkAAC(t *testing.T, r *received) {
	t.Helper()
	if len(r.audio) != 1 {
		t.Fatalf("gortmplib's Reader found %d audio tracks, want 1 (AAC)", len(r.audio))
	}
	if _, ok := r.audio[0].(*codecs.MPEG4Audio); !ok {
		t.Fatalf("audio track is %T, want AAC (*codecs.MPEG4Audio)", r.audio[0])
	}
	want := int(streamFor.Seconds() * 48000 / 1024)
	if r.audioFrames < want*9/10 || r.audioFrames > want*11/10 {
		t.Errorf("AAC: %d frames, want about %d", r.audioFrames, want)
	}
}

// checkCount checks n frames against a track's rate over streamFor: a few
// short (the last frames the encoder holds when the session stops), never
// more than one over.
func checkCount(t *testing.T, what string, n, fps int) {
	t.Helper()
	want := int(streamFor.Seconds()) * fps
	if n < want-want/20-1 || n > want+1 {
		t.Errorf("%s: %d frames, want about %d (%d fps for %v)", what, n, want, fps, streamFor)
	}
}

// checkRate checks that a track's frames are timed at its frame rate: each
// timestamp after the one before it, and on average 1/fps apart.
func checkRate(t *testing.T, what string, frames []frame, fps int) {
	t.Helper()
	if len(frames) < 2 {
		return
	}
	for i := 1; i < len(frames); i++ {
		if frames[i].dts <= frames[i-1].dts {
			t.Errorf("%s: frame %d's DTS %v is not after frame %d's %v", what, i, frames[i].dts, i-1, frames[i-1].dts)
			return
		}
	}
	span := frames[len(frames)-1].dts - frames[0].dts
	got := span / time.Duration(len(frames)-1)
	want := time.Second / time.Duration(fps)
	if d := got - want; d < -2*time.Millisecond || d > 2*time.Millisecond {
		t.Errorf("%s: frames %v apart on average, want %v (%d fps)", what, got, want, fps)
	}
}

// h264Frames keeps the access units that hold a picture: the Reader also
// delivers a legacy sequence header as an "access unit" of SPS and PPS.
func h264Frames(frames []frame) []frame {
	var out []frame
	for _, f := range frames {
		if slices.ContainsFunc(f.units, func(u []byte) bool {
			return len(u) > 0 && h264.NALUType(u[0]&0x1f) >= h264.NALUTypeNonIDR && h264.NALUType(u[0]&0x1f) <= h264.NALUTypeIDR
		}) {
			out = append(out, f)
		}
	}
	return out
}

// h264Keyframes are the PTS of the access units with an IDR picture.
func h264Keyframes(frames []frame) []time.Duration {
	var out []time.Duration
	for _, f := range frames {
		if h264.IsRandomAccess(f.units) {
			out = append(out, f.pts)
		}
	}
	return out
}

// TestGortmplibReadsTallysMultitrackH264 proves that Tally's Enhanced RTMP v2
// multitrack stream (track 0 legacy H.264 640x360 at 30 fps, track 1 H.264
// 320x180 at 15 fps in multitrack OneTrack tags, and AAC) is what
// gortmplib's Reader reads: two video tracks and the audio, every frame of
// each at its rate, each track's SPS declaring its size, and track 1's
// keyframes on the same timestamps as track 0's.
func TestGortmplibReadsTallysMultitrackH264(t *testing.T) {
	r := publish(t, []app.Rendition{{Width: 640, Height: 360}, {Width: 320, Height: 180, FPS: 15, Bitrate: 300_000}})
	r.ended(t)
	if len(r.video) != 2 {
		t.Fatalf("gortmplib's Reader found %d video tracks, want 2", len(r.video))
	}
	checkAAC(t, r)
	want := []struct{ w, h, fps int }{{640, 360, 30}, {320, 180, 15}}
	var keys [2][]time.Duration
	for i, vt := range r.video {
		what := fmt.Sprintf("track %d", i)
		c, ok := vt.codec.(*codecs.H264)
		if !ok {
			t.Fatalf("%s is %T, want H.264", what, vt.codec)
		}
		var sps h264.SPS
		if err := sps.Unmarshal(c.SPS); err != nil {
			t.Errorf("%s: SPS: %v", what, err)
		} else if sps.Width() != want[i].w || sps.Height() != want[i].h {
			t.Errorf("%s: SPS declares %dx%d, want %dx%d", what, sps.Width(), sps.Height(), want[i].w, want[i].h)
		}
		frames := h264Frames(vt.frames)
		t.Logf("%s: %d frames (%d deliveries), SPS %dx%d", what, len(frames), len(vt.frames), sps.Width(), sps.Height())
		checkCount(t, what, len(frames), want[i].fps)
		checkRate(t, what, frames, want[i].fps)
		keys[i] = h264Keyframes(frames)
		if len(frames) > 0 && !h264.IsRandomAccess(frames[0].units) {
			t.Errorf("%s: the first frame is not an IDR picture", what)
		}
	}
	t.Logf("keyframes: track 0 at %v, track 1 at %v", keys[0], keys[1])
	// A 2 s keyframe interval over 4 s: at 0 s and 2 s.
	if len(keys[0]) < 2 {
		t.Errorf("track 0: %d keyframes, want at least 2", len(keys[0]))
	}
	near := func(ts []time.Duration, at time.Duration) bool {
		return slices.ContainsFunc(ts, func(k time.Duration) bool { return (k - at).Abs() <= time.Millisecond })
	}
	for _, k := range keys[1] {
		if !near(keys[0], k) {
			t.Errorf("track 1's keyframe at %v has none on track 0 within 1 ms", k)
		}
	}
	for _, k := range keys[0] {
		if !near(keys[1], k) {
			t.Errorf("track 0's keyframe at %v has none on track 1 within 1 ms", k)
		}
	}
}

// TestGortmplibReadsTallysHEVC proves that Tally's HEVC stream (libx265,
// 640x360, in Enhanced RTMP's hvc1 tags) is read by gortmplib as one H.265
// track with its VPS, SPS and PPS, and every frame.
func TestGortmplibReadsTallysHEVC(t *testing.T) {
	r := publish(t, []app.Rendition{{Encoder: "libx265"}})
	r.ended(t)
	if !slices.Contains(r.fourCcList, "hvc1") {
		t.Errorf("the connect command's fourCcList is %v, want hvc1 in it", r.fourCcList)
	}
	if len(r.video) != 1 {
		t.Fatalf("gortmplib's Reader found %d video tracks, want 1", len(r.video))
	}
	checkAAC(t, r)
	c, ok := r.video[0].codec.(*codecs.H265)
	if !ok {
		t.Fatalf("the video track is %T, want H.265", r.video[0].codec)
	}
	for _, ps := range []struct {
		name string
		nalu []byte
		typ  h265.NALUType
	}{{"VPS", c.VPS, h265.NALUType_VPS_NUT}, {"SPS", c.SPS, h265.NALUType_SPS_NUT}, {"PPS", c.PPS, h265.NALUType_PPS_NUT}} {
		if len(ps.nalu) < 2 {
			t.Errorf("%s missing", ps.name)
		} else if typ := h265.NALUType(ps.nalu[0] >> 1 & 0x3f); typ != ps.typ {
			t.Errorf("%s is a NAL unit of type %v", ps.name, typ)
		}
	}
	var sps h265.SPS
	if err := sps.Unmarshal(c.SPS); err != nil {
		t.Errorf("SPS: %v", err)
	} else if sps.Width() != 640 || sps.Height() != 360 {
		t.Errorf("SPS declares %dx%d, want 640x360", sps.Width(), sps.Height())
	}
	var frames []frame
	for _, f := range r.video[0].frames {
		if slices.ContainsFunc(f.units, func(u []byte) bool { return len(u) > 0 && u[0]>>1&0x3f < 32 }) {
			frames = append(frames, f)
		}
	}
	t.Logf("H.265: %d frames (%d deliveries), SPS %dx%d, VPS %d B, SPS %d B, PPS %d B",
		len(frames), len(r.video[0].frames), sps.Width(), sps.Height(), len(c.VPS), len(c.SPS), len(c.PPS))
	checkCount(t, "H.265", len(frames), 30)
	checkRate(t, "H.265", frames, 30)
	if len(frames) > 0 && !h265.IsRandomAccess(frames[0].units) {
		t.Errorf("the first frame is not a random access point (IRAP)")
	}
}

// TestGortmplibReadsTallysAV1 proves that Tally's AV1 stream (libsvtav1,
// 640x360, in Enhanced RTMP's av01 tags) is read by gortmplib as one AV1
// track of temporal units, one per frame, the first of them a random access
// point carrying the sequence header.
func TestGortmplibReadsTallysAV1(t *testing.T) {
	r := publish(t, []app.Rendition{{Encoder: "libsvtav1"}})
	r.ended(t)
	if !slices.Contains(r.fourCcList, "av01") {
		t.Errorf("the connect command's fourCcList is %v, want av01 in it", r.fourCcList)
	}
	if len(r.video) != 1 {
		t.Fatalf("gortmplib's Reader found %d video tracks, want 1", len(r.video))
	}
	checkAAC(t, r)
	if _, ok := r.video[0].codec.(*codecs.AV1); !ok {
		t.Fatalf("the video track is %T, want AV1", r.video[0].codec)
	}
	tus := r.video[0].frames
	var keys []time.Duration
	for i, tu := range tus {
		if len(tu.units) == 0 {
			t.Errorf("temporal unit %d holds no OBU", i)
			continue
		}
		for _, obu := range tu.units {
			if av1.OBUType(obu[0]>>3&0x0f) == av1.OBUTypeTemporalDelimiter {
				t.Errorf("temporal unit %d holds a temporal delimiter, which AV1 in FLV leaves out", i)
				break
			}
		}
		if av1.IsRandomAccess2(tu.units) {
			keys = append(keys, tu.pts)
		}
	}
	t.Logf("AV1: %d temporal units, random access at %v", len(tus), keys)
	checkCount(t, "AV1", len(tus), 30)
	checkRate(t, "AV1", tus, 30)
	if len(tus) == 0 {
		return
	}
	if !av1.IsRandomAccess2(tus[0].units) {
		t.Fatalf("the first temporal unit carries no sequence header (OBUs %v)", obuTypes(tus[0].units))
	}
	for _, obu := range tus[0].units {
		if av1.OBUType(obu[0]>>3&0x0f) != av1.OBUTypeSequenceHeader {
			continue
		}
		var sh av1.SequenceHeader
		if err := sh.Unmarshal(obu); err != nil {
			t.Errorf("sequence header: %v", err)
		} else if sh.Width() != 640 || sh.Height() != 360 {
			t.Errorf("sequence header declares %dx%d, want 640x360", sh.Width(), sh.Height())
		} else {
			t.Logf("AV1 sequence header: %dx%d", sh.Width(), sh.Height())
		}
	}
}

func obuTypes(tu [][]byte) []int {
	var out []int
	for _, o := range tu {
		if len(o) > 0 {
			out = append(out, int(o[0]>>3&0x0f))
		}
	}
	return out
}
