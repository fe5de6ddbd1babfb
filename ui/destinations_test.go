package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/tallystudio/tally/app"
	"github.com/tallystudio/tally/ingest"
)

// A destination can take a video of its own (here YouTube's HEVC preset,
// sent to Tally's own ingest, which states that it takes HEVC); the row
// shows that output while live, and the choice is remembered.
func TestDestinationWithItsOwnOutputShowsItLiveAndIsRemembered(t *testing.T) {
	in, err := ingest.Start("127.0.0.1:0", ingest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
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
	onUI(func() { test.Tap(s.liveButton) })
	eventually(t, "the confirmation", func() bool { return showing(s, "Stop streaming?") })
	onUI(func() { tapButton(t, s, "Yes") })
	eventually(t, "idle", func() bool { return s.stateLabel.Text == "Idle" })
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
