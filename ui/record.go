package ui

import (
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"

	"github.com/tallystudio/tally/app"
)

// The Record button beside Go Live starts a recording to the Output tab's
// file, alone or joining the stream under way, and stops it while the
// stream goes on; the recording goes on when the stream stops, and a stream
// goes live beside it: as OBS's Start and Stop Recording do.

func (s *Studio) recordButtonTapped() {
	if s.recording != "" {
		s.recordButton.Disable()
		go func() {
			path, err := s.eng.StopRecording()
			runOnUI(func() {
				s.recordButton.Enable()
				if err != nil {
					s.detail.SetText(err.Error())
					return
				}
				s.saved = path
				s.detail.SetText(s.recordingDetail(""))
			})
		}()
		return
	}
	st := s.current()
	if st.Record == "" {
		dialog.ShowInformation(lang.L("No recording file"),
			lang.L("Choose where to record on the Output tab (a file ending in .flv, .mp4 or .mkv), then press Record again."), s.Window)
		return
	}
	s.recordButton.Disable()
	go func() {
		path, err := s.eng.StartRecording(st, st.Record)
		runOnUI(func() {
			s.recordButton.Enable()
			if err != nil {
				s.detail.SetText(err.Error())
				return
			}
			s.saved = ""
			s.showRecording(path, s.recordingAlone || !s.lastState.Active())
			s.detail.SetText(s.recordingDetail(path))
		})
	}()
}

// recordingDetail is the state bar's line about recording: the file being
// recorded to, else the one last saved with the button.
func (s *Studio) recordingDetail(path string) string {
	switch {
	case path != "":
		return lang.L("Recording to {{.Path}}", map[string]any{"Path": path})
	case s.saved != "":
		return lang.L("Recording saved: {{.Path}}", map[string]any{"Path": s.saved})
	}
	return ""
}

// showRecording shows whether a recording runs, and whether alone: then
// Go Live starts a stream beside it, to destinations that can still be
// edited, and the Stop that ends that stream leaves the recording running.
func (s *Studio) showRecording(path string, alone bool) {
	s.recording, s.recordingAlone = path, alone
	if path != "" {
		s.recordButton.SetText(lang.L("Stop Recording"))
		s.recordButton.Importance = widget.WarningImportance
	} else {
		s.recordButton.SetText(lang.L("Record"))
		s.recordButton.Importance = widget.MediumImportance
	}
	s.recordButton.Refresh()
	if s.lastState == app.StateStopping {
		s.recordButton.Disable()
	} else {
		s.recordButton.Enable()
	}
	if alone {
		s.liveButton.SetText(lang.L("Go Live"))
	} else if s.lastState.Active() { // the same state, with a stream now
		s.liveButton.SetText(lang.L("Stop"))
	}
	if s.lastState != app.StateStopping {
		s.liveButton.Enable()
	}
	if locked := s.lastState.Active() && !alone; s.dests.live != locked {
		s.dests.setLive(locked)
	}
}
