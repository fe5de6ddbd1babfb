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

// Streaming and recording are separate outputs, as in OBS. A recording
// started while live goes on when the stream stops (the server sees the
// unpublish); a stream goes live beside the recording, refusing another
// canvas, and stops without it; the file spans all of it in one piece.
func TestRecordingOutlivesTheStreamThatAnotherStreamJoins(t *testing.T) {
	if testing.Short() {
		t.Skip("streams to nginx for several seconds")
	}
	ng := peers.StartNginx(t, peers.NginxOptions{})
	e := NewEngine(nil)
	defer e.Close()
	s := smallSettings()
	s.Video.KeyframeInterval = time.Second
	s.Destinations = []Destination{{Service: "custom", URL: ng.URL(), Key: "recording-outlives"}}
	live := func() {
		t.Helper()
		if _, err := e.GoLive(s); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "live", func() bool {
			st := e.Status()
			return st.State == StateLive && len(st.Stats.Destinations) == 1 && st.Stats.Destinations[0].State == StateLive
		})
	}
	stopStream := func(path string) {
		t.Helper()
		e.Stop()
		waitUntil(t, "the stream unpublished, the recording going on", func() bool {
			st := e.Status()
			return ng.Unpublished() && st.State == StateLive && st.Recording == path && len(st.Stats.Destinations) == 0
		})
	}

	live()
	path := filepath.Join(t.TempDir(), "show.mkv")
	if _, err := e.StartRecording(s, path); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	time.Sleep(1500 * time.Millisecond)
	stopStream(path)
	time.Sleep(time.Second)

	other := s
	other.Video.Width, other.Video.Height = 640, 360
	if _, err := e.GoLive(other); err == nil {
		t.Fatal("went live at another size under a recording running alone")
	}
	s.Record = filepath.Join(t.TempDir(), "second.mkv") // the recording under way is the one
	live()
	if st := e.Status(); st.Recording != path {
		t.Fatalf("recording to %q beside the stream; want %q", st.Recording, path)
	}
	time.Sleep(1500 * time.Millisecond)
	stopStream(path)
	if got, err := e.StopRecording(); err != nil || got != path {
		t.Fatalf("stop recording: %q, %v", got, err)
	}
	wall := time.Since(began).Seconds()
	if err := e.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := e.Status(); st.State != StateIdle || st.Recording != "" || st.Error != "" {
		t.Fatalf("after it all: %+v", st)
	}
	if _, err := os.Stat(s.Record); err == nil {
		t.Error("the stream beside the recording recorded a second file")
	}

	if errs := peers.DecodeErrors(t, path); errs != "" {
		t.Errorf("the recording does not decode cleanly: %s", errs)
	}
	p := peers.ProbeFile(t, path)
	v := p.Stream("video")
	dur, _ := strconv.ParseFloat(p.Format.Duration, 64)
	// One piece: as long as it ran, and a frame every 1/30 s of it.
	if v == nil || dur < wall-1 || dur > wall+0.5 || float64(v.Frames()) < 30*(dur-0.5) {
		t.Fatalf("recording: %.2f s, streams %+v; ran %.2f s at 30 fps", dur, p.Streams, wall)
	}
	t.Logf("%.2f s (ran %.2f s), %d frames", dur, wall, v.Frames())
}

// Go Live with no destination only records, and stopping that recording
// ends it all. A stream that fails beside a recording running alone says
// why, while the recording goes on.
func TestARecordingAloneEndsWithItsStopAndShowsAStreamFailingBesideIt(t *testing.T) {
	if testing.Short() {
		t.Skip("records for a few seconds")
	}
	e := NewEngine(nil)
	defer e.Close()
	s := smallSettings()
	s.Destinations = nil
	s.Record = filepath.Join(t.TempDir(), "alone.mkv")
	if _, err := e.GoLive(s); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "recording alone", func() bool {
		st := e.Status()
		return st.State == StateLive && st.Recording == s.Record && !st.Streaming
	})
	time.Sleep(time.Second)

	// Nothing listens on port 1: the stream fails at once, for good.
	failing := smallSettings()
	failing.Destinations = []Destination{{Service: "custom", URL: "rtmp://127.0.0.1:1/live", Key: "beside-a-recording"}}
	failing.Reconnect.Off = true
	if _, err := e.GoLive(failing); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the failure shown beside the recording", func() bool {
		st := e.Status()
		return !st.Streaming && st.Error != "" && st.Recording == s.Record && st.State == StateLive
	})
	t.Logf("shown: %s", e.Status().Error)

	path, err := e.StopRecording()
	if err != nil || path != s.Record {
		t.Fatalf("stop: %q, %v", path, err)
	}
	// StopRecording returns once the file is finished.
	if st := e.Status(); st.Recording != "" || st.Streaming || (st.State != StateIdle && st.State != StateError) {
		t.Fatalf("after StopRecording: %+v", st)
	}
	if errs := peers.DecodeErrors(t, path); errs != "" {
		t.Errorf("%s does not decode cleanly: %s", path, errs)
	}
}

// A Stop that leaves a recording going on ends the other destinations'
// streams as a full stop does: the encoders only they took give up the
// frames still in them (x264's lookahead at veryfast) before the unpublish.
func TestStopWithARecordingGoingOnFlushesTheEncodesItStops(t *testing.T) {
	if testing.Short() {
		t.Skip("streams to nginx for a few seconds")
	}
	ng := peers.StartNginx(t, peers.NginxOptions{})
	e := NewEngine(nil)
	defer e.Close()
	s := smallSettings()
	s.Destinations = []Destination{
		{Service: "custom", URL: ng.URL(), Key: "takes-the-session-encode"},
		{Service: "custom", URL: ng.URL(), Key: "has-its-own", Video: []Rendition{{Width: 160, Height: 90, Preset: "veryfast"}}},
	}
	if _, err := e.GoLive(s); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "live to both", func() bool {
		st := e.Status()
		return st.State == StateLive && len(st.Stats.Destinations) == 2 &&
			st.Stats.Destinations[0].State == StateLive && st.Stats.Destinations[1].State == StateLive
	})
	if _, err := e.StartRecording(s, filepath.Join(t.TempDir(), "show.mkv")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	e.mu.Lock()
	sess := e.sess
	e.mu.Unlock()
	e.Stop()
	waitUntil(t, "the stream ended, the recording going on", func() bool {
		st := e.Status()
		return ng.Unpublished() && !st.Streaming && st.Recording != ""
	})
	var stopped int
	for _, o := range sess.outs {
		in, out := o.framesIn.Load(), o.packetsOut.Load()
		if o.idle.Load() {
			stopped++
			if in == 0 || out != in {
				t.Errorf("the stopped %dx%d encode took %d frames and gave %d", o.r.Width, o.r.Height, in, out)
			}
		}
		t.Logf("%dx%d %s: %d frames in, %d out, stopped %v", o.r.Width, o.r.Height, o.r.Preset, in, out, o.idle.Load())
	}
	if stopped != 1 {
		t.Errorf("%d encodes stopped; want the 160x90 one", stopped)
	}
	if _, err := e.StopRecording(); err != nil {
		t.Fatal(err)
	}
}
