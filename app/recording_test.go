package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
)

// A recording starts and stops while the stream stays live, as often as the
// streamer likes: each is a file of its own that starts on a keyframe at
// time zero, with sound, and decodes cleanly; the second does not replace
// the first but takes the next free name; the stream never stops for it.
func TestRecordingStartsAndStopsWhileLiveIntoFilesOfTheirOwn(t *testing.T) {
	if testing.Short() {
		t.Skip("streams for several seconds")
	}
	e := NewEngine(nil)
	defer e.Close()
	s := smallSettings()
	s.Video.KeyframeInterval = 2 * time.Second
	if _, err := e.GoLive(s); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "live", func() bool { st := e.Status(); return st.State == StateLive && st.Stats.FramesSent > 15 })
	if _, err := e.StopRecording(); !errors.Is(err, ErrNotRecording) {
		t.Fatalf("stop with no recording: %v, want ErrNotRecording", err)
	}

	path := filepath.Join(t.TempDir(), "show.mp4")
	record := func(d time.Duration) string {
		t.Helper()
		got, err := e.StartRecording(s, path)
		if err != nil {
			t.Fatal(err)
		}
		if st := e.Status(); st.Recording != got {
			t.Errorf("status says recording to %q; want %q", st.Recording, got)
		}
		if _, err := e.StartRecording(s, path); !errors.Is(err, ErrAlreadyRecording) {
			t.Errorf("a second start: %v, want ErrAlreadyRecording", err)
		}
		time.Sleep(d)
		stopped, err := e.StopRecording()
		if err != nil || stopped != got {
			t.Fatalf("stop: %q, %v; want %q", stopped, err, got)
		}
		if st := e.Status(); st.State != StateLive || st.Recording != "" {
			t.Fatalf("after stopping the recording: state %v, recording %q; want live, none", st.State, st.Recording)
		}
		return got
	}
	first := record(2500 * time.Millisecond)
	second := record(1500 * time.Millisecond)
	if first != path || second != filepath.Join(filepath.Dir(path), "show-2.mp4") {
		t.Errorf("recorded to %s and %s; want %s and show-2.mp4 beside it", first, second, path)
	}
	frames := e.Status().Stats.FramesSent
	waitUntil(t, "the stream going on", func() bool { return e.Status().Stats.FramesSent > frames+15 })
	e.Stop()
	if err := e.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := e.Status(); st.Error != "" {
		t.Fatalf("session error: %s", st.Error)
	}

	for _, f := range []struct {
		path     string
		min, max float64 // seconds
	}{{first, 1.8, 3.2}, {second, 0.8, 2.2}} {
		if _, err := os.Stat(f.path); err != nil {
			t.Fatal(err)
		}
		if errs := peers.DecodeErrors(t, f.path); errs != "" {
			t.Errorf("%s does not decode cleanly: %s", f.path, errs)
		}
		p := peers.ProbeFile(t, f.path)
		v, a := p.Stream("video"), p.Stream("audio")
		if v == nil || a == nil || v.Codec != "h264" || v.Width != 320 || a.Codec != "aac" {
			t.Fatalf("%s: streams %+v", f.path, p.Streams)
		}
		dur, _ := strconv.ParseFloat(p.Format.Duration, 64)
		if dur < f.min || dur > f.max || float64(v.Frames()) < 30*f.min {
			t.Errorf("%s: %.2f s, %d frames; want %.1f..%.1f s at 30 fps", f.path, dur, v.Frames(), f.min, f.max)
		}
		keys := peers.KeyframeTimes(t, f.path)
		if len(keys) == 0 || keys[0] > 0.1 {
			t.Errorf("%s: keyframes at %v; want the first at the start", f.path, keys)
		}
		t.Logf("%s: %.2f s, %d video frames, %s audio frames, keyframes at %v", filepath.Base(f.path), dur, v.Frames(), a.ReadFrames, keys)
	}
}
