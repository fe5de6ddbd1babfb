package ui

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"

	"fyne.io/fyne/v2"

	"github.com/tallystudio/tally/app"
)

// prefsKey holds the settings as JSON in Fyne's preferences; the version in the
// name lets a future format start clean instead of misreading this one.
const prefsKey = "settings.v1"

// tabKey holds the title of the tab last open, which opens again on the next
// run: someone who edits scenes finds the Scenes tab where they left it.
const tabKey = "studio.tab"

// savedDest is a destination as stored: never its key, which lives in the
// keyring under ID.
type savedDest struct {
	ID      string
	Service string
	URL     string
	CAFile  string `json:",omitempty"`
	Dynamic bool   `json:",omitempty"`
	Output  string `json:",omitempty"` // an output preset's ID
	Assume  bool   `json:",omitempty"` // AssumeEnhanced
	// Video is a Custom output's renditions.
	Video []app.Rendition `json:",omitempty"`
}

type savedSettings struct {
	Video        app.VideoSettings
	Audio        app.AudioSettings
	Record       string
	Destinations []savedDest
}

// loaded is what the panels start from.
type loaded struct {
	app.Settings
	ids []string
}

// loadSettings reads the saved settings; a first run (or unreadable
// preferences) gets the defaults, whose one destination is the local test.
func loadSettings(p fyne.Preferences) loaded {
	l := loaded{Settings: app.DefaultSettings()}
	var s savedSettings
	if raw := p.String(prefsKey); raw == "" || json.Unmarshal([]byte(raw), &s) != nil || s.Video.Width == 0 {
		l.ids = []string{newID()}
		return l
	}
	l.Video, l.Audio, l.Record = s.Video, s.Audio, s.Record
	l.Destinations = nil
	for _, d := range s.Destinations {
		l.Destinations = append(l.Destinations, app.Destination{Service: d.Service, URL: d.URL, CAFile: d.CAFile,
			DynamicBitrate: d.Dynamic, Output: d.Output, AssumeEnhanced: d.Assume, Video: d.Video})
		l.ids = append(l.ids, d.ID)
	}
	if len(l.Destinations) == 0 {
		l.Destinations, l.ids = []app.Destination{{Service: "local"}}, []string{newID()}
	}
	return l
}

func saveSettings(p fyne.Preferences, st app.Settings, ids []string) {
	s := savedSettings{Video: st.Video, Audio: st.Audio, Record: st.Record}
	for i, d := range st.Destinations {
		s.Destinations = append(s.Destinations, savedDest{ID: ids[i], Service: d.Service, URL: d.URL, CAFile: d.CAFile,
			Dynamic: d.DynamicBitrate, Output: d.Output, Assume: d.AssumeEnhanced, Video: d.Video})
	}
	raw, err := json.Marshal(s)
	if err == nil {
		p.SetString(prefsKey, string(raw))
	}
}

// newID names a destination in the keyring.
func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "dest-" + hex.EncodeToString(b)
}
