package ui

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"

	"github.com/tallystudio/tally/app"
	"github.com/tallystudio/tally/scene"
)

// remoteEngine is what the remote control needs of the engine beyond
// Engine. *app.Engine has it; an engine that does not (the tests' stand-ins)
// gets no remote control, and the window shows no button for it.
type remoteEngine interface {
	StartRemote(app.RemoteConfig, func() (app.Settings, error)) error
	StopRemote()
	RemoteStatus() app.RemoteStatus
	SoundEdits() uint64
	SoundControls() []app.SoundControl
}

// Where the remote control's settings are kept: whether it is on and its
// address in the preferences, the password in the keyring with the stream
// keys, never in the preferences file.
const (
	remoteOnKey    = "remote.enabled"
	remoteAddrKey  = "remote.addr"
	remoteKeyEntry = "obs-websocket remote control"
	remotePoll     = time.Second
)

// remoteControl is the state bar's remote control button, its settings
// dialog, and the loop that keeps the button's count and the mixer in step
// with what remote clients do.
type remoteControl struct {
	s      *Studio
	eng    remoteEngine
	button *widget.Button
	edits  uint64 // the engine's SoundEdits the mixer has taken in
}

func newRemoteControl(s *Studio) *remoteControl {
	r := &remoteControl{s: s}
	r.button = widget.NewButton(lang.L("Remote control off"), r.showSettings)
	r.button.Importance = widget.LowImportance
	eng, ok := s.eng.(remoteEngine)
	if !ok {
		r.button.Hide()
		return r
	}
	r.eng = eng
	return r
}

// start turns the remote control on if the user left it on, then follows
// it until the studio closes.
func (r *remoteControl) start() {
	if r.eng == nil {
		return
	}
	r.s.loops.Add(1)
	go r.loop()
}

func (r *remoteControl) loop() {
	defer r.s.loops.Done()
	if r.s.prefs.Bool(remoteOnKey) {
		// The keyring may take a moment (D-Bus): not on the UI thread.
		if err := r.turnOn(r.s.prefs.StringWithFallback(remoteAddrKey, defaultRemoteAddr)); err != nil {
			r.s.log.Warn("remote control not started", "err", err)
		}
	}
	r.edits = r.eng.SoundEdits()
	t := time.NewTicker(remotePoll)
	defer t.Stop()
	for {
		st := r.eng.RemoteStatus()
		if n := r.eng.SoundEdits(); n != r.edits {
			r.edits = n
			controls := r.eng.SoundControls()
			runOnUI(func() { r.takeSoundEdits(controls) })
		}
		runOnUI(func() { r.show(st) })
		select {
		case <-r.s.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// defaultRemoteAddr is obs-websocket's port, on this machine only.
const defaultRemoteAddr = "127.0.0.1:4455"

func (r *remoteControl) turnOn(addr string) error {
	pw, err := r.s.keys.Get(remoteKeyEntry)
	if err != nil {
		return err
	}
	return r.eng.StartRemote(app.RemoteConfig{Addr: addr, Password: pw}, r.settings)
}

// settings are what a remote StartStream goes live with: the window's, as
// Go Live would use them, read on the UI thread. It gives up when the studio
// closes, whose Close waits for the remote control, or when the UI thread
// does not answer, rather than hold a client's request forever.
func (r *remoteControl) settings() (app.Settings, error) {
	got := make(chan app.Settings, 1)
	runOnUI(func() { got <- r.s.current() })
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case st := <-got:
		return st, nil
	case <-r.s.ctx.Done():
		return app.Settings{}, errors.New("the studio is closing")
	case <-t.C:
		return app.Settings{}, errors.New("the studio's window did not answer")
	}
}

func (r *remoteControl) show(st app.RemoteStatus) {
	text := lang.L("Remote control off")
	if st.On {
		text = lang.L("Remote control on, clients:") + " " + strconv.Itoa(st.Clients)
	}
	if r.button.Text != text {
		r.button.SetText(text)
	}
}

// takeSoundEdits puts the mutes and faders a remote client set into the
// collection the window edits and saves, so that its next edit keeps them.
func (r *remoteControl) takeSoundEdits(controls []app.SoundControl) {
	r.s.mixer.update(false, func(c *scene.Collection) error {
		for _, ctl := range controls {
			a, err := audioOf(c, ctl.Source)
			if err != nil {
				continue // gone from the window's version since
			}
			a.Muted, a.GainDB = ctl.Muted, ctl.GainDB
		}
		return nil
	})
}

// showSettings is the remote control's settings: on or off, the address,
// and the password, which goes to the keyring.
func (r *remoteControl) showSettings() {
	s := r.s
	on := widget.NewCheck(lang.L("Let obs-websocket tools (Stream Deck, Touch Portal, bots) control the studio"), nil)
	on.SetChecked(s.prefs.Bool(remoteOnKey))
	addr := widget.NewEntry()
	addr.SetText(s.prefs.StringWithFallback(remoteAddrKey, defaultRemoteAddr))
	pw := widget.NewPasswordEntry()
	pw.SetPlaceHolder(lang.L("Unchanged"))
	items := []*widget.FormItem{
		widget.NewFormItem("", on),
		widget.NewFormItem(lang.L("Address"), addr),
		widget.NewFormItem(lang.L("Password"), pw),
	}
	dialog.ShowForm(lang.L("Remote control"), lang.L("Save"), lang.L("Cancel"), items, func(ok bool) {
		if !ok {
			return
		}
		enabled, address, password := on.Checked, strings.TrimSpace(addr.Text), pw.Text
		s.prefs.SetBool(remoteOnKey, enabled)
		s.prefs.SetString(remoteAddrKey, address)
		// The keyring and the listener may take a moment: off the UI thread.
		go func() {
			err := r.apply(enabled, address, password)
			if err != nil {
				runOnUI(func() { dialog.ShowError(err, s.Window) })
			}
		}()
	}, s.Window)
}

func (r *remoteControl) apply(enabled bool, addr, password string) error {
	if password != "" {
		if err := r.s.keys.Set(remoteKeyEntry, password); err != nil {
			return err
		}
	}
	if !enabled {
		r.eng.StopRemote()
		return nil
	}
	if pw, err := r.s.keys.Get(remoteKeyEntry); err != nil || pw == "" {
		// Never on without a password.
		return errors.New(lang.L("Remote control needs a password."))
	}
	return r.turnOn(addr)
}
