package ui

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/tallystudio/tally/app"
	"github.com/tallystudio/tally/scene"
)

// mixerEngine is a sceneEngine whose mixer meters read what the test sets.
type mixerEngine struct {
	*sceneEngine
	lmu    sync.Mutex
	levels app.MixLevels
}

func (e *mixerEngine) SoundLevels() app.MixLevels {
	e.lmu.Lock()
	defer e.lmu.Unlock()
	return e.levels
}

func (e *mixerEngine) setLevels(l app.MixLevels) {
	e.lmu.Lock()
	e.levels = l
	e.lmu.Unlock()
}

// soundScenes is twoScenes with sound: a global microphone, a tone that
// scene A plays at -12 dB, and a jingle only scene B plays.
func soundScenes() *scene.Collection {
	c := twoScenes()
	c.Sources = append(c.Sources,
		scene.Source{Name: "Mic", Type: scene.TypeMicrophone},
		scene.Source{Name: "Music", Type: scene.TypeTone, Frequency: 660, Audio: &scene.Audio{GainDB: -12}},
		scene.Source{Name: "Jingle", Type: scene.TypeTone, Frequency: 880})
	c.Scenes[0].Layers = append(c.Scenes[0].Layers, scene.Layer{Source: "Music"})
	c.Scenes[1].Layers = append(c.Scenes[1].Layers, scene.Layer{Source: "Jingle"})
	c.Normalise()
	return c
}

// newMixerStudio opens the studio on a mixerEngine with col in a file of
// the test's, the program set to the scenes and their mix, and the Mixer
// tab open.
func newMixerStudio(t *testing.T, col *scene.Collection) (*Studio, *mixerEngine, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "scenes.json")
	if err := col.Save(path); err != nil {
		t.Fatal(err)
	}
	a := test.NewApp()
	t.Cleanup(a.Quit)
	eng := &mixerEngine{sceneEngine: &sceneEngine{Engine: app.NewEngine(nil)}}
	var s *Studio
	onUI(func() { s = NewStudio(a, eng, &app.MemoryKeys{}, WithScenesFile(path), WithPreviewFPS(0)) })
	t.Cleanup(func() { _ = s.Close() })
	onUI(func() {
		s.sources.useMix()
		openTab(t, s, "Mixer")
	})
	eventually(t, "the collection applied", func() bool { c, _, _ := eng.last(); return c != nil })
	return s, eng, path
}

// stripNames are the titles of the mixer's strips, the master's last.
func stripNames(m *mixerPanel) []string {
	var out []string
	for _, st := range m.strips {
		out = append(out, st.title.Text)
	}
	return append(out, m.master.title.Text)
}

// strip is the strip of a source.
func strip(t *testing.T, m *mixerPanel, name string) *mixStrip {
	t.Helper()
	for _, st := range m.strips {
		if st.name == name {
			return st
		}
	}
	t.Fatalf("no strip %q among %q", name, stripNames(m))
	return nil
}

// appliedAudio is a source's sound settings in the collection the engine
// was last given.
func appliedAudio(e *mixerEngine, name string) *scene.Audio {
	c, _, _ := e.last()
	if c == nil {
		return nil
	}
	s, ok := c.Source(name)
	if !ok || s.Audio == nil {
		return &scene.Audio{}
	}
	return s.Audio
}

// savedAudio is a source's sound settings in the file.
func savedAudio(path, name string) *scene.Audio {
	c, err := scene.Load(path)
	if err != nil {
		return nil
	}
	s, ok := c.Source(name)
	if !ok || s.Audio == nil {
		return &scene.Audio{}
	}
	return s.Audio
}

// tapKeyButton taps the visible mixer button with this text, dialogs first.
func tapKeyButton(t *testing.T, s *Studio, text string) {
	t.Helper()
	var objs []fyne.CanvasObject
	for _, o := range s.Window.Canvas().Overlays().List() {
		objs = append(objs, test.LaidOutObjects(o)...)
	}
	objs = append(objs, test.LaidOutObjects(s.Window.Content())...)
	var seen []string
	for _, o := range objs {
		if b, ok := o.(*keyButton); ok && b.Visible() {
			if b.Text == text {
				test.Tap(b)
				return
			}
			seen = append(seen, b.Text)
		}
	}
	t.Fatalf("no button %q among %q", text, seen)
}

// press types a key at what has the focus.
func press(s *Studio, k fyne.KeyName) {
	s.Window.Canvas().Focused().TypedKey(&fyne.KeyEvent{Name: k})
}

// tabTo moves the focus with Tab, from nothing focused, until it reaches o;
// it tells whether it did.
func tabTo(s *Studio, o fyne.Focusable) bool {
	c := s.Window.Canvas()
	c.Unfocus()
	for range 500 {
		c.FocusNext()
		if c.Focused() == o {
			return true
		}
	}
	return false
}

// With two sound sources heard (a global microphone and the tone of the
// scene on air) the mixer shows a strip for each, in the collection's
// order, then the master; the jingle of the other scene has none until
// that scene goes on air.
func TestMixerShowsAStripPerSoundSourceHeard(t *testing.T) {
	s, _, _ := newMixerStudio(t, soundScenes())
	onUI(func() {
		if got, want := stripNames(s.mixer), []string{"Mic", "Music", "Master"}; !slices.Equal(got, want) {
			t.Errorf("strips %q, want %q", got, want)
		}
		if st := strip(t, s.mixer, "Music"); strings.TrimSpace(st.value.Text) != "-12.0 dB" || st.fader.Value != -12 {
			t.Errorf("Music's fader shows %q at %v, want -12 dB", st.value.Text, st.fader.Value)
		}
		if showing(s, "not this mix") || showing(s, "not the scenes") {
			t.Error("the mixer warns that its mix is not heard, while it is the program's sound")
		}
		test.Tap(row(t, s.scenes.sceneRows, "B"))
		if got, want := stripNames(s.mixer), []string{"Mic", "Jingle", "Master"}; !slices.Equal(got, want) {
			t.Errorf("with B on air: strips %q, want %q", got, want)
		}
		s.sources.audio.SetSelected("Test tone (440 Hz, beep each second)")
		if !showing(s, "not this mix") {
			t.Error("the mixer does not say the program's sound is another source")
		}
	})
}

// Every control of every strip is reached with Tab, and a fader moves
// with the keys: Down takes the tone 1 dB down, Page Up 6 dB up, Home to
// -inf; the engine gets each gain at once and the file the last.
func TestMixerFaderMovesByKeyboardAndTheEngineGetsTheGain(t *testing.T) {
	s, eng, path := newMixerStudio(t, soundScenes())
	onUI(func() {
		for _, st := range append(slices.Clone(s.mixer.strips), s.mixer.master) {
			for _, o := range []fyne.Focusable{st.fader, st.filters} {
				if !tabTo(s, o) {
					t.Errorf("Tab never reaches a control of %q's strip", st.title.Text)
				}
			}
			if st.mute != nil && !tabTo(s, st.mute) {
				t.Errorf("Tab never reaches %q's mute", st.title.Text)
			}
		}
		if !tabTo(s, strip(t, s.mixer, "Music").fader) {
			t.Fatal("Tab never reaches Music's fader")
		}
		press(s, fyne.KeyDown)
		press(s, fyne.KeyDown)
		press(s, fyne.KeyDown)
	})
	eventually(t, "-15 dB applied", func() bool { return appliedAudio(eng, "Music").GainDB == -15 })
	onUI(func() {
		if got := strings.TrimSpace(strip(t, s.mixer, "Music").value.Text); got != "-15.0 dB" {
			t.Errorf("the strip reads %q, want -15.0 dB", got)
		}
		press(s, fyne.KeyPageUp)
	})
	eventually(t, "-9 dB applied", func() bool { return appliedAudio(eng, "Music").GainDB == -9 })
	onUI(func() { press(s, fyne.KeyHome) })
	eventually(t, "-inf applied", func() bool { return appliedAudio(eng, "Music").GainDB == scene.MinGainDB })
	eventually(t, "-inf saved", func() bool { a := savedAudio(path, "Music"); return a != nil && a.GainDB == scene.MinGainDB })
	onUI(func() {
		if got := strings.TrimSpace(strip(t, s.mixer, "Music").value.Text); got != "-inf dB" {
			t.Errorf("the strip reads %q, want -inf dB", got)
		}
		press(s, fyne.KeyUp)
		s.Window.Canvas().Focused().TypedRune('0')
	})
	eventually(t, "0 dB applied", func() bool { return appliedAudio(eng, "Music").GainDB == 0 })

	// The master's fader is the collection's master gain.
	onUI(func() {
		if !tabTo(s, s.mixer.master.fader) {
			t.Fatal("Tab never reaches the master fader")
		}
		press(s, fyne.KeyLeft)
	})
	eventually(t, "the master at -1 dB", func() bool {
		c, _, _ := eng.last()
		return c != nil && c.Master.Gain() == -1
	})
}

// The mute button, pressed with Space where Tab put the focus, mutes the
// microphone in the engine and the file, and unmutes it pressed again.
func TestMixerMuteToggles(t *testing.T) {
	s, eng, path := newMixerStudio(t, soundScenes())
	onUI(func() {
		if !tabTo(s, strip(t, s.mixer, "Mic").mute) {
			t.Fatal("Tab never reaches the microphone's mute")
		}
		press(s, fyne.KeySpace)
		if st := strip(t, s.mixer, "Mic"); st.mute.Text != "Muted" || st.mute.Importance != widget.DangerImportance {
			t.Errorf("a muted strip's button reads %q", st.mute.Text)
		}
	})
	eventually(t, "the microphone muted", func() bool { return appliedAudio(eng, "Mic").Muted })
	eventually(t, "the mute saved", func() bool { a := savedAudio(path, "Mic"); return a != nil && a.Muted })
	onUI(func() { test.Tap(strip(t, s.mixer, "Mic").mute) })
	eventually(t, "the microphone unmuted", func() bool { return !appliedAudio(eng, "Mic").Muted })
	if a := appliedAudio(eng, "Music"); a.Muted {
		t.Error("muting the microphone muted the tone too")
	}
}

// The filters dialog adds a noise gate, whose threshold typed in its field
// reaches the engine, and sets the sync offset and mono; removing the gate
// leaves no filter.
func TestMixerFiltersDialogAddsANoiseGateThatReachesTheEngine(t *testing.T) {
	s, eng, path := newMixerStudio(t, soundScenes())
	onUI(func() {
		test.Tap(strip(t, s.mixer, "Mic").filters)
		tapKeyButton(t, s, "Noise gate")
	})
	eventually(t, "the gate applied", func() bool {
		a := appliedAudio(eng, "Mic")
		return len(a.Filters) == 1 && a.Filters[0].Kind == scene.FilterNoiseGate
	})
	onUI(func() {
		d := s.mixer.dialog
		if d == nil || len(d.params) != 1 {
			t.Fatalf("the dialog shows no gate: %+v", d)
		}
		submit(d.params[0][0], "-50")
		submit(d.sync, "120")
		d.mono.SetChecked(true)
		if got := strip(t, s.mixer, "Mic").filters.Text; got != "Filters (1)…" {
			t.Errorf("the strip's button reads %q", got)
		}
	})
	eventually(t, "the gate's threshold, the offset and mono applied", func() bool {
		a := appliedAudio(eng, "Mic")
		return len(a.Filters) == 1 && a.Filters[0].ThresholdDB == -50 && a.SyncMS == 120 && a.Mono
	})
	eventually(t, "the gate saved", func() bool {
		a := savedAudio(path, "Mic")
		return a != nil && len(a.Filters) == 1 && a.Filters[0].ThresholdDB == -50
	})
	onUI(func() {
		submit(s.mixer.dialog.params[0][0], "-120")
		if !showing(s, "must be -80..0") {
			t.Errorf("a threshold out of range is not refused in the dialog: %q", texts(s))
		}
		tapKeyButton(t, s, "Compressor")
		tapKeyButton(t, s, "Remove") // the gate, first
	})
	eventually(t, "the compressor left alone", func() bool {
		a := appliedAudio(eng, "Mic")
		return len(a.Filters) == 1 && a.Filters[0].Kind == scene.FilterCompressor
	})
}

// A push-to-talk microphone is muted until its key is held, heard while it
// is, and muted again when it is let go; the key never writes the file.
// Push to mute is the reverse.
func TestPushToTalkUnmutesWhileTheKeyIsHeldWithoutSaving(t *testing.T) {
	col := soundScenes()
	mic, _ := col.Source("Mic")
	mic.Audio = &scene.Audio{Push: scene.PushTalk, PushKey: "F9"}
	s, eng, path := newMixerStudio(t, col)
	muted := func() bool { return appliedAudio(eng, "Mic").Mutes(false) }
	if !muted() {
		t.Fatal("a push-to-talk microphone is heard with its key up")
	}
	time.Sleep(saveDelay + 200*time.Millisecond) // the first save, if any, is done
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)

	for range 3 {
		onUI(func() { s.mixer.keyDown(&fyne.KeyEvent{Name: fyne.KeyF9}) })
		eventually(t, "the microphone heard while F9 is held", func() bool {
			return !muted() && strings.Contains(strip(t, s.mixer, "Mic").push.Text, "Talking")
		})
		onUI(func() { s.mixer.keyUp(&fyne.KeyEvent{Name: fyne.KeyF9}) })
		eventually(t, "the microphone muted when F9 is let go", muted)
	}
	// With the focus on a fader, the fader hands the key on.
	onUI(func() {
		f := strip(t, s.mixer, "Music").fader
		s.Window.Canvas().Focus(f)
		f.KeyDown(&fyne.KeyEvent{Name: fyne.KeyF9})
	})
	eventually(t, "F9 held on a focused fader", func() bool { return !muted() })
	onUI(func() {
		// Leaving the window lets the key go.
		s.mixer.releaseAll()
		if strip(t, s.mixer, "Music").fader.db != -12 {
			t.Error("the push key moved the focused fader")
		}
	})
	eventually(t, "muted once the window lost the keyboard", muted)

	time.Sleep(saveDelay + 200*time.Millisecond)
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if st2, _ := os.Stat(path); !bytes.Equal(before, after) || !st2.ModTime().Equal(st.ModTime()) {
		t.Errorf("the push key wrote the scenes file:\n%s\nthen\n%s", before, after)
	}
	if a := savedAudio(path, "Mic"); a.Push != scene.PushTalk || a.PushKey != "F9" || a.Muted {
		t.Errorf("saved microphone %+v, want push to talk on F9, not muted", a)
	}

	// Push to mute, set in the dialog: heard, silent while the key is held.
	onUI(func() {
		test.Tap(strip(t, s.mixer, "Mic").filters)
		d := s.mixer.dialog
		d.pushKey.SetSelected("`")
		d.push.SetSelected("Push to mute")
	})
	eventually(t, "push to mute on `", func() bool {
		a := appliedAudio(eng, "Mic")
		return a.Push == scene.PushMute && a.PushKey == "`" && !a.Mutes(false)
	})
	onUI(func() { s.mixer.keyDown(&fyne.KeyEvent{Name: fyne.KeyBackTick}) })
	eventually(t, "muted while ` is held", muted)
	onUI(func() { s.mixer.keyUp(&fyne.KeyEvent{Name: fyne.KeyBackTick}) })
	eventually(t, "heard again", func() bool { return !muted() })
}

// The strips' meters, and the master's, read what the engine reports, and
// a strip says when its device was lost.
func TestMixerMetersAndLostDevicesFollowTheEngine(t *testing.T) {
	s, eng, _ := newMixerStudio(t, soundScenes())
	eng.setLevels(app.MixLevels{
		Sources: []app.SoundLevel{{Source: "Mic", PeakDB: -30, RMSDB: -36}, {Source: "Music", PeakDB: -12.5, RMSDB: -15},
			{Source: "Jingle", Lost: "not heard in scene A anyway"}},
		Master: app.Level{PeakDB: -6, RMSDB: -9},
	})
	meter := func(name string) string {
		if name == "" {
			return s.mixer.master.meter.Text()
		}
		return strip(t, s.mixer, name).meter.Text()
	}
	eventually(t, "the meters", func() bool {
		return strings.HasPrefix(meter("Mic"), "-30.0 dBFS") && strings.HasPrefix(meter("Music"), "-12.5 dBFS") &&
			strings.HasPrefix(meter(""), "-6.0 dBFS")
	})
	onUI(func() {
		if r := strip(t, s.mixer, "Music").meter.level.RMSDB; r != -15 {
			t.Errorf("Music's RMS bar at %v dB, want -15", r)
		}
	})
	if mic := strip(t, s.mixer, "Mic"); mic.lost.Visible() {
		t.Errorf("a microphone that is there reads %q", mic.lost.Text)
	}
	// A device that disappears is named on its strip.
	eng.setLevels(app.MixLevels{Sources: []app.SoundLevel{{Source: "Mic", PeakDB: -120, RMSDB: -120, Lost: "device unplugged"}}})
	eventually(t, "the lost microphone on its strip", func() bool {
		l := strip(t, s.mixer, "Mic").lost
		return l.Visible() && strings.Contains(l.Text, "device unplugged")
	})
	// A louder peak shows at once; the held peak stays a second after the
	// sound falls silent.
	eng.setLevels(app.MixLevels{Sources: []app.SoundLevel{{Source: "Music", PeakDB: -3, RMSDB: -6}}, Master: app.Level{PeakDB: -3, RMSDB: -6}})
	eventually(t, "the louder peak", func() bool { return strings.HasPrefix(meter("Music"), "-3.0 dBFS") })
	eng.setLevels(app.MixLevels{Master: app.Level{PeakDB: math.Inf(-1), RMSDB: math.Inf(-1)}})
	eventually(t, "the RMS bar down", func() bool {
		return math.IsInf(strip(t, s.mixer, "Music").meter.level.RMSDB, -1)
	})
	onUI(func() {
		if !strings.HasPrefix(meter("Music"), "-3.0 dBFS") {
			t.Errorf("the peak was not held: %q", meter("Music"))
		}
	})
	eventually(t, "the held peak let go", func() bool { return strings.HasPrefix(meter("Music"), "-inf") })
}

// Add sound… adds a microphone heard in every scene without a layer, which
// stays when the layers around it go, and a tone into the scene on air as
// a layer; each has its strip.
func TestMixerAddsAMicrophoneAndATone(t *testing.T) {
	s, eng, _ := newMixerStudio(t, twoScenes())
	onUI(func() {
		if !s.mixer.empty.Visible() {
			t.Error("the mixer of a collection without sound does not say how to add some")
		}
		tapKeyButton(t, s, "Add sound…")
		tapButton(t, s, "Add")
		tapKeyButton(t, s, "Add sound…")
		picked := false
		for _, o := range s.Window.Canvas().Overlays().List() {
			for _, obj := range test.LaidOutObjects(o) {
				if sel, ok := obj.(*widget.Select); ok && slices.Contains(sel.Options, "Test tone") {
					sel.SetSelected("Test tone")
					picked = true
				}
			}
		}
		if !picked {
			t.Fatal("the add dialog offers no tone")
		}
		tapButton(t, s, "Add")
		if got, want := stripNames(s.mixer), []string{"Microphone", "Test tone", "Master"}; !slices.Equal(got, want) {
			t.Errorf("strips %q, want %q", got, want)
		}
		if s.mixer.empty.Visible() {
			t.Error("the mixer still says there is no sound")
		}
	})
	eventually(t, "both applied", func() bool {
		c, _, _ := eng.last()
		if c == nil {
			return false
		}
		mic, ok1 := c.Source("Microphone")
		_, ok2 := c.Source("Test tone")
		a := c.ActiveScene()
		return ok1 && ok2 && mic.Type == scene.TypeMicrophone && a.Layers[len(a.Layers)-1].Source == "Test tone"
	})
	onUI(func() {
		s.scenes.selectLayer(0)
		s.scenes.removeSelectedLayer()
		if _, ok := s.scenes.col.Source("Microphone"); !ok {
			t.Error("removing a layer dropped the microphone, which no layer shows")
		}
	})
}

// The master's Limiter… dialog turns the master limiter off and sets its
// ceiling, as the engine then gets them.
func TestMixerMasterLimiterDialogReachesTheEngine(t *testing.T) {
	s, eng, _ := newMixerStudio(t, soundScenes())
	onUI(func() {
		test.Tap(s.mixer.master.filters)
		d := s.mixer.dialog
		if d == nil || d.limiter == nil || !d.limiter.Checked {
			t.Fatalf("the master's dialog does not show the limiter on: %+v", d)
		}
		submit(d.ceiling, "-3")
	})
	eventually(t, "the ceiling at -3 dBFS", func() bool {
		c, _, _ := eng.last()
		return c.Master.LimiterOn() && c.Master.Ceiling() == -3
	})
	onUI(func() {
		s.mixer.dialog.limiter.SetChecked(false)
		if got := strings.TrimSpace(s.mixer.master.filters.Text); got != "Limiter off…" {
			t.Errorf("the master's button reads %q", got)
		}
	})
	eventually(t, "the limiter off", func() bool { c, _, _ := eng.last(); return !c.Master.LimiterOn() })
}
