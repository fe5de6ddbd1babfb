package ui

import (
	"context"
	"errors"
	"fmt"
	"fyne.io/fyne/v2/lang"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/tallystudio/tally/app"
)

// The first-run setup: a dialog over the studio in three steps (where to
// stream, the tests, the proposal). The deciding is app.Setup's; this file
// only asks, shows and, on accept, fills the panels the user would have
// filled, so the proposal is saved as any other settings are. It opens by
// itself on a first run, and again from the Destinations tab.

// FirstRun says whether the studio has never saved settings: call it before
// NewStudio, which saves them.
func FirstRun(p fyne.Preferences) bool { return p.String(prefsKey) == "" }

// setupRun runs the setup's tests and proposes; progress is called from its
// goroutine.
type setupRun func(ctx context.Context, req app.SetupRequest, progress func(step string, done float64)) (app.Proposal, error)

// setupEngine is an engine that can run the setup over its program
// (*app.Engine).
type setupEngine interface {
	Setup(v app.VideoSettings) *app.Setup
}

// OfferSetup shows the first-run setup over the window. It does nothing for
// an engine that cannot run it.
func (s *Studio) OfferSetup() {
	if run := s.engineSetup(); run != nil {
		showSetup(s, run)
	}
}

// engineSetup runs the setup over the engine's program, nil for an engine
// that cannot (UI thread).
func (s *Studio) engineSetup() setupRun {
	se, ok := s.eng.(setupEngine)
	if !ok {
		return nil
	}
	// The Output tab's encoder and preset are what the proposal keeps, so
	// they are what the encoder is tested with, on the chosen source.
	v := s.current().Video
	return func(ctx context.Context, req app.SetupRequest, progress func(string, float64)) (app.Proposal, error) {
		setup := se.Setup(v)
		setup.Progress = progress
		return setup.Run(ctx, req)
	}
}

// setupWizard is the dialog and its widgets (UI thread only).
type setupWizard struct {
	s   *Studio
	run setupRun
	dlg *dialog.CustomDialog
	// body holds the step shown: choose, testing, proposal or failed.
	body                            *fyne.Container
	choose, testing, result, failed fyne.CanvasObject

	service     *widget.Select
	url, key    *widget.Entry
	measure     *widget.Check
	twitchNote  *widget.Label
	hint        *widget.Label // the destinations panel's hints, while typing
	chooseError *widget.Label
	start, skip *widget.Button

	step     *widget.Label
	bar      *widget.ProgressBar
	stopTest *widget.Button

	summary, explain, details *widget.Label
	effect                    *widget.Label // what accepting changes
	accept, decline           *widget.Button

	whyFailed *widget.Label
	back      *widget.Button

	cancel   context.CancelFunc // the test in flight
	req      app.SetupRequest
	proposal app.Proposal
	// encodeFor and uplinkFor are how long the tests run, 0 for app's
	// defaults; tests shorten them.
	encodeFor, uplinkFor time.Duration
}

// setupServices are the platforms offered: every preset but the local test,
// which needs no setup.
func setupServices() []app.Service {
	var out []app.Service
	for _, svc := range app.Services() {
		if svc.ID != "local" {
			out = append(out, svc)
		}
	}
	return out
}

// showSetup builds the dialog and shows its first step.
func showSetup(s *Studio, run setupRun) *setupWizard {
	w := &setupWizard{s: s, run: run}
	var names []string
	for _, svc := range setupServices() {
		names = append(names, svc.Name)
	}
	w.url = widget.NewEntry()
	w.url.SetPlaceHolder(lang.L("rtmp://… or rtmps://…"))
	w.key = widget.NewPasswordEntry()
	w.key.SetPlaceHolder(lang.L("paste your stream key"))
	w.measure = widget.NewCheck(lang.L("Measure my uplink with a short test stream (about 10 s, live on your channel while it runs)"), nil)
	w.twitchNote = widget.NewLabel(lang.L("Your uplink is measured in Twitch's bandwidth test mode, which never goes live."))
	w.twitchNote.Wrapping = fyne.TextWrapWord
	w.hint = widget.NewLabel("")
	w.hint.Wrapping = fyne.TextWrapWord
	w.hint.Importance = widget.WarningImportance
	w.chooseError = widget.NewLabel("")
	w.chooseError.Wrapping = fyne.TextWrapWord
	w.chooseError.Importance = widget.DangerImportance
	w.url.OnChanged = func(string) { w.refreshHint() }
	w.key.OnChanged = func(string) { w.refreshHint() }
	w.service = widget.NewSelect(names, w.serviceChanged)
	intro := widget.NewLabel(lang.L("Tally can choose a resolution, frame rate and bitrate that this computer and your " +
		"connection can carry. Pick where you stream and paste your stream key; Tally then tests this computer's " +
		"encoder for a few seconds at each size, and your uplink, and proposes settings you can accept or skip."))
	intro.Wrapping = fyne.TextWrapWord
	w.start = widget.NewButton(lang.L("Test and propose"), w.startTapped)
	w.start.Importance = widget.HighImportance
	w.skip = widget.NewButton(lang.L("Skip"), w.close)
	w.choose = container.NewVBox(intro,
		widget.NewForm(widget.NewFormItem(lang.L("Platform"), w.service), widget.NewFormItem(lang.L("Server"), w.url),
			widget.NewFormItem(lang.L("Stream key"), w.key)),
		w.hint, w.measure, w.twitchNote, w.chooseError,
		container.NewHBox(layout.NewSpacer(), w.skip, w.start))

	w.step = widget.NewLabel("")
	w.bar = widget.NewProgressBar()
	w.stopTest = widget.NewButton(lang.L("Cancel"), func() {
		if w.cancel != nil {
			w.cancel()
		}
	})
	w.testing = container.NewVBox(w.step, w.bar, container.NewHBox(layout.NewSpacer(), w.stopTest))

	w.summary = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	w.summary.Wrapping = fyne.TextWrapWord
	w.explain = widget.NewLabel("")
	w.explain.Wrapping = fyne.TextWrapWord
	w.details = widget.NewLabel("")
	w.details.TextStyle = fyne.TextStyle{Monospace: true}
	w.effect = widget.NewLabel("")
	w.effect.Wrapping = fyne.TextWrapWord
	w.accept = widget.NewButton(lang.L("Use these settings"), w.acceptTapped)
	w.accept.Importance = widget.HighImportance
	w.decline = widget.NewButton(lang.L("Skip"), w.close)
	w.result = container.NewVBox(w.summary, w.explain, w.details, w.effect, container.NewHBox(layout.NewSpacer(), w.decline, w.accept))

	w.whyFailed = widget.NewLabel("")
	w.whyFailed.Wrapping = fyne.TextWrapWord
	w.whyFailed.Importance = widget.DangerImportance
	w.back = widget.NewButton(lang.L("Back"), func() { w.show(w.choose) })
	w.failed = container.NewVBox(w.whyFailed, container.NewHBox(layout.NewSpacer(), w.back, widget.NewButton(lang.L("Skip"), w.close)))

	w.body = container.NewStack(w.choose)
	w.service.SetSelected(names[0])
	// Run again, it starts from the first destination that is not the local
	// test, key included, so that accepting updates that destination.
	for _, r := range s.dests.rows {
		if svc := serviceByName(r.service.Selected); svc.ID != "local" {
			w.service.SetSelected(svc.Name)
			w.url.SetText(r.url.Text)
			w.key.SetText(r.key.Text)
			break
		}
	}
	s.wizard = w
	w.dlg = dialog.NewCustomWithoutButtons(lang.L("Set up Tally"), w.body, s.Window)
	w.dlg.SetOnClosed(func() {
		if w.cancel != nil {
			w.cancel()
		}
	})
	w.dlg.Resize(fyne.NewSize(620, 460))
	w.dlg.Show()
	return w
}

func (w *setupWizard) show(step fyne.CanvasObject) {
	w.body.Objects = []fyne.CanvasObject{step}
	w.body.Refresh()
}

func (w *setupWizard) close() { w.dlg.Hide() }

func (w *setupWizard) selected() app.Service {
	for _, svc := range setupServices() {
		if svc.Name == w.service.Selected {
			return svc
		}
	}
	svc, _ := app.ServiceByID("custom")
	return svc
}

// serviceChanged fills in the platform's server unless the user typed their
// own, and says how its uplink is tested.
func (w *setupWizard) serviceChanged(string) {
	svc := w.selected()
	cur := strings.TrimSpace(w.url.Text)
	preset := cur == ""
	for _, s := range app.Services() {
		preset = preset || (s.URL != "" && cur == s.URL)
	}
	if preset {
		w.url.SetText(svc.URL)
	}
	w.refreshHint()
	if svc.ID == "twitch" {
		w.measure.Hide()
		w.twitchNote.Show()
	} else {
		w.measure.Show()
		w.twitchNote.Hide()
	}
}

// refreshHint shows what looks wrong in the server and key as they are
// typed (app's hints, which never hold the key).
func (w *setupWizard) refreshHint() {
	if text := strings.Join(w.destination().Hints(), "\n"); w.hint.Text != text {
		w.hint.SetText(text)
	}
}

// destination is what the user entered, as the destinations panel keeps it.
func (w *setupWizard) destination() app.Destination {
	return app.Destination{Service: w.selected().ID, URL: strings.TrimSpace(w.url.Text), Key: app.StreamKey(strings.TrimSpace(w.key.Text))}
}

// target is the destination row accepting fills: the one the setup was for
// when it runs again (same is true: the same platform and server), else the
// local test it replaces; nil when a new row is added.
func (w *setupWizard) target() (r *destRow, same bool) {
	d := w.destination()
	rows := w.s.dests.rows
	for _, x := range rows {
		if serviceByName(x.service.Selected).ID == d.Service && strings.TrimSpace(x.url.Text) == d.URL {
			return x, true
		}
	}
	if len(rows) > 0 && serviceByName(rows[0].service.Selected).ID == "local" {
		return rows[0], false
	}
	return nil, false
}

func (w *setupWizard) startTapped() {
	d := w.destination()
	st := app.DefaultSettings()
	st.Destinations = []app.Destination{d}
	if _, err := st.Validate(); err != nil {
		w.chooseError.SetText(err.Error()) // never holds the key
		return
	}
	w.chooseError.SetText("")
	w.req = app.SetupRequest{Service: d.Service, URL: d.URL, Key: d.Key, MeasureUplink: w.measure.Checked,
		EncodeFor: w.encodeFor, UplinkFor: w.uplinkFor}
	ctx, cancel := context.WithCancel(w.s.ctx)
	w.cancel = cancel
	w.step.SetText(lang.L("Starting…"))
	w.bar.SetValue(0)
	w.show(w.testing)
	req, studio := w.req, w.s.ctx
	// The test's goroutine ends with the test, which the dialog's Cancel,
	// its closing and the studio's closing all cut short; the studio's Close
	// waits for it, so the engine outlives the test's session.
	w.s.loops.Add(1)
	go func() {
		defer w.s.loops.Done()
		defer cancel()
		p, err := w.run(ctx, req, func(step string, done float64) {
			if studio.Err() == nil {
				runOnUI(func() { w.step.SetText(step); w.bar.SetValue(done) })
			}
		})
		if studio.Err() != nil {
			return // the window is going: nothing to show
		}
		runOnUI(func() { w.finished(p, err) })
	}()
}

// finished shows the proposal, or why there is none.
func (w *setupWizard) finished(p app.Proposal, err error) {
	w.cancel = nil
	switch {
	case errors.Is(err, context.Canceled):
		w.show(w.choose)
		return
	case err != nil:
		w.whyFailed.SetText(lang.L("The test could not finish: {{.Why}}. Check the server and the key, then try again; or skip, and set up the Destinations and Output tabs yourself.",
			map[string]any{"Why": err.Error()}))
		w.show(w.failed)
		return
	}
	w.proposal = p
	w.summary.SetText(lang.L("Proposed: {{.Summary}}", map[string]any{"Summary": p.Summary}))
	w.explain.SetText(lang.L("Why: {{.Reasons}}.", map[string]any{"Reasons": strings.Join(p.Reasons, "; ")}))
	w.details.SetText(setupDetails(p))
	effect := lang.L("Using them adds {{.Service}} to the Destinations tab and sets the Output tab; you can change either at any time.",
		map[string]any{"Service": w.service.Selected})
	switch r, same := w.target(); {
	case same:
		effect = lang.L("Using them keeps {{.Service}} in the Destinations tab, with this server and key, and sets the Output tab; "+
			"you can change either at any time.", map[string]any{"Service": w.service.Selected})
	case r != nil:
		effect = lang.L("Using them puts {{.Service}} in place of the Local test in the Destinations tab and sets the Output tab; "+
			"you can change either at any time.", map[string]any{"Service": w.service.Selected})
	}
	w.effect.SetText(effect)
	w.show(w.result)
}

// setupDetails lists what was measured, a line each.
func setupDetails(p app.Proposal) string {
	var lines []string
	switch up := p.Uplink; {
	case !up.Tested:
		lines = append(lines, lang.L("uplink   not tested"))
	case up.Limited:
		lines = append(lines, lang.L("uplink   {{.Rate}} Mb/s measured", map[string]any{"Rate": fmt.Sprintf("%.1f", up.Rate/1e6)}))
	default:
		lines = append(lines, lang.L("uplink   at least {{.Rate}} Mb/s", map[string]any{"Rate": fmt.Sprintf("%.1f", up.Rate/1e6)}))
	}
	for _, r := range p.Encodes {
		var verdict string
		switch {
		case r.Err != "":
			verdict = lang.L("failed: {{.Why}}", map[string]any{"Why": r.Err})
		case r.Implied:
			verdict = lang.L("keeps up (a bigger one did)")
		case !r.Sustained():
			verdict = lang.L("{{.Speed}}× real time: too slow", map[string]any{"Speed": fmt.Sprintf("%.1f", r.Speed)})
		default:
			verdict = lang.L("{{.Speed}}× real time: keeps up", map[string]any{"Speed": fmt.Sprintf("%.1f", r.Speed)})
		}
		lines = append(lines, fmt.Sprintf("%-8s %s", r.Candidate, verdict))
	}
	return strings.Join(lines, "\n")
}

// acceptTapped puts the proposal in the panels, as if the user had chosen
// it there, and saves: the destination replaces the local test a first run
// starts with, and its key goes to the keyring.
func (w *setupWizard) acceptTapped() {
	s, p, d := w.s, w.proposal, w.destination()
	o := s.output
	o.size.SetSelected(fmt.Sprintf("%dx%d", p.Width, p.Height))
	o.fps.SetSelected(strconv.Itoa(p.FPS))
	o.vbitrate.SetText(strconv.Itoa(p.VideoBitrate / 1000))
	o.abitrate.SetSelected(strconv.Itoa(p.AudioBitrate / 1000))

	r, _ := w.target()
	if r == nil {
		s.dests.addRow(newID(), app.Destination{Service: d.Service})
		r = s.dests.rows[len(s.dests.rows)-1]
	}
	svc, _ := app.ServiceByID(d.Service)
	r.service.SetSelected(svc.Name)
	r.url.SetText(d.URL)
	r.key.SetText(d.Key.Reveal())
	r.dynamic.SetChecked(r.dynamic.Checked || p.DynamicBitrate)
	s.settingsChanged()
	w.close()

	// Off the UI thread, as Go Live stores keys: a keyring may be slow to
	// answer. The goroutine ends when it has.
	id, key := r.id, d.Key.Reveal()
	go func() {
		if err := s.keys.Set(id, key); err != nil {
			runOnUI(func() { s.keyringMissing(err) })
		}
	}()
}
