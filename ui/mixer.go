package ui

import (
	"fmt"
	"fyne.io/fyne/v2/lang"
	"math"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tallystudio/tally/app"
	"github.com/tallystudio/tally/scene"
)

// mixerHost is what the mixer panel asks of the studio.
type mixerHost struct {
	window fyne.Window
	// collection is the collection the Scenes tab edits; edit changes it
	// the way the Scenes tab does: validated on a clone, put on air at
	// once and saved half a second later. live says more edits follow at
	// once (a fader's drag).
	collection func() *scene.Collection
	edit       func(live bool, fn func(c *scene.Collection) error) error
	// pushed puts on air a push key pressed or released. It is never
	// saved: the key's effect lasts as long as it is held.
	pushed func()
	// useMix makes the program the scenes, and its sound their mix.
	useMix func()
	// audioDevices lists the microphones as the collection names them.
	audioDevices func() []string
}

// mixerPanel is the Mixer tab: a strip for each sound source heard now (in
// the scene on air, or global), in the collection's order, and one for the
// master bus. Its edits are the collection's, so they go on air and are
// saved as the Scenes tab's are; the push-to-talk keys are the exception,
// since what they do is momentary.
type mixerPanel struct {
	content    *fyne.Container
	host       mixerHost
	banner     *fyne.Container
	bannerText *widget.Label
	bannerUse  *widget.Button
	rows       *fyne.Container
	empty      *widget.Label
	master     *mixStrip
	strips     []*mixStrip
	stripsKey  string // the sources the strips are for; they are rebuilt only when it changes
	status     *widget.Label
	held       map[fyne.KeyName]bool // push keys held down now
	scenesOn   bool                  // the program's video is the collection
	mixOn      bool                  // the program's sound is its mix
	dialog     *soundDialog          // the filters dialog while it is open
}

// mixStrip is one source's strip, or the master's (name "").
type mixStrip struct {
	name    string
	box     *fyne.Container
	title   *widget.Label
	value   *widget.Label // the fader's gain
	push    *widget.Label // a microphone's push key and whether it is held
	lost    *widget.Label // why the source went silent, when its device or file failed
	fader   *fader
	mute    *keyButton // nil for the master
	filters *keyButton // "Filters…", or the master's "Limiter…"
	meter   *levelMeter
}

// mixerHelp is the Mixer tab's line on its keys.
var mixerHelp = textKey("Tab moves between the controls. On a fader: arrows ±1 dB, Page Up/Down ±6 dB, " +
	"Home -inf, End +20 dB, 0 for 0 dB. Space presses a button.")

func newMixerPanel(host mixerHost) *mixerPanel {
	m := &mixerPanel{host: host, held: map[fyne.KeyName]bool{}}
	m.bannerText = widget.NewLabel("")
	m.bannerText.Wrapping = fyne.TextWrapWord
	m.bannerText.Importance = widget.WarningImportance
	m.bannerUse = widget.NewButton(lang.L("Use the mix"), host.useMix)
	m.banner = container.NewBorder(nil, nil, nil, m.bannerUse, m.bannerText)
	m.rows = container.NewVBox()
	m.empty = widget.NewLabel(lang.L("No sound is heard in the scene on air. Add a microphone, desktop sound, " +
		"a sound file or a tone, or a media file as a layer in the Scenes tab."))
	m.empty.Wrapping = fyne.TextWrapWord
	m.master = m.newStrip("")
	m.status = widget.NewLabel("")
	m.status.Wrapping = fyne.TextWrapWord
	m.status.Importance = widget.DangerImportance
	m.status.Hide()
	help := widget.NewLabel(lang.L(mixerHelp))
	help.Wrapping = fyne.TextWrapWord
	help.Importance = widget.LowImportance
	add := newKeyButton(lang.L("Add sound…"), theme.ContentAddIcon(), m, m.askAddSound)
	// Room on the right for the tab's scroll bar, which Fyne draws over
	// what it scrolls: the meters' figures and the buttons end at that edge.
	m.content = container.New(layout.NewCustomPaddedLayout(0, 0, 0, theme.ScrollBarSmallSize()+2*theme.Padding()),
		container.NewVBox(
			m.banner,
			container.NewBorder(nil, nil, widget.NewLabelWithStyle(lang.L("Mixer"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), add),
			m.empty,
			m.rows,
			widget.NewSeparator(),
			m.master.box,
			m.status,
			help))
	m.show()
	return m
}

// newStrip builds a strip for a source, or the master's for "".
func (m *mixerPanel) newStrip(name string) *mixStrip {
	st := &mixStrip{name: name, meter: newStripMeter()}
	title := name
	if name == "" {
		title = lang.L("Master")
	}
	st.title = widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	st.title.Truncation = fyne.TextTruncateEllipsis
	st.value = widget.NewLabel(faderText(0))
	st.value.TextStyle.Monospace = true
	st.push = widget.NewLabel("")
	st.push.Hide()
	st.lost = widget.NewLabel("")
	st.lost.Wrapping = fyne.TextWrapWord
	st.lost.Importance = widget.DangerImportance
	st.lost.Hide()
	st.fader = newFader(m, func(db float64, live bool) { m.setGain(name, db, live) })
	buttons := container.NewHBox(st.push)
	if name == "" {
		st.filters = newKeyButton(lang.L("Limiter…"), theme.SettingsIcon(), m, func() { m.showSettings("") })
	} else {
		st.mute = newKeyButton(lang.L("Mute"), theme.VolumeUpIcon(), m, func() { m.toggleMute(name) })
		st.filters = newKeyButton(lang.L("Filters…"), theme.SettingsIcon(), m, func() { m.showSettings(name) })
		buttons.Add(st.mute)
	}
	buttons.Add(st.filters)
	// The meter's bar starts where the fader's track does (Fyne insets a
	// slider's track by half its handle and the inner padding), so that
	// the two read as one strip.
	inset := theme.InnerPadding() + (theme.IconInlineSize()-4)/2 - 1.5
	st.box = container.NewVBox(
		container.NewBorder(nil, nil, nil, buttons, st.title),
		st.lost,
		container.New(layout.NewCustomPaddedLayout(0, 0, inset, 0), st.meter),
		container.NewBorder(nil, nil, nil, st.value, st.fader))
	return st
}

// heard is the sources with sound heard now, in the collection's order: the
// global ones, and those a visible layer of the scene on air plays (as the
// engine decides, app/scenes.go's markOnAir).
func heard(c *scene.Collection) []*scene.Source {
	on := map[string]bool{}
	if sc := c.ActiveScene(); sc != nil {
		for _, l := range sc.Layers {
			if !l.Hidden {
				on[l.Source] = true
			}
		}
	}
	var out []*scene.Source
	for i := range c.Sources {
		s := &c.Sources[i]
		if scene.HasSound(s.Type) && (s.Audio.IsGlobal(s.Type) || on[s.Name]) {
			out = append(out, s)
		}
	}
	return out
}

// show brings the strips up to date with the collection (UI thread); they
// are rebuilt only when which sources are heard changed, so a fader being
// dragged is not replaced under the pointer.
func (m *mixerPanel) show() {
	c := m.host.collection()
	srcs := heard(c)
	names := make([]string, len(srcs))
	for i, s := range srcs {
		names[i] = s.Name
	}
	if key := strings.Join(names, "\x00"); key != m.stripsKey {
		m.stripsKey = key
		old := map[string]*mixStrip{}
		for _, st := range m.strips {
			old[st.name] = st
		}
		m.strips = m.strips[:0]
		var objs []fyne.CanvasObject
		for i, name := range names {
			st := old[name]
			if st == nil {
				st = m.newStrip(name)
			}
			if i > 0 {
				objs = append(objs, widget.NewSeparator())
			}
			m.strips = append(m.strips, st)
			objs = append(objs, st.box)
		}
		m.rows.Objects = objs
		m.rows.Refresh()
		setShown(m.empty, len(names) == 0)
	}
	for i, st := range m.strips {
		st.showSource(srcs[i], m.held[fyne.KeyName(pushKeyOf(srcs[i]))])
	}
	m.master.showMaster(c.Master)
	m.showBanner()
	if m.dialog != nil {
		m.dialog.refresh()
	}
	m.content.Refresh()
}

func pushKeyOf(s *scene.Source) string {
	if s.Audio == nil || s.Audio.Push == "" {
		return ""
	}
	return s.Audio.PushKey
}

// showSource shows a source's settings on its strip.
func (st *mixStrip) showSource(s *scene.Source, held bool) {
	a := s.Audio
	if a == nil {
		a = &scene.Audio{}
	}
	st.fader.set(a.GainDB)
	setText(st.value, faderText(a.GainDB))
	if a.Muted {
		st.mute.SetText(lang.L("Muted"))
		st.mute.SetIcon(theme.VolumeMuteIcon())
		st.mute.Importance = widget.DangerImportance
	} else {
		st.mute.SetText(lang.L("Mute"))
		st.mute.SetIcon(theme.VolumeUpIcon())
		st.mute.Importance = widget.MediumImportance
	}
	st.mute.Refresh()
	text, imp := pushText(a, held)
	setText(st.push, text)
	st.push.Importance = imp
	setShown(st.push, text != "")
	if n := len(a.Filters); n > 0 {
		st.filters.SetText(lang.L("Filters ({{.N}})…", map[string]any{"N": n}))
	} else {
		st.filters.SetText(lang.L("Filters…"))
	}
}

// pushText is what a strip says about its push key.
func pushText(a *scene.Audio, held bool) (string, widget.Importance) {
	switch {
	case a.Push == scene.PushTalk && held && !a.Muted:
		return lang.L("● Talking"), widget.SuccessImportance
	case a.Push == scene.PushTalk:
		return lang.L("Hold {{.Key}} to talk", map[string]any{"Key": keyLabel(a.PushKey)}), widget.LowImportance
	case a.Push == scene.PushMute && held:
		return lang.L("● Muted ({{.Key}})", map[string]any{"Key": keyLabel(a.PushKey)}), widget.DangerImportance
	case a.Push == scene.PushMute:
		return lang.L("Hold {{.Key}} to mute", map[string]any{"Key": keyLabel(a.PushKey)}), widget.LowImportance
	}
	return "", widget.MediumImportance
}

// keyLabel is a key's name as a person reads it.
func keyLabel(k string) string {
	if k == "`" {
		return "` (backtick)"
	}
	return k
}

// showMaster shows the master bus on its strip.
func (st *mixStrip) showMaster(ms *scene.Master) {
	st.fader.set(ms.Gain())
	setText(st.value, faderText(ms.Gain()))
	if ms.LimiterOn() {
		st.filters.SetText(lang.L("Limiter {{.Ceiling}} dB…", map[string]any{"Ceiling": fmt.Sprintf("%.1f", ms.Ceiling())}))
	} else {
		st.filters.SetText(lang.L("Limiter off…"))
	}
}

// setLevels shows the engine's meters (UI thread).
func (m *mixerPanel) setLevels(l app.MixLevels) {
	by := make(map[string]app.SoundLevel, len(l.Sources))
	for _, s := range l.Sources {
		by[s.Source] = s
	}
	for _, st := range m.strips {
		s, ok := by[st.name]
		if !ok {
			s = app.SoundLevel{PeakDB: math.Inf(-1), RMSDB: math.Inf(-1)}
		}
		st.meter.set(app.Level{PeakDB: s.PeakDB, RMSDB: s.RMSDB})
		lost := ""
		if s.Lost != "" {
			lost = lang.L("Lost ({{.Why}}): sending silence, the others play on.", map[string]any{"Why": s.Lost})
		}
		setText(st.lost, lost)
		setShown(st.lost, lost != "")
	}
	m.master.meter.set(l.Master)
}

// setProgram says what the program is: whether its video is the
// collection and its sound their mix (UI thread).
func (m *mixerPanel) setProgram(scenesOn, mixOn bool) {
	if scenesOn != m.scenesOn || mixOn != m.mixOn {
		m.scenesOn, m.mixOn = scenesOn, mixOn
		m.showBanner()
	}
}

// showBanner says when what the mixer sets is not what goes out.
func (m *mixerPanel) showBanner() {
	text := ""
	switch {
	case !m.scenesOn:
		text = lang.L("The program shows the video picked in the Sources tab, not the scenes: this mix is not heard.")
	case !m.mixOn:
		text = lang.L("The program's sound is the one picked in the Sources tab, not this mix.")
	}
	setText(m.bannerText, text)
	setShown(m.banner, text != "")
}

// update changes the collection through fn, and shows why when it cannot.
func (m *mixerPanel) update(live bool, fn func(c *scene.Collection) error) bool {
	err := m.host.edit(live, fn)
	m.setError(err)
	return err == nil
}

func (m *mixerPanel) setError(err error) {
	text := ""
	if err != nil {
		text = err.Error()
	}
	setText(m.status, text)
	setShown(m.status, text != "") // an empty label would still take a line
}

// audioOf is a source's sound settings in c, made if it has none.
func audioOf(c *scene.Collection, name string) (*scene.Audio, error) {
	s, ok := c.Source(name)
	if !ok {
		return nil, fmt.Errorf("source %q: %w", name, scene.ErrNotFound)
	}
	if s.Audio == nil {
		s.Audio = &scene.Audio{}
	}
	return s.Audio, nil
}

// onAudio runs fn on a source's sound settings in the clone an edit makes.
func onAudio(name string, fn func(a *scene.Audio) error) func(c *scene.Collection) error {
	return func(c *scene.Collection) error {
		a, err := audioOf(c, name)
		if err != nil {
			return err
		}
		return fn(a)
	}
}

// onMaster runs fn on the master bus in the clone an edit makes.
func onMaster(fn func(ms *scene.Master)) func(c *scene.Collection) error {
	return func(c *scene.Collection) error {
		if c.Master == nil {
			c.Master = &scene.Master{}
		}
		fn(c.Master)
		return nil
	}
}

// setGain is a fader moved: a source's, or the master's for "".
func (m *mixerPanel) setGain(name string, db float64, live bool) {
	if name == "" {
		m.update(live, onMaster(func(ms *scene.Master) { ms.GainDB = db }))
		return
	}
	m.update(live, onAudio(name, func(a *scene.Audio) error { a.GainDB = db; return nil }))
}

func (m *mixerPanel) toggleMute(name string) {
	m.update(false, onAudio(name, func(a *scene.Audio) error { a.Muted = !a.Muted; return nil }))
}

// Push keys. The window hears a key only while no control has the
// keyboard (Fyne hands it to the focused one); the mixer's own controls pass
// it on, so a push key works after Tab has moved through the mixer, but not
// while a text field or another panel's control has the focus. A click on
// an empty part of the window gives the keys back.

// pushKeyInUse says whether some microphone answers this key.
func (m *mixerPanel) pushKeyInUse(k fyne.KeyName) bool {
	if k == "" {
		return false
	}
	for _, s := range m.host.collection().Sources {
		if s.Type == scene.TypeMicrophone && s.Audio != nil && s.Audio.Push != "" && s.Audio.PushKey == string(k) {
			return true
		}
	}
	return false
}

// keyDown holds a push key down (UI thread). A key held does not repeat here:
// Fyne reports a press once.
func (m *mixerPanel) keyDown(ev *fyne.KeyEvent) {
	if ev == nil || m.held[ev.Name] || !m.pushKeyInUse(ev.Name) {
		return
	}
	m.held[ev.Name] = true
	m.host.pushed()
	m.show()
}

// keyUp lets a push key go (UI thread).
func (m *mixerPanel) keyUp(ev *fyne.KeyEvent) {
	if ev == nil || !m.held[ev.Name] {
		return
	}
	delete(m.held, ev.Name)
	m.host.pushed()
	m.show()
}

// releaseAll lets every push key go: the window lost the keyboard, and the
// release would go elsewhere. A push-to-talk microphone must not stay open
// because the key came up in another window.
func (m *mixerPanel) releaseAll() {
	if len(m.held) == 0 {
		return
	}
	clear(m.held)
	m.host.pushed()
	m.show()
}

// program is the collection as the program hears it now: c itself when no
// push key is held, otherwise a clone in which a held push-to-talk
// microphone has its push taken off (heard, unless muted) and a held
// push-to-mute one is muted. The engine mutes a push-to-talk microphone
// whose key is not held (scene.Audio.Mutes).
func (m *mixerPanel) program(c *scene.Collection) *scene.Collection {
	if c == nil || len(m.held) == 0 {
		return c
	}
	out := c.Clone()
	for i := range out.Sources {
		a := out.Sources[i].Audio
		if a == nil || a.Push == "" || !m.held[fyne.KeyName(a.PushKey)] || out.Sources[i].Type != scene.TypeMicrophone {
			continue
		}
		if a.Push == scene.PushMute {
			a.Muted = true
		}
		a.Push, a.PushKey = "", ""
	}
	return out
}

// setText changes a label's text only when it differs: a refresh costs a
// repaint.
func setText(l *widget.Label, text string) {
	if l.Text != text {
		l.SetText(text)
	}
}

func setShown(o fyne.CanvasObject, on bool) {
	if o.Visible() == on {
		return
	}
	if on {
		o.Show()
	} else {
		o.Hide()
	}
}

// microphones lists the microphones as the collection names them: the
// labels the audio picker offers for "mic:" (UI thread).
func (s *Studio) microphones() []string {
	var out []string
	for _, c := range s.sources.audioChoices {
		if name, ok := strings.CutPrefix(c.Spec, "mic:"); ok {
			out = append(out, name)
		}
	}
	return out
}
