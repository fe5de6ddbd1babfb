package ui

import (
	"fmt"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/tallystudio/tally/scene"
)

// The fader's travel is linear in dB from faderFloor to scene.MaxGainDB,
// with one notch below it for −∞ (scene.MinGainDB): the range a voice or
// music is set in gets almost all of it, and silence is one press of Down
// or a drag to the end away.
const (
	faderFloor = -60.0
	faderOff   = faderFloor - 1 // the position of −∞
	faderStep  = 1.0            // dB per arrow key
	faderPage  = 6.0            // dB per Page Up/Down
)

// pushKeys is what a mixer control that holds the keyboard passes on: the
// push-to-talk keys are the mixer's, whichever of its controls has focus
// (the window hears keys only while no control has it).
type pushKeys interface {
	keyDown(*fyne.KeyEvent)
	keyUp(*fyne.KeyEvent)
	pushKeyInUse(fyne.KeyName) bool
}

// fader is a source's gain in dB: Fyne's slider, with the keys a fader
// needs. Fyne's own moves a horizontal slider only with Left and Right, by
// its step; a fader also takes Up and Down (the direction its value goes),
// Page Up and Page Down for bigger steps, Home for −∞, End for the top and
// 0 for unity gain, each applied at once.
type fader struct {
	widget.Slider
	db     float64 // the gain shown, which the position may only approximate
	keys   pushKeys
	change func(db float64, live bool) // the user moved it; live: a drag goes on
}

func newFader(keys pushKeys, change func(db float64, live bool)) *fader {
	f := &fader{keys: keys, change: change}
	f.Min, f.Max, f.Step, f.Orientation = faderOff, scene.MaxGainDB, 0.5, widget.Horizontal
	f.ExtendBaseWidget(f)
	f.OnChanged = func(v float64) { f.moved(v, true) }
	f.OnChangeEnded = func(v float64) { f.moved(v, false) }
	return f
}

// moved takes a position the pointer set.
func (f *fader) moved(v float64, live bool) {
	db := float64(scene.MinGainDB)
	if v >= faderFloor {
		db = math.Round(v*10) / 10
	}
	f.db = db
	f.change(db, live)
}

// set shows a gain without calling change.
func (f *fader) set(db float64) {
	f.db = db
	pos := faderOff
	if db > scene.MinGainDB {
		pos = max(db, faderFloor)
	}
	if f.Value != pos {
		f.Value = pos
		f.Refresh()
	}
}

// nudge moves the gain by a number of dB from where it is: −∞ is one step
// under faderFloor either way.
func (f *fader) nudge(by float64) {
	db := f.db
	switch {
	case db <= scene.MinGainDB && by > 0:
		db = faderFloor
	case db <= faderFloor && by < 0:
		db = scene.MinGainDB
	default:
		db = math.Round((db+by)*10) / 10
		db = min(max(db, faderFloor), scene.MaxGainDB)
	}
	f.to(db)
}

// to applies a gain chosen by keyboard.
func (f *fader) to(db float64) {
	if db == f.db || f.Disabled() {
		return
	}
	f.set(db)
	f.change(db, false)
}

// TypedKey moves the fader; a push key in use is the mixer's, not a step.
func (f *fader) TypedKey(ev *fyne.KeyEvent) {
	if f.keys.pushKeyInUse(ev.Name) {
		return
	}
	switch ev.Name {
	case fyne.KeyUp, fyne.KeyRight:
		f.nudge(faderStep)
	case fyne.KeyDown, fyne.KeyLeft:
		f.nudge(-faderStep)
	case fyne.KeyPageUp:
		f.nudge(faderPage)
	case fyne.KeyPageDown:
		f.nudge(-faderPage)
	case fyne.KeyHome:
		f.to(scene.MinGainDB)
	case fyne.KeyEnd:
		f.to(scene.MaxGainDB)
	}
}

// TypedRune: 0 puts the fader at unity gain.
func (f *fader) TypedRune(r rune) {
	if r == '0' && !f.keys.pushKeyInUse(fyne.Key0) {
		f.to(0)
	}
}

// KeyDown and KeyUp hand push keys to the mixer while the fader has focus.
func (f *fader) KeyDown(ev *fyne.KeyEvent) { f.keys.keyDown(ev) }
func (f *fader) KeyUp(ev *fyne.KeyEvent)   { f.keys.keyUp(ev) }

var _ desktop.Keyable = (*fader)(nil)

// keyButton is a button of the mixer: Tab reaches it and Space presses it,
// as any Fyne button, and while it has focus the push keys still work.
type keyButton struct {
	widget.Button
	keys pushKeys
}

func newKeyButton(text string, icon fyne.Resource, keys pushKeys, tapped func()) *keyButton {
	b := &keyButton{keys: keys}
	b.Text, b.Icon, b.OnTapped = text, icon, tapped
	b.ExtendBaseWidget(b)
	return b
}

// TypedKey presses the button on Space, unless Space is a push key in use:
// holding it to talk must not toggle the mute under the focus as well.
func (b *keyButton) TypedKey(ev *fyne.KeyEvent) {
	if b.keys.pushKeyInUse(ev.Name) {
		return
	}
	b.Button.TypedKey(ev)
}

func (b *keyButton) KeyDown(ev *fyne.KeyEvent) { b.keys.keyDown(ev) }
func (b *keyButton) KeyUp(ev *fyne.KeyEvent)   { b.keys.keyUp(ev) }

var _ desktop.Keyable = (*keyButton)(nil)

// faderText is a gain beside its fader: always as wide (the label is
// monospaced), so that the faders of a column of strips are as long.
func faderText(db float64) string { return fmt.Sprintf("%8s", gainText(db)) }

// gainText is a gain as the mixer writes it.
func gainText(db float64) string {
	if db <= scene.MinGainDB {
		return "-inf dB"
	}
	return fmt.Sprintf("%+.1f dB", db)
}
