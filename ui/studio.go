// Package ui is Tally's Fyne user interface. It talks only to the studio engine
// (package app), through the Engine interface, never to capture, encode or
// rtmpclient. Nothing here blocks the UI thread on a device, the network or the
// encoder: engine calls that may take time run on goroutines and report back
// through fyne.Do.
package ui

import (
	"context"
	"errors"
	"fmt"
	"fyne.io/fyne/v2/lang"
	"image"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/tallystudio/tally/app"
	"github.com/tallystudio/tally/assets"
	"github.com/tallystudio/tally/scene"
)

// Engine is what the window needs from the studio engine (*app.Engine).
type Engine interface {
	About() app.BuildInfo
	Devices() app.DeviceList
	RefreshDevices() app.DeviceList
	// SetSources opens the sources; with the video source "scenes", a new
	// collection (same canvas and rate) applies without reopening what it
	// keeps.
	SetSources(app.VideoSettings, app.AudioSettings) error
	// SwitchScene puts a scene of the collection on air, with its
	// transition; Scene is the one on air, "" when the video is not scenes.
	SwitchScene(name string) error
	Scene() string
	PreviewFrame(dst *image.RGBA) bool
	AudioLevel() app.Level
	// SoundLevels is the scene mixer's meters: each sound source's and the
	// master's (no sources when the video is not scenes).
	SoundLevels() app.MixLevels
	GoLive(app.Settings) (warnings []string, err error)
	// StartRecording records to the path (or the next free name beside
	// it, which it returns): joining the session that runs, or alone.
	// StopRecording finishes it; a session that only records stops too.
	StartRecording(s app.Settings, path string) (string, error)
	StopRecording() (string, error)
	Stop()
	Status() app.Status
	Close() error
}

// Title is the studio window's title; tests find the window by it.
const Title = "Tally"

// ToggleLiveShortcut goes live or stops, each after a confirmation.
var ToggleLiveShortcut = &desktop.CustomShortcut{KeyName: fyne.KeyL,
	Modifier: fyne.KeyModifierShortcutDefault | fyne.KeyModifierShift}

// Studio is the main window and what it shows.
type Studio struct {
	Window fyne.Window
	eng    Engine
	keys   app.KeyStore
	prefs  fyne.Preferences
	log    *slog.Logger

	preview *previewView
	meter   *levelMeter
	sources *sourcesPanel
	output  *outputPanel
	dests   *destinationsPanel
	stats   *statsPanel
	wizard  *setupWizard // the setup last shown
	// tabName is a tab's English name, which the preferences keep.
	tabName func(*container.TabItem) string
	scenes  *scenesPanel
	mixer   *mixerPanel
	remote  *remoteControl // the state bar's remote control (remote.go)

	tabs       *container.AppTabs
	stateLabel *widget.Label
	sceneLabel *widget.Label // the scene on air, in the state bar
	detail     *widget.Label
	liveButton *widget.Button
	// recordButton starts and stops a recording (record.go); recording is
	// its file as the status last showed, recordingAlone whether it runs
	// without a stream, when Go Live waits for it to stop.
	recordButton   *widget.Button
	recording      string
	recordingAlone bool
	saved          string // the last recording stopped with the button

	previewFPS  int // see WithPreviewFPS
	lastState   app.State
	shownReport time.Time
	ready       bool // panels are built; their change callbacks may act
	askedKeys   bool // whether the no-keyring question was asked this run
	keepKeys    bool // the answer: keep keys in memory for this session

	// picks holds the newest sources to apply, not yet taken by applyLoop; a
	// newer pick replaces it, so the last one the user made is the one that
	// ends up open.
	picks chan sourcePick
	// sourcesShown wakes devicesLoop when the Sources tab is opened;
	// sourcesOpen says whether it still is.
	sourcesShown chan struct{}
	sourcesOpen  atomic.Bool
	// mixerOpen says whether the Mixer tab shows: only then are its
	// meters read.
	mixerOpen atomic.Bool

	// The scene collection's file (see WithScenesFile), whether it may be
	// written, and the newest version to write, not yet taken by saveLoop.
	scenesPath string
	saveScenes bool
	saves      chan *scene.Collection
	// While a drag edits the collection, it is applied at most every
	// liveApplyEvery: lastApply is when it last was, applyTimer the apply
	// waiting its turn (UI thread only).
	lastApply  time.Time
	applyTimer *time.Timer

	ctx    context.Context
	cancel context.CancelFunc
	loops  sync.WaitGroup
}

type sourcePick struct {
	video app.VideoSettings
	audio app.AudioSettings
}

// NewStudio builds the studio window and starts its preview. It does not show
// the window. keys keeps stream keys (app.SystemKeyring in the real app).
func NewStudio(a fyne.App, eng Engine, keys app.KeyStore, opts ...Option) *Studio {
	s := &Studio{Window: a.NewWindow(Title), eng: eng, keys: keys, prefs: a.Preferences(), log: slog.Default(),
		picks: make(chan sourcePick, 1), sourcesShown: make(chan struct{}, 1), previewFPS: DefaultPreviewFPS,
		scenesPath: defaultScenesFile(), saves: make(chan *scene.Collection, 1)}
	for _, o := range opts {
		o(s)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	w := s.Window
	w.SetIcon(assets.Icon)

	saved := loadSettings(s.prefs)
	s.preview = newPreviewView()
	s.meter = newLevelMeter()
	s.sources = newSourcesPanel(saved, s.sourcesChanged)
	s.output = newOutputPanel(saved, s.eng.About().Summary(), s.settingsChanged)
	s.dests = newDestinationsPanel(saved, s.keys, s.settingsChanged, s.Window, s.current)
	if _, ok := s.eng.(setupEngine); ok {
		s.dests.offerSetup(s.OfferSetup)
	}
	s.stats = newStatsPanel()
	start := loadScenes(s.scenesPath, saved.Video.Width, saved.Video.Height, time.Now())
	s.saveScenes = start.save
	s.scenes = newScenesPanel(start.col, scenesHost{
		window:      w,
		edited:      s.scenesEdited,
		useScenes:   func() { s.sources.useScenes() },
		live:        func() bool { return s.lastState.Active() },
		devices:     s.devicesOf,
		viewChanged: func() { s.preview.overlay.Refresh() },
	})
	s.scenes.setNotice(start.notice)
	s.scenes.setScenesOn(s.sources.scenes())
	s.preview.overlay.target = s.scenes
	s.mixer = newMixerPanel(mixerHost{
		window:       w,
		collection:   func() *scene.Collection { return s.scenes.col },
		edit:         s.scenes.tryEdit,
		pushed:       s.applySources,
		useMix:       func() { s.sources.useMix() },
		audioDevices: s.microphones,
	})
	s.mixer.setProgram(s.sources.scenes(), s.sources.mix())
	if start.saveNow {
		s.queueSave(start.col)
	}

	s.remote = newRemoteControl(s)
	s.layout()
	w.Canvas().AddShortcut(ToggleLiveShortcut, func(fyne.Shortcut) { s.confirmToggle() })
	for i, sc := range SceneShortcuts {
		w.Canvas().AddShortcut(sc, func(fyne.Shortcut) { s.scenes.putOnAirAt(i) })
	}
	// Push-to-talk keys reach the window while no control holds the
	// keyboard (the mixer's own controls pass them on). A window that loses
	// the keyboard lets them go: their release would go to another window.
	if dc, ok := w.Canvas().(desktop.Canvas); ok {
		dc.SetOnKeyDown(s.mixer.keyDown)
		dc.SetOnKeyUp(s.mixer.keyUp)
	}
	a.Lifecycle().SetOnExitedForeground(func() { runOnUI(s.mixer.releaseAll) })
	w.SetCloseIntercept(s.closeRequested)
	for _, t := range s.tabs.Items {
		if s.tabName(t) == s.prefs.String(tabKey) {
			s.tabs.Select(t)
		}
	}

	s.loops.Add(4)
	go s.uiLoop()
	go s.applyLoop()
	go s.devicesLoop()
	go s.saveLoop()
	s.remote.start()
	s.ready = true
	s.applySources()
	s.settingsChanged()
	return s
}

// layout builds the window's frame around the panels: the tabs, the
// preview with its meter and stats, and the state bar.
func (s *Studio) layout() {
	w := s.Window
	s.stateLabel = widget.NewLabelWithStyle(lang.L("Idle"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	s.detail = widget.NewLabel("")
	s.detail.Wrapping = fyne.TextWrapWord
	s.detail.Truncation = fyne.TextTruncateEllipsis
	s.sceneLabel = widget.NewLabel("")
	s.liveButton = widget.NewButton(lang.L("Go Live"), s.liveButtonTapped)
	s.liveButton.Importance = widget.DangerImportance
	s.recordButton = widget.NewButton(lang.L("Record"), s.recordButtonTapped)

	sourcesTab := container.NewTabItem(lang.L("Sources"), container.NewVScroll(s.sources.content))
	scenesTab := container.NewTabItem(lang.L("Scenes"), container.NewVScroll(s.scenes.content))
	// The mixer is a tab beside the scenes, as every panel of the window
	// is: under the preview it would take height the picture and the stats
	// need, and a list of strips that can grow to the collection's 64
	// sources wants a column that scrolls.
	mixerTab := container.NewTabItem(lang.L("Mixer"), container.NewVScroll(s.mixer.content))
	s.tabs = container.NewAppTabs(
		container.NewTabItem(lang.L("Destinations"), container.NewVScroll(s.dests.content)),
		sourcesTab,
		scenesTab,
		mixerTab,
		container.NewTabItem(lang.L("Output"), container.NewVScroll(s.output.content)),
	)
	// The tab is remembered by its English name, so it opens again in any
	// language.
	tabNames := []string{"Destinations", "Sources", "Scenes", "Mixer", "Output"}
	s.tabName = func(t *container.TabItem) string {
		if i := slices.Index(s.tabs.Items, t); i >= 0 {
			return tabNames[i]
		}
		return t.Text
	}
	s.tabs.OnSelected = func(t *container.TabItem) {
		s.prefs.SetString(tabKey, s.tabName(t))
		s.scenes.setTabOpen(t == scenesTab)
		s.mixerOpen.Store(t == mixerTab)
		s.sourcesOpen.Store(t == sourcesTab)
		if t == sourcesTab {
			select {
			case s.sourcesShown <- struct{}{}:
			default:
			}
		}
	}
	left := container.NewBorder(nil, container.NewVBox(s.meter, s.stats.content), nil, nil, s.preview)
	bar := container.NewBorder(nil, nil, s.stateLabel,
		container.NewHBox(s.sceneLabel, s.remote.button, s.recordButton, s.liveButton), s.detail)
	split := container.NewHSplit(left, s.tabs)
	split.Offset = 0.62
	w.SetContent(container.NewBorder(nil, container.NewVBox(widget.NewSeparator(), bar), nil, nil, split))
	w.Resize(fyne.NewSize(1180, 760))

}

// current gathers the settings from every panel.
func (s *Studio) current() app.Settings {
	st := app.DefaultSettings()
	s.sources.apply(&st)
	// With the push keys held now: they change what the program hears,
	// never the collection the Scenes tab edits and saves.
	st.Video.Scenes = s.mixer.program(s.scenes.col)
	s.output.apply(&st)
	st.Destinations = s.dests.destinations()
	return st
}

// devicePoll is how often the devices are looked for again while the Sources
// tab is open.
var devicePoll = 4 * time.Second

// devicesLoop fills the pickers once the devices are probed, then looks for
// devices again each time the Sources tab is opened and every devicePoll while
// it stays open, until the studio closes: a camera or microphone plugged in
// shows up in the pickers without a restart. A rescan costs a few
// milliseconds and opens no device, but it is not done for a tab nobody sees.
func (s *Studio) devicesLoop() {
	defer s.loops.Done()
	d := s.eng.Devices()
	if s.ctx.Err() != nil {
		return
	}
	runOnUI(func() { s.sources.setDevices(d); s.output.setEncoders(d.Encoders) })
	t := time.NewTicker(devicePoll)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.sourcesShown:
		case <-t.C:
			if !s.sourcesOpen.Load() {
				continue
			}
		}
		now := s.eng.RefreshDevices()
		if s.ctx.Err() != nil {
			return
		}
		if slices.Equal(now.Video, d.Video) && slices.Equal(now.Audio, d.Audio) {
			continue // the same pickers again would only cost a repaint
		}
		d = now
		runOnUI(func() { s.sources.setDevices(now) })
	}
}

func (s *Studio) sourcesChanged() {
	if !s.ready {
		return
	}
	s.scenes.setScenesOn(s.sources.scenes())
	s.mixer.setProgram(s.sources.scenes(), s.sources.mix())
	s.applySources()
	s.settingsChanged()
}

// applySources hands the picked sources to applyLoop, replacing a pick it has
// not started on yet; devices can take a while to open and must not freeze
// the window.
func (s *Studio) applySources() {
	st := s.current()
	pick := sourcePick{st.Video, st.Audio}
	for {
		select {
		case s.picks <- pick:
			return
		default:
		}
		select { // superseded: drop it and try again
		case <-s.picks:
		default:
		}
	}
}

// applyLoop opens picked sources one change at a time, until the studio
// closes. One at a time, because opens that overlap finish in no fixed order
// and an earlier pick could land last.
func (s *Studio) applyLoop() {
	defer s.loops.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case pick := <-s.picks:
			err := s.eng.SetSources(pick.video, pick.audio)
			scenes := pick.video.Source == scenesChoice.Spec && pick.video.Scenes != nil
			var switchErr error
			if err == nil && scenes {
				// After the collection it names is on, so that a scene
				// just added can go on air.
				switchErr = s.eng.SwitchScene(pick.video.Scenes.ActiveScene().Name)
			}
			if s.ctx.Err() != nil {
				return
			}
			if len(s.picks) > 0 {
				continue // why a source the user moved away from failed is of no use
			}
			runOnUI(func() {
				s.sources.setError(err)
				if scenes {
					s.scenes.setApplyError(errors.Join(err, switchErr))
				} else {
					s.scenes.setApplyError(nil)
				}
			})
		}
	}
}

// settingsChanged refreshes the hints and platform warnings and saves.
func (s *Studio) settingsChanged() {
	if !s.ready {
		return
	}
	st := s.current()
	var warn []string
	for _, d := range st.Destinations {
		if svc, ok := app.ServiceByID(d.Service); ok {
			warn = append(warn, svc.Warnings(st.Video, st.Audio)...)
		}
	}
	s.output.setWarnings(warn)
	s.dests.refreshHints(st)
	saveSettings(s.prefs, st, s.dests.ids())
}

// The UI thread never asks the engine for its status (that can wait on a
// device being opened); it acts on the state the status loop last showed.

func (s *Studio) liveButtonTapped() {
	switch {
	case s.recordingAlone, !s.lastState.Active():
		s.goLive()
	case s.lastState == app.StateStopping:
	default:
		s.confirmStop()
	}
}

func (s *Studio) confirmToggle() {
	switch {
	case s.recordingAlone, !s.lastState.Active():
		dialog.NewConfirm(lang.L("Go live?"), lang.L("Start streaming to {{.Destinations}}?", map[string]any{"Destinations": s.dests.summary()}), func(ok bool) {
			if ok {
				s.goLive()
			}
		}, s.Window).Show()
	case s.lastState == app.StateStopping:
	default:
		s.confirmStop()
	}
}

func (s *Studio) confirmStop() {
	dialog.NewConfirm(lang.L("Stop streaming?"), lang.L("Your viewers will see the stream end."), func(ok bool) {
		if ok {
			s.eng.Stop()
		}
	}, s.Window).Show()
}

func (s *Studio) goLive() {
	st := s.current()
	ids := s.dests.ids()
	s.liveButton.Disable()
	s.setState(app.StateConnecting, lang.L("Starting…"))
	go func() {
		keyErr := s.storeKeys(st, ids)
		warnings, err := s.eng.GoLive(st)
		runOnUI(func() {
			s.liveButton.Enable()
			if keyErr != nil {
				s.keyringMissing(keyErr)
			}
			if err != nil {
				s.setState(app.StateError, err.Error())
				return
			}
			if len(warnings) > 0 {
				s.detail.SetText(lang.L("Warning: {{.Warnings}}", map[string]any{"Warnings": strings.Join(warnings, "; ")}))
			}
		})
	}()
}

// storeKeys puts the destinations' keys in the keyring (off the UI thread: a
// keyring may take a while to answer) and returns why it could not.
func (s *Studio) storeKeys(st app.Settings, ids []string) error {
	var failed error
	for i, d := range st.Destinations {
		if d.Service == "local" || d.Key.Reveal() == "" {
			continue
		}
		if err := s.keys.Set(ids[i], d.Key.Reveal()); err != nil {
			failed = err
		}
	}
	return failed
}

// keyringMissing asks, once a run, whether keys may stay in memory for this
// session when there is no keyring to keep them in.
func (s *Studio) keyringMissing(err error) {
	if s.askedKeys {
		if !s.keepKeys {
			s.dests.clearKeys()
		}
		return
	}
	s.askedKeys = true
	s.log.Warn("stream keys cannot be saved", "err", err)
	why := err.Error()
	if inner := errors.Unwrap(err); inner != nil {
		why = inner.Error()
	}
	msg := widget.NewLabel(lang.L("Tally keeps stream keys in the system keyring, and none is available here ({{.Why}}).\n\n"+
		"Keep your keys for this session only? They will be forgotten when Tally quits. "+
		"Choose \"Forget\" to clear them from the window now; the stream that is starting is not affected.", map[string]any{"Why": why}))
	msg.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustomConfirm(lang.L("No keyring"), lang.L("Keep for this session"), lang.L("Forget"), msg, func(keep bool) {
		s.keepKeys = keep
		if !keep {
			s.dests.clearKeys()
		}
	}, s.Window)
	d.Resize(fyne.NewSize(520, 260))
	d.Show()
}

func (s *Studio) showStatus(st app.Status, withStats bool) {
	alone := st.Recording != "" && !st.Streaming
	switch st.State {
	case app.StateLive:
		detail := s.recordingDetail(st.Recording)
		if alone && st.Error != "" { // a stream beside the recording failed
			detail = st.Error
		}
		s.setState(app.StateLive, detail)
		switch label := lang.L("● REC") + "  " + elapsed(time.Since(st.RecordingSince)); {
		case alone:
			s.stateLabel.SetText(label)
		case st.Recording != "":
			s.stateLabel.SetText(lang.L("● LIVE") + "  " + elapsed(time.Since(st.Since)) + "    " + label)
		default:
			s.stateLabel.SetText(lang.L("● LIVE") + "  " + elapsed(time.Since(st.Since)))
		}
	case app.StateConnecting:
		s.setState(app.StateConnecting, lang.L("Connecting to {{.Destinations}}…", map[string]any{"Destinations": s.dests.summary()}))
	case app.StateReconnecting:
		why := ""
		for _, d := range st.Stats.Destinations {
			if d.Error != "" {
				why = d.Error
			}
		}
		data := map[string]any{"Why": why, "Attempt": st.Stats.Attempt, "Seconds": fmt.Sprintf("%.0f", st.Stats.NextRetryS)}
		if why == "" {
			s.setState(app.StateReconnecting, lang.L("Connection lost. Attempt {{.Attempt}} in {{.Seconds}} s; encoding and recording carry on.", data))
		} else {
			s.setState(app.StateReconnecting, lang.L("Connection lost: {{.Why}}. Attempt {{.Attempt}} in {{.Seconds}} s; encoding and recording carry on.", data))
		}
	case app.StateStopping:
		s.setState(app.StateStopping, lang.L("Finishing: sending what is queued, then unpublishing…"))
	case app.StateError:
		s.setState(app.StateError, st.Error)
	default:
		s.setState(app.StateIdle, s.recordingDetail(""))
	}
	s.showRecording(st.Recording, alone)
	if withStats && st.State.Streaming() {
		s.stats.update(st)
	}
	s.dests.showStatus(st)
	s.sources.setLost(st.SourceErrors)
	if s.scenes.scenesOn {
		s.scenes.setLost(st.SourceErrors)
	} else {
		s.scenes.setLost(nil)
	}
	if len(st.Reports) > 0 && st.Since != s.shownReport && !st.State.Active() {
		s.shownReport = st.Since
		s.showReport(st.Reports)
	}
}

// setState changes the state bar; a repeated state only updates the detail.
func (s *Studio) setState(state app.State, detail string) {
	if state != s.lastState {
		s.lastState = state
		label, imp, button := lang.L("Idle"), widget.MediumImportance, lang.L("Go Live")
		switch state {
		case app.StateConnecting:
			label, imp, button = lang.L("Connecting…"), widget.WarningImportance, lang.L("Stop")
		case app.StateLive:
			label, imp, button = lang.L("● LIVE"), widget.DangerImportance, lang.L("Stop")
		case app.StateReconnecting:
			label, imp, button = lang.L("Reconnecting…"), widget.WarningImportance, lang.L("Stop")
		case app.StateStopping:
			label, imp, button = lang.L("Stopping…"), widget.WarningImportance, lang.L("Stop")
		case app.StateError:
			label, imp = lang.L("Error"), widget.DangerImportance
		}
		s.stateLabel.Importance = imp
		s.stateLabel.SetText(label)
		s.liveButton.SetText(button)
		if state == app.StateStopping {
			s.liveButton.Disable()
		} else {
			s.liveButton.Enable()
		}
		s.sources.setLive(state.Active())
		s.output.setLive(state.Active())
		s.dests.setLive(state.Active())
	}
	if s.detail.Text != detail {
		s.detail.SetText(detail)
	}
}

func (s *Studio) showReport(reports []string) {
	text := widget.NewLabel(strings.Join(reports, "\n"))
	text.TextStyle = fyne.TextStyle{Monospace: true}
	d := dialog.NewCustom(lang.L("Local test: what the server received"), lang.L("Close"), container.NewVScroll(text), s.Window)
	d.Resize(fyne.NewSize(640, 420))
	d.Show()
}

func elapsed(d time.Duration) string {
	d = d.Truncate(time.Second)
	return fmt.Sprintf("%02d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
}

// closeRequested asks before closing while live, then stops cleanly (the
// engine unpublishes and finishes the recording) before the window goes.
func (s *Studio) closeRequested() {
	if !s.lastState.Active() {
		s.shutdown()
		return
	}
	title, message := lang.L("Stop streaming and quit?"), lang.L("The stream will end for your viewers.")
	if s.recordingAlone {
		title, message = lang.L("Stop recording and quit?"), lang.L("The recording will be finished and saved.")
	}
	dialog.NewConfirm(title, message, func(ok bool) {
		if ok {
			s.setState(app.StateStopping, lang.L("Finishing the stream before quitting…"))
			s.shutdown()
		}
	}, s.Window).Show()
}

func (s *Studio) shutdown() {
	saveSettings(s.prefs, s.current(), s.dests.ids())
	go func() {
		_ = s.Close()
		runOnUI(s.Window.Close)
	}()
}

// Close stops the loops and the engine; the window's own Close is separate.
// It is safe to call more than once.
func (s *Studio) Close() error {
	s.cancel()
	s.loops.Wait()
	return s.eng.Close()
}

// column stacks objects with a heading.
func column(title string, objs ...fyne.CanvasObject) *fyne.Container {
	head := widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	return container.NewVBox(append([]fyne.CanvasObject{head}, objs...)...)
}

// runOnUI runs fn on the UI thread. Tests replace it: Fyne's test driver runs
// fn on the calling goroutine, and the tests serialise those calls themselves.
var runOnUI = fyne.Do
