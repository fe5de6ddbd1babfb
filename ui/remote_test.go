package ui

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/tallystudio/tally/app"
)

// remoteMixerEngine is a mixerEngine whose sound controls a test sets, as a
// remote client's SetInputMute would leave them in the engine.
type remoteMixerEngine struct {
	*mixerEngine
	mu       sync.Mutex
	edits    uint64
	controls []app.SoundControl
}

func (e *remoteMixerEngine) SoundEdits() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.edits
}

func (e *remoteMixerEngine) SoundControls() []app.SoundControl {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.controls
}

func (e *remoteMixerEngine) remoteEdit(c ...app.SoundControl) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.edits++
	e.controls = c
}

func newRemoteStudio(t *testing.T) (*Studio, *remoteMixerEngine, *app.MemoryKeys, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "scenes.json")
	if err := soundScenes().Save(path); err != nil {
		t.Fatal(err)
	}
	a := test.NewApp()
	t.Cleanup(a.Quit)
	eng := &remoteMixerEngine{mixerEngine: &mixerEngine{sceneEngine: &sceneEngine{Engine: app.NewEngine(nil)}}}
	t.Cleanup(func() { _ = eng.Engine.Close() })
	keys := &app.MemoryKeys{}
	var s *Studio
	onUI(func() { s = NewStudio(a, eng, keys, WithScenesFile(path), WithPreviewFPS(0)) })
	t.Cleanup(func() { _ = s.Close() })
	onUI(func() { s.sources.useMix() })
	eventually(t, "the collection applied", func() bool { c, _, _ := eng.last(); return c != nil })
	return s, eng, keys, path
}

func buttonText(s *Studio) string {
	var text string
	onUI(func() { text = s.remote.button.Text })
	return text
}

// The state bar says whether the remote control is on and how many clients
// it has; it is off until the user turns it on with a password, which goes
// to the keyring and never to the preferences.
func TestStateBarShowsTheRemoteControlAndItsClients(t *testing.T) {
	s, eng, keys, _ := newRemoteStudio(t)
	if got := buttonText(s); got != "Remote control off" {
		t.Fatalf("button %q before it is turned on", got)
	}
	if err := s.remote.apply(true, "127.0.0.1:0", ""); err == nil || eng.RemoteStatus().On {
		t.Fatalf("turned on without a password: %v", err)
	}
	if err := s.remote.apply(true, "127.0.0.1:0", "hunter2-remote"); err != nil {
		t.Fatal(err)
	}
	if !eng.RemoteStatus().On {
		t.Fatal("the engine's remote control is off")
	}
	eventually(t, "the button to say it is on", func() bool { return s.remote.button.Text == "Remote control on, clients: 0" })
	if pw, _ := keys.Get(remoteKeyEntry); pw != "hunter2-remote" {
		t.Errorf("keyring holds %q", pw)
	}
	if strings.Contains(s.prefs.String(remoteAddrKey), "hunter2") || s.prefs.String("remote.password") != "" {
		t.Error("the password is in the preferences")
	}
	if err := s.remote.apply(false, "127.0.0.1:0", ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the button to say it is off", func() bool { return s.remote.button.Text == "Remote control off" })
}

// A mute a remote client made in the engine comes into the window's
// collection, its mixer strip and its saved file, so that the window's next
// edit does not undo it.
func TestRemoteMuteComesIntoTheWindowsCollection(t *testing.T) {
	s, eng, _, path := newRemoteStudio(t)
	eng.remoteEdit(app.SoundControl{Source: "Music", Type: "tone", Muted: true, GainDB: -6})
	// eventually runs its check on the UI thread.
	eventually(t, "the window to take the mute", func() bool {
		src, ok := s.scenes.col.Source("Music")
		return ok && src.Audio != nil && src.Audio.Muted && src.Audio.GainDB == -6
	})
	eventually(t, "the mute saved", func() bool { a := savedAudio(path, "Music"); return a != nil && a.Muted })
	eventually(t, "the mute applied", func() bool { a := appliedAudio(eng.mixerEngine, "Music"); return a != nil && a.Muted })
}
