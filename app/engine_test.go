package app

import (
	"context"
	"errors"
	"image"
	"strings"
	"testing"
	"time"

	"github.com/tallystudio/tally/capture"
	"github.com/tallystudio/tally/internal/raceflag"
)

func smallSettings() Settings {
	s := DefaultSettings()
	s.Video.Width, s.Video.Height, s.Video.Bitrate = 320, 180, 500_000
	s.Video.Preset = "ultrafast"
	return s
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// The preview and the meter work before going live; going live to the local
// test ingest reaches "live" with moving numbers, and Stop ends cleanly with
// the ingest's report.
func TestEnginePreviewsThenGoesLiveAndStops(t *testing.T) {
	e := NewEngine(nil)
	defer e.Close()
	s := smallSettings()
	if err := e.SetSources(s.Video, s.Audio); err != nil {
		t.Fatal(err)
	}
	dst := image.NewRGBA(image.Rect(0, 0, 160, 90))
	// Once a second the pattern flashes white (with the tone's beep), so a
	// single frame may be the flash: wait for one showing the bars.
	waitUntil(t, "a preview frame with the colour bars", func() bool { return e.PreviewFrame(dst) && distinctColours(dst) >= 6 })
	waitUntil(t, "the tone on the meter", func() bool { l := e.AudioLevel(); return l.PeakDB > -20 && l.RMSDB < l.PeakDB })

	if _, err := e.GoLive(s); err != nil {
		t.Fatal(err)
	}
	if _, err := e.GoLive(s); err != ErrBusy {
		t.Errorf("second GoLive: %v, want ErrBusy", err)
	}
	waitUntil(t, "live", func() bool { return e.Status().State == StateLive })
	waitUntil(t, "stats", func() bool { st := e.Status(); return st.Stats.FramesSent > 30 && len(st.History) >= 2 })
	st := e.Status()
	if st.Stats.SentKbps <= 0 || st.Since.IsZero() {
		t.Errorf("live status %+v", st)
	}
	// The preview keeps running while live.
	if !e.PreviewFrame(dst) {
		t.Error("no preview while live")
	}
	e.Stop()
	if err := e.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	st = e.Status()
	if st.State != StateIdle || st.Error != "" || len(st.Reports) != 1 || !strings.Contains(st.Reports[0], "video: h264 320x180") {
		t.Fatalf("after stop: %+v", st)
	}
}

// A source picked while live replaces the old one without ending the stream.
func TestEngineSwitchesSourceWhileLive(t *testing.T) {
	e := NewEngine(nil)
	defer e.Close()
	s := smallSettings()
	if _, err := e.GoLive(s); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "live", func() bool { st := e.Status(); return st.State == StateLive && st.Stats.FramesSent > 15 })
	s.Audio.Source = "none"
	if err := e.SetSources(s.Video, s.Audio); err != nil {
		t.Fatal(err)
	}
	s.Audio.Source = "tone"
	s.Video.Loop = true // a different key: the video source reopens
	if err := e.SetSources(s.Video, s.Audio); err != nil {
		t.Fatal(err)
	}
	before := e.Status().Stats.FramesSent
	waitUntil(t, "frames after the switch", func() bool { return e.Status().Stats.FramesSent > before+30 })
	if st := e.Status(); st.State != StateLive {
		t.Fatalf("state %v after switching sources: %s", st.State, st.Error)
	}
	e.Stop()
	_ = e.Wait(context.Background())
	if st := e.Status(); st.Error != "" {
		t.Errorf("session error: %s", st.Error)
	}
}

// A refused destination shows as an error state carrying the server's words.
func TestEngineReportsConnectionFailure(t *testing.T) {
	e := NewEngine(nil)
	defer e.Close()
	s := smallSettings()
	s.Destinations = []Destination{{Service: "custom", URL: "rtmp://127.0.0.1:1/live", Key: "live_0000_secretkey"}}
	if _, err := e.GoLive(s); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the error", func() bool { return e.Status().State == StateError })
	st := e.Status()
	if !strings.Contains(st.Error, "refused") || strings.Contains(st.Error, "secretkey") {
		t.Errorf("error %q", st.Error)
	}
}

func distinctColours(img *image.RGBA) int {
	seen := map[[3]uint8]bool{}
	for i := 0; i+3 < len(img.Pix); i += 4 {
		seen[[3]uint8{img.Pix[i], img.Pix[i+1], img.Pix[i+2]}] = true
	}
	return len(seen)
}

// failingVideo is a camera that is unplugged after some frames.
type failingVideo struct {
	capture.VideoReader
	left int
}

func (f *failingVideo) Read() (image.Image, func(), error) {
	if f.left <= 0 {
		return nil, nil, errors.New("VIDIOC_DQBUF: no such device")
	}
	f.left--
	return f.VideoReader.Read()
}

// A camera that disappears mid-stream is replaced by a slate: the stream stays
// live at full frame rate, the loss is reported, and picking a source again
// brings the picture back without stopping.
func TestEngineKeepsStreamingWhenTheCameraIsLost(t *testing.T) {
	e := NewEngine(nil)
	defer e.Close()
	e.prog.open = func(v VideoSettings, a AudioSettings) (capture.VideoReader, capture.AudioReader, func(), error) {
		vr, ar, closeAll, err := openSources(v, a)
		if vr != nil && !v.Loop {
			vr = &failingVideo{VideoReader: vr, left: 45}
		}
		return vr, ar, closeAll, err
	}
	s := smallSettings()
	if _, err := e.GoLive(s); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the loss reported", func() bool {
		st := e.Status()
		return len(st.SourceErrors) == 1 && len(st.Stats.SourcesLost) == 1
	})
	st := e.Status()
	if st.State != StateLive || !strings.Contains(st.SourceErrors[0], "no such device") {
		t.Fatalf("after the camera was lost: state %v, %q", st.State, st.SourceErrors)
	}
	before := st.Stats.FramesSent
	waitUntil(t, "slate frames", func() bool { return e.Status().Stats.FramesSent > before+30 })
	if e.PreviewFrame(image.NewRGBA(image.Rect(0, 0, 16, 9))) {
		t.Error("the preview shows a picture from a lost camera")
	}
	s.Video.Loop = true // re-pick: a different setting reopens the source (and this one does not fail)
	if err := e.SetSources(s.Video, s.Audio); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the loss cleared", func() bool { return len(e.Status().SourceErrors) == 0 })
	before = e.Status().Stats.FramesSent
	waitUntil(t, "frames after re-picking", func() bool { return e.Status().Stats.FramesSent > before+30 })
	e.Stop()
	_ = e.Wait(context.Background())
	st = e.Status()
	if st.Error != "" || len(st.Reports) != 1 {
		t.Fatalf("after stop: %+v", st)
	}
	// Pacing is judged without the race detector, which slows everything.
	if !raceflag.Enabled && strings.Contains(st.Reports[0], "problem:") {
		t.Errorf("the ingest saw problems:\n%s", st.Reports[0])
	}
}

// A window that applies its sources as it closes must not leave a device open:
// after Close, SetSources opens nothing, and the next engine can open the same
// (process-wide) test pattern.
func TestEngineOpensNothingAfterClose(t *testing.T) {
	s := smallSettings()
	e := NewEngine(nil)
	if err := e.SetSources(s.Video, s.Audio); err != nil {
		t.Fatal(err)
	}
	_ = e.Close()
	if err := e.SetSources(s.Video, s.Audio); !errors.Is(err, ErrClosed) {
		t.Fatalf("SetSources after Close: %v, want ErrClosed", err)
	}
	e2 := NewEngine(nil)
	defer e2.Close()
	if err := e2.SetSources(s.Video, s.Audio); err != nil {
		t.Fatalf("the next engine cannot open the sources: %v", err)
	}
	waitUntil(t, "a preview frame", func() bool { return e2.PreviewFrame(image.NewRGBA(image.Rect(0, 0, 64, 36))) })
}
