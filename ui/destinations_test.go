package ui

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"

	"fyne.io/fyne/v2/test"

	"github.com/tallystudio/tally/app"
)

// A destination can take a video of its own (here YouTube's HEVC preset,
// sent to Tally's own ingest, which states that it takes HEVC); the row
// shows that output while live, and the choice is remembered.
func TestDestinationWithItsOwnOutputShowsItLiveAndIsRemembered(t *testing.T) {
	in := startIngest(t)
	s, eng := newTestStudio(t, &app.MemoryKeys{})
	onUI(func() {
		test.Tap(s.dests.add)
		r := s.dests.rows[1]
		r.service.SetSelected("Custom RTMP server")
		r.url.SetText(in.URL("live"))
		r.key.SetText(secret)
		r.output.SetSelected("YouTube HEVC")
	})
	onUI(func() { test.Tap(s.liveButton) })
	eventually(t, "both live, the second in HEVC", func() bool {
		st := s.dests.rows[1].status.Text
		return strings.HasPrefix(s.dests.rows[0].status.Text, "live ·") && strings.HasPrefix(st, "live ·") &&
			strings.Contains(st, "HEVC 640x360 30 fps")
	})
	// A second of video on the HEVC destination before stopping, however
	// slowly a busy machine encodes it.
	eventually(t, "30 frames sent", func() bool {
		d := eng.Status().Stats.Destinations
		return len(d) == 2 && d[1].FramesSent >= 30
	})
	if strings.Contains(s.dests.rows[0].status.Text, "HEVC") {
		t.Errorf("the first destination, on the Output tab's encode, shows %q", s.dests.rows[0].status.Text)
	}
	stopLive(t, s)
	if reps := in.Reports(); len(reps) != 1 || reps[0].Video == nil || reps[0].Video.Codec != "hevc" || reps[0].Video.Frames < 30 {
		t.Errorf("the HEVC destination's server saw %+v", reps)
	}
	if got := s.current().Destinations[1].Output; got != "youtube-hevc" {
		t.Errorf("the destination's output is %q; want youtube-hevc", got)
	}
}

// A server URL typed as rtmpe:// shows, under it, that RTMPE is obfuscation
// and not security, and points to rtmps://; an rtmps:// one shows nothing.
func TestDestinationWarnsThatRTMPEIsNotSecurity(t *testing.T) {
	s, _ := newTestStudio(t, &app.MemoryKeys{})
	onUI(func() {
		r := s.dests.rows[0]
		r.service.SetSelected("Custom RTMP server")
		r.key.SetText(secret)
		r.url.SetText("")
		test.Type(r.url, "rtmpe://ingest.example.com/live")
		if !strings.Contains(r.hint.Text, "RTMPE is obfuscation, not security") || !strings.Contains(r.hint.Text, "Use rtmps://") {
			t.Errorf("hint for rtmpe:// is %q", r.hint.Text)
		}
		if !r.hint.Visible() || !showing(s, "obfuscation, not security") {
			t.Errorf("the warning is not on screen: %q", texts(s))
		}
		r.url.SetText("rtmpte://ingest.example.com:8080/live")
		if !strings.Contains(r.hint.Text, "obfuscation, not security") {
			t.Errorf("hint for rtmpte:// is %q", r.hint.Text)
		}
	})
	noKeyShown(t, s)
}

func TestDestinationOverRTMPSHasNoWarning(t *testing.T) {
	s, _ := newTestStudio(t, &app.MemoryKeys{})
	onUI(func() {
		r := s.dests.rows[0]
		r.service.SetSelected("Custom RTMP server")
		r.key.SetText(secret)
		r.url.SetText("")
		test.Type(r.url, "rtmps://ingest.example.com/live")
		if r.hint.Text != "" {
			t.Errorf("hint for rtmps:// is %q; want none", r.hint.Text)
		}
		if showing(s, "obfuscation") {
			t.Errorf("an RTMPE warning is on screen for rtmps://: %q", texts(s))
		}
	})
}

// A destination's own video is edited in the output editor: it says what is
// wrong as it is typed and keeps nothing the engine would refuse; what it
// keeps is sent (here two tracks of one Enhanced RTMP multitrack stream to
// Tally's own ingest, which states that it takes them), shown, and
// remembered across a restart.
func TestDestinationCustomOutputIsCheckedSentAsTracksAndRemembered(t *testing.T) {
	in := startIngest(t)
	s, eng := newTestStudio(t, &app.MemoryKeys{})
	var r *destRow
	onUI(func() {
		test.Tap(s.dests.add)
		r = s.dests.rows[1]
		r.service.SetSelected("Custom RTMP server")
		r.url.SetText(in.URL("live"))
		r.key.SetText(secret)
		r.output.SetSelected("Custom")
	})
	eventually(t, "the editor, from the Output tab's video", func() bool {
		e := s.dests.editor
		return e != nil && len(e.tracks) == 1 && e.tracks[0].size.Text == "640x360" && e.tracks[0].kbps.Text == "800" &&
			e.tracks[0].codec.Selected == "H.264" && e.tracks[0].fps.Selected == "30" && showing(s, "Video for this destination")
	})
	e := s.dests.editor
	onUI(func() {
		test.Tap(e.add)
		if len(e.tracks) != 2 || e.tracks[1].size.Text != "320x180" || e.tracks[1].kbps.Text != "400" {
			t.Fatalf("the added track starts as %q at %q kb/s; want the next rung, 320x180 at 400", e.tracks[1].size.Text, e.tracks[1].kbps.Text)
		}
		e.tracks[1].fps.SetSelected("15")
		for _, bad := range []struct{ size, kbps, want string }{
			{"641x360", "800", "track 0: size 641x360 must have even width and height"},
			{"1280x720", "800", "track 0: 1280x720 is larger than the 640x360 canvas"},
			{"wide", "800", `track 0: "wide" is not a size`},
			{"640x360", "lots", `track 0: bitrate "lots" is not a whole number of kb/s`},
			{"640x360", "50", "track 0: video bitrate 50 kb/s is out of range"},
		} {
			e.tracks[0].size.SetText(bad.size)
			e.tracks[0].kbps.SetText(bad.kbps)
			if !strings.Contains(e.errs.Text, bad.want) || !e.save.Disabled() {
				t.Errorf("%s at %s kb/s: the editor says %q (save disabled: %v); want %q", bad.size, bad.kbps, e.errs.Text, e.save.Disabled(), bad.want)
			}
			test.Tap(e.save)
			if len(r.video) != 0 {
				t.Fatalf("%s at %s kb/s was kept", bad.size, bad.kbps)
			}
		}
		e.tracks[0].size.SetText("640x360")
		e.tracks[0].kbps.SetText("800")
		if e.errs.Text != "" || e.save.Disabled() {
			t.Errorf("good tracks: the editor says %q", e.errs.Text)
		}
	})
	saveScreenshot(t, s, "screenshot-output-editor.png")
	onUI(func() { test.Tap(e.save) })
	const plan = "track 0: H.264 640x360 30 fps 800 kb/s; track 1: H.264 320x180 15 fps 400 kb/s"
	eventually(t, "the plan under the destination", func() bool { return r.plan.Text == plan && r.output.Selected == "Custom" })

	onUI(func() { test.Tap(s.liveButton) })
	eventually(t, "both live, the second with its two tracks", func() bool {
		return strings.HasPrefix(s.dests.rows[0].status.Text, "live ·") && strings.HasPrefix(r.status.Text, "live ·") &&
			strings.Contains(r.status.Text, plan)
	})
	eventually(t, "a second of both tracks sent", func() bool {
		d := eng.Status().Stats.Destinations
		return len(d) == 2 && d[1].FramesSent >= 45
	})
	stopLive(t, s)
	reps := in.Reports()
	if len(reps) != 1 || reps[0].Video == nil || reps[0].Video.Width != 640 || reps[0].Video.Frames < 30 || reps[0].Video.OtherTracks[1] < 15 {
		t.Errorf("the server saw %+v; want track 0 at 640 wide and frames on track 1", reps)
	}

	var saved loaded
	onUI(func() { saved = loadSettings(s.prefs) })
	if got := saved.Destinations[1].Video; len(got) != 2 || got[1].Width != 320 || got[1].FPS != 15 || got[1].Bitrate != 400_000 {
		t.Errorf("after a restart the destination's video is %+v", got)
	}
}

// Cancelling the editor that choosing Custom opened goes back to the choice
// before, and keeps no renditions.
func TestDestinationCustomOutputCancelledKeepsTheChoiceBefore(t *testing.T) {
	s, _ := newTestStudio(t, &app.MemoryKeys{})
	var r *destRow
	onUI(func() {
		r = s.dests.rows[0]
		r.service.SetSelected("Custom RTMP server")
		r.output.SetSelected("YouTube AV1")
		r.output.SetSelected("Custom")
	})
	eventually(t, "the editor, from the preset", func() bool {
		e := s.dests.editor
		return e != nil && len(e.tracks) == 1 && e.tracks[0].codec.Selected == "AV1"
	})
	onUI(func() { tapButton(t, s, "Cancel") })
	eventually(t, "the preset chosen again", func() bool { return r.output.Selected == "YouTube AV1" })
	// An editor open when the studio goes live closes, and what it would
	// have saved is not kept.
	onUI(func() {
		test.Tap(r.edit)
		if s.dests.editor == nil {
			t.Fatal("Edit… opened no editor")
		}
		s.dests.setLive(true)
		if s.dests.editor != nil || showing(s, "Video for this destination") {
			t.Error("the editor stays open while live")
		}
		s.dests.setLive(false)
	})
	if len(r.video) != 0 || s.current().Destinations[0].Output != "youtube-av1" {
		t.Errorf("after cancelling: video %+v, output %q", r.video, s.current().Destinations[0].Output)
	}
}

// saveScreenshot writes the window, dialogs included, as Fyne's software
// painter draws it in Tally's theme, to TALLY_SCREENSHOT_DIR when make
// screenshots sets it.
func saveScreenshot(t *testing.T, s *Studio, name string) {
	t.Helper()
	dir := os.Getenv("TALLY_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	var img image.Image
	onUI(func() {
		fyne.CurrentApp().Settings().SetTheme(NewTheme())
		img = s.Window.Canvas().Capture()
	})
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", f.Name())
}
