package app

import (
	"context"
	"image"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tallystudio/tally/rtmpclient"
	"github.com/tallystudio/tally/rtmpclient/amf"
)

func canvas720() Settings {
	s := DefaultSettings()
	s.Destinations = nil
	return s
}

func TestDestinationsWithTheSameOutputShareAnEncoderAndSizesShareAScaler(t *testing.T) {
	s := canvas720()
	small := Rendition{Width: 640, Height: 360, Bitrate: 1_000_000}
	s.Destinations = []Destination{
		{Service: "local"}, // the session's own encode
		{Service: "custom", URL: "rtmp://h/live", Key: "k1", Video: []Rendition{small}},
		{Service: "custom", URL: "rtmp://h/live", Key: "k2", Video: []Rendition{small}},
		{Service: "custom", URL: "rtmp://h/live", Key: "k3", Video: []Rendition{{Encoder: "libx265", Width: 640, Height: 360}}},
		{Service: "custom", URL: "rtmp://h/live", Key: "k4", Video: []Rendition{{}, small}}, // multitrack
	}
	sess := plannedSession(t, s)
	// Encodes: the canvas (H.264), 640x360 H.264, 640x360 HEVC.
	if len(sess.outs) != 3 {
		t.Fatalf("%d encodes; want 3: %v", len(sess.outs), sess.outs)
	}
	// Streams: the canvas; the small one (two destinations); HEVC; canvas+small.
	if len(sess.streams) != 4 || sess.dests[1].stream != sess.dests[2].stream {
		t.Errorf("%d streams, destinations 2 and 3 sharing: %v; want 4, sharing", len(sess.streams), sess.dests[1].stream == sess.dests[2].stream)
	}
	if mt := sess.dests[4].stream; len(mt.tracks) != 2 || mt.tracks[0] != sess.dests[0].stream.tracks[0] || mt.tracks[1] != sess.dests[1].stream.tracks[0] {
		t.Errorf("the multitrack destination's tracks are not the shared encodes")
	}
	closeAll, err := sess.openOutputs()
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	if sess.outs[1].scale == nil || sess.outs[1].scale != sess.outs[2].scale || sess.outs[0].scale != nil {
		t.Errorf("the 640x360 encodes do not share one scaler, or the canvas is scaled")
	}
	// The multitrack stream's metadata describes track 0 at the top level
	// and track 1 in videoTrackIdInfoMap; HEVC's codec ID is its FourCC.
	meta := sess.metadata(sess.dests[4].stream, nil)
	info, ok := metaValue(meta, "videoTrackIdInfoMap").(amf.Object)
	if metaValue(meta, "width") != 1280.0 || !ok || len(info) != 1 || info[0].Key != "1" {
		t.Fatalf("multitrack metadata: %v", meta)
	}
	// Track 1 is H.264 in FourCC tags (avc1), so its codec ID is avc1 as a
	// number, not legacy AVC's 7.
	if track1 := amf.ECMAArray(info[0].Value.(amf.Object)); metaValue(track1, "width") != 640.0 || metaValue(track1, "videocodecid") != 1635148593.0 {
		t.Errorf("track 1's metadata: %v", track1)
	}
	if id := metaValue(sess.metadata(sess.dests[3].stream, nil), "videocodecid"); id != 1752589105.0 {
		t.Errorf("HEVC's videocodecid is %v; want hvc1 as a number, 1752589105", id)
	}
}

// plannedSession is a session of settings s with its outputs and streams
// planned, as Run plans them once the destinations are settled, without
// connecting anywhere.
func plannedSession(t *testing.T, s Settings) *Session {
	t.Helper()
	if _, err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	sess := &Session{settings: s}
	for _, d := range s.Destinations {
		sess.dests = append(sess.dests, &destination{cfg: d, tracks: s.tracks(d)})
	}
	sess.planOutputs()
	return sess
}

func metaValue(m amf.ECMAArray, key string) any {
	for _, p := range m {
		if p.Key == key {
			return p.Value
		}
	}
	return nil
}

func TestCentreCropKeepsTheOutputsShapeOnEvenCoordinates(t *testing.T) {
	for _, tc := range []struct {
		w, h, ow, oh int
		want         image.Rectangle
	}{
		{1920, 1080, 1080, 1920, image.Rect(656, 0, 1262, 1080)}, // 9:16 from 16:9: 607.5 wide, made even
		{1280, 720, 640, 360, image.Rect(0, 0, 1280, 720)},       // the same shape: all of it
		{1280, 720, 720, 720, image.Rect(280, 0, 1000, 720)},
		{720, 1280, 1280, 720, image.Rect(0, 438, 720, 842)},
	} {
		got := centreCrop(tc.w, tc.h, tc.ow, tc.oh)
		if got != tc.want {
			t.Errorf("%dx%d for %dx%d: %v; want %v", tc.w, tc.h, tc.ow, tc.oh, got, tc.want)
		}
		if got.Min.X%2 != 0 || got.Min.Y%2 != 0 || got.Dx()%2 != 0 || got.Dy()%2 != 0 {
			t.Errorf("%v is not on even coordinates", got)
		}
	}
}

func TestPresetsFitTheirPlatformsLimits(t *testing.T) {
	c := canvas720().Video
	c.Width, c.Height, c.FPS = 1920, 1080, 60
	p, _ := OutputPresetByID("youtube-hevc")
	if r := p.Tracks(c)[0]; r.Encoder != "libx265" || r.Bitrate != 7_000_000 {
		t.Errorf("YouTube HEVC at 1080p60: %+v; want libx265 at 7 Mb/s (the middle of 4-10)", r)
	}
	p, _ = OutputPresetByID("twitch-eb")
	ladder := p.Tracks(c)
	if len(ladder) != 3 || ladder[0].Height != 1080 || ladder[1].Height != 720 || ladder[2].Height != 480 || ladder[2].FPS != 30 {
		t.Errorf("Twitch's ladder at 1080p60: %+v", ladder)
	}
	p, _ = OutputPresetByID("vertical")
	if r := p.Tracks(c)[0]; r.Width != 1080 || r.Height != 1920 {
		t.Errorf("vertical from 1080p: %dx%d; want 1080x1920", r.Width, r.Height)
	}
	for _, p := range OutputPresets() {
		s := canvas720()
		s.Video = c
		s.Destinations = []Destination{{Service: "custom", URL: "rtmp://h/live", Key: "k", Output: p.ID}}
		if p.Service != "" {
			s.Destinations[0].Service = p.Service
			if svc, _ := ServiceByID(p.Service); svc.URL != "" {
				s.Destinations[0].URL = svc.URL
			}
		}
		if _, err := s.Validate(); err != nil {
			t.Errorf("preset %s at 1080p60 does not validate: %v", p.ID, err)
		}
	}
}

// startServer runs Tally's RTMP server stating the given video codecs (nil:
// all it takes).
func startServer(t *testing.T, fourccs []string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &rtmpclient.Server{VideoFourCCs: fourccs}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "rtmp://" + ln.Addr().String() + "/live"
}

func TestNegotiationFallsBackToH264WhereTheServerListsNoHEVC(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fourccs  []string
		fallback bool
	}{
		{"server lists hvc1", nil, false},
		{"server lists only avc1", []string{"avc1"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := canvas720()
			s.Destinations = []Destination{{Service: "custom", URL: startServer(t, tc.fourccs), Key: "k",
				Video: []Rendition{{Encoder: "libx265"}}}}
			sess, _, err := NewSession(s, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := sess.openDestinations(ctx); err != nil {
				t.Fatal(err)
			}
			d := sess.dests[0]
			got := codecOf(d.tracks[0].Encoder)
			if tc.fallback {
				if got != "h264" || !strings.Contains(d.fallback, "lists no hvc1") || sess.counter.fallbacks.Load() != 1 {
					t.Errorf("sent %s, fallback %q, counted %d; want h264, said and counted", got, d.fallback, sess.counter.fallbacks.Load())
				}
				if d.opts.VideoFourCCs != nil {
					t.Errorf("still advertises %v after falling back to plain H.264", d.opts.VideoFourCCs)
				}
			} else if got != "hevc" || d.fallback != "" || sess.counter.fallbacks.Load() != 0 {
				t.Errorf("sent %s, fallback %q; want hevc and none", got, d.fallback)
			}
		})
	}
}

func TestTwitchLadderReachesTheLocalIngestAsTracksWithTheirFrames(t *testing.T) {
	s := canvas720()
	s.Video.Preset = "ultrafast"
	s.Duration = 3 * time.Second
	s.Destinations = []Destination{{Service: "local", Output: "twitch-eb"}}
	sess, _, err := NewSession(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	reps := sess.LocalReports()
	if len(reps) != 1 || reps[0].Video == nil {
		t.Fatalf("the local ingest saw %+v", reps)
	}
	v := reps[0].Video
	// 720p at 30 fps on track 0; 480p (852x480) at 30 fps on track 1.
	if v.Width != 1280 || v.Frames < 80 || v.OtherTracks[1] < 80 || v.Regressions != 0 {
		t.Errorf("track 0: %dx%d, %d frames, %d regressions; track 1: %d frames", v.Width, v.Height, v.Frames, v.Regressions, v.OtherTracks[1])
	}
	if st := sess.Stats(); len(st.Destinations) != 1 || !strings.Contains(st.Destinations[0].Output, "track 1: H.264 852x480") {
		t.Errorf("stats: %+v", st.Destinations)
	}
}

// A source that does not deliver the canvas's size (a 1920x1080 screen on a
// 1280x720 canvas, a 640x480 camera) is cropped in proportion: the scaled
// renditions show the same part of the picture as the session's own encode,
// which stretches the whole frame to the canvas.
func TestScaledRenditionsCropTheSamePartOfAnyPictureSize(t *testing.T) {
	whole := &outputScaler{w: 640, h: 360, crop: centreCrop(1280, 720, 640, 360), canvas: image.Pt(1280, 720)}
	vertical := &outputScaler{w: 404, h: 720, crop: centreCrop(1280, 720, 404, 720), canvas: image.Pt(1280, 720)}
	for _, tc := range []struct {
		o    *outputScaler
		b    image.Rectangle
		want image.Rectangle
	}{
		{whole, image.Rect(0, 0, 1280, 720), image.Rect(0, 0, 1280, 720)},
		{whole, image.Rect(0, 0, 1920, 1080), image.Rect(0, 0, 1920, 1080)},
		{whole, image.Rect(10, 20, 650, 500), image.Rect(10, 20, 650, 500)},
		{vertical, image.Rect(0, 0, 1280, 720), image.Rect(438, 0, 842, 720)},
		{vertical, image.Rect(0, 0, 1920, 1080), image.Rect(656, 0, 1262, 1080)},
		{vertical, image.Rect(0, 0, 640, 480), image.Rect(218, 0, 420, 480)},
	} {
		got := tc.o.cropOf(tc.b)
		if got != tc.want {
			t.Errorf("%v of a %v picture: %v; want %v", tc.o.crop, tc.b, got, tc.want)
		}
		if got.Dx()%2 != 0 || got.Dy()%2 != 0 || !got.In(tc.b) {
			t.Errorf("%v is not an even part of %v", got, tc.b)
		}
	}
}

// A destination with dynamic bitrate has an encode of its own, so its
// link's congestion lowers its picture alone: another destination of the
// same rendition, and the recording, keep theirs.
func TestADestinationWithDynamicBitrateHasItsOwnEncode(t *testing.T) {
	s := canvas720()
	s.Record = "rec.flv"
	s.Destinations = []Destination{
		{Service: "custom", URL: "rtmp://h/live", Key: "k1", DynamicBitrate: true},
		{Service: "custom", URL: "rtmp://h/live", Key: "k2"},
		{Service: "custom", URL: "rtmp://h/live", Key: "k3", DynamicBitrate: true},
	}
	sess := plannedSession(t, s)
	if len(sess.outs) != 3 {
		t.Fatalf("%d encodes; want 3: the shared one (recording and destination 2) and one each for 1 and 3", len(sess.outs))
	}
	shared := sess.dests[1].stream.tracks[0]
	if !shared.record || shared.adjust != nil {
		t.Errorf("the recording and the static destination do not share a fixed-rate encode")
	}
	for _, i := range []int{0, 2} {
		if o := sess.dests[i].stream.tracks[0]; o == shared || o.adjust != sess.dests[i] {
			t.Errorf("destination %d's encode does not follow its own link", i+1)
		}
	}
}
