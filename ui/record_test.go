package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/tallystudio/tally/app"
)

// Record without a file asks for one; with one it records alone, and Go
// Live streams beside it, the Stop that ends that stream leaving it running;
// while live it starts and stops on its own, the stream going on; a second
// recording to the same file takes the next free name.
func TestRecordButtonRecordsAloneAndWhileLive(t *testing.T) {
	s, _ := newTestStudio(t, &app.MemoryKeys{})
	eventually(t, "the preview", func() bool { return s.preview.HasSignal() })

	onUI(func() { test.Tap(s.recordButton) })
	eventually(t, "the question for a file", func() bool { return showing(s, "No recording file") })
	onUI(func() { tapButton(t, s, "OK") })

	path := filepath.Join(t.TempDir(), "show.mkv")
	onUI(func() { s.output.record.SetText(path) })
	onUI(func() { test.Tap(s.recordButton) })
	alone := func(what string) {
		t.Helper()
		eventually(t, what, func() bool {
			return strings.HasPrefix(s.stateLabel.Text, "● REC") && s.recordButton.Text == "Stop Recording" &&
				s.liveButton.Text == "Go Live" && !s.liveButton.Disabled() && !s.dests.add.Disabled()
		})
	}
	alone("recording alone")
	onUI(func() { test.Tap(s.liveButton) })
	eventually(t, "live beside the recording", func() bool {
		return strings.HasPrefix(s.stateLabel.Text, "● LIVE") && strings.Contains(s.stateLabel.Text, "● REC") &&
			s.liveButton.Text == "Stop" && s.dests.add.Disabled()
	})
	time.Sleep(time.Second)
	onUI(func() { test.Tap(s.liveButton) })
	eventually(t, "the confirmation", func() bool { return showing(s, "Stop streaming?") })
	onUI(func() { tapButton(t, s, "Yes") })
	alone("the recording going on after the stream")
	onUI(func() { test.Tap(s.recordButton) })
	eventually(t, "idle after the recording", func() bool {
		return s.stateLabel.Text == "Idle" && s.recordButton.Text == "Record" && !s.liveButton.Disabled()
	})

	// Live without a recording, then one that starts and stops.
	onUI(func() { s.output.record.SetText("") })
	onUI(func() { test.Tap(s.liveButton) })
	eventually(t, "live", func() bool {
		return strings.HasPrefix(s.stateLabel.Text, "● LIVE") && s.recordButton.Text == "Record"
	})
	onUI(func() {
		if s.output.record.Disabled() {
			t.Error("the recording's file cannot be chosen while live")
		}
		s.output.record.SetText(path)
		test.Tap(s.recordButton)
	})
	second := filepath.Join(filepath.Dir(path), "show-2.mkv")
	eventually(t, "recording while live", func() bool {
		return strings.Contains(s.stateLabel.Text, "● LIVE") && strings.Contains(s.stateLabel.Text, "● REC") &&
			strings.Contains(s.detail.Text, second)
	})
	time.Sleep(1500 * time.Millisecond)
	onUI(func() { test.Tap(s.recordButton) })
	eventually(t, "the recording saved, the stream going on", func() bool {
		return strings.HasPrefix(s.stateLabel.Text, "● LIVE") && !strings.Contains(s.stateLabel.Text, "● REC") &&
			strings.Contains(s.detail.Text, second) && s.recordButton.Text == "Record"
	})
	stopLive(t, s)
	for _, p := range []string{path, second} {
		if fi, err := os.Stat(p); err != nil || fi.Size() < 10_000 {
			t.Errorf("recording %s: %v", p, err)
		}
	}
}
