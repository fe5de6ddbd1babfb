package app

import (
	"image"
	"slices"
	"testing"
	"time"

	"github.com/tallystudio/tally/encode"
)

// A multitrack stream's renditions keep their keyframes on the same canvas
// frames when the session skips canvas frames for lag (which a full-rate
// rendition feels and a half-rate one may not), and a keyframe forced for a
// resumed destination goes on a frame every one of its tracks takes, without
// touching outputs no stream shares with them.
func TestTracksKeepTheirKeyframesAlignedThroughSkippedFramesAndReconnects(t *testing.T) {
	s := canvas720()
	s.Video.Width, s.Video.Height, s.Video.Preset = 320, 180, "ultrafast"
	s.Video.KeyframeInterval = time.Second
	full := Rendition{Width: 320, Height: 180, FPS: 30, Bitrate: 300_000}
	half := Rendition{Width: 160, Height: 90, FPS: 15, Bitrate: 200_000}
	third := Rendition{Width: 160, Height: 90, FPS: 10, Bitrate: 200_000}
	s.Destinations = []Destination{
		{Service: "custom", URL: "rtmp://h/live", Key: "k1", Video: []Rendition{full, half}},
		{Service: "custom", URL: "rtmp://h/live", Key: "k2", Video: []Rendition{third}},
	}
	sess := plannedSession(t, s)
	closeAll, err := sess.openOutputs()
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	if len(sess.outs) != 3 || len(sess.keyGroups) != 2 {
		t.Fatalf("%d outputs in %d keyframe groups; want 3 in 2", len(sess.outs), len(sess.keyGroups))
	}
	keys := map[*videoOutput][]int64{} // canvas frames of each output's keyframes
	for _, o := range sess.outs {
		o.emit = func(p encode.Packet) {
			if p.Keyframe {
				keys[o] = append(keys[o], int64((p.PTS+time.Millisecond)*30/time.Second))
			}
		}
	}
	img := image.NewYCbCr(image.Rect(0, 0, 320, 180), image.YCbCrSubsampleRatio420)
	skipped := []int64{1, 60, 102}
	for n := int64(0); n < 150; n++ {
		if slices.Contains(skipped, n) {
			continue
		}
		if n == 41 {
			sess.dests[0].stream.keys.force() // the multitrack destination resumed
		}
		if err := sess.encodeFrame(img, n, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sess.flushOutputs(); err != nil {
		t.Fatal(err)
	}
	// The forced keyframe waits from 41 for 42, which the 15 fps track
	// takes; the interval runs from there, and from 104 after 102 is skipped.
	want := []int64{0, 30, 42, 72, 104, 134}
	for _, o := range sess.dests[0].stream.tracks {
		if got := keys[o]; !slices.Equal(got, want) {
			t.Errorf("%d fps track: keyframes on canvas frames %v; want %v", o.r.FPS, got, want)
		}
	}
	// The 10 fps destination's own encode is not forced; 60 was skipped, so
	// its keyframe goes on 63, the next frame it takes.
	if got, want := keys[sess.dests[1].stream.tracks[0]], []int64{0, 30, 63, 93, 123}; !slices.Equal(got, want) {
		t.Errorf("10 fps output: keyframes on canvas frames %v; want %v", got, want)
	}
}
