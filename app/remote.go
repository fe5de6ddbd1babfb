package app

import (
	"errors"
	"fmt"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tallystudio/tally/remote"
	"github.com/tallystudio/tally/scene"
)

// RemoteConfig is how the remote control (obs-websocket v5, package remote)
// runs.
type RemoteConfig struct {
	Addr     string // host:port; loopback port 4455 when empty
	Password string // required
}

// RemoteStatus is what the studio shows about the remote control.
type RemoteStatus struct {
	On      bool
	Addr    string // where it listens, when on
	Clients int    // clients connected and identified
}

// ErrNoSound is a mute or fader change for a source the scene mixer does
// not have.
var ErrNoSound = errors.New("no such sound source")

// remoteHolder is the engine's remote control, when it is on.
type remoteHolder struct {
	mu  sync.Mutex
	srv *remote.Server
	// soundEdits counts mute and fader changes made through the engine
	// rather than the window, so that the window can take them into the
	// collection it edits and saves.
	soundEdits atomic.Uint64
}

// StartRemote turns the remote control on, replacing one already on.
// settings is what StartStream and StartRecord go live with: the settings
// the studio's Go Live would use. It fails when the address is taken or the
// password is empty.
func (e *Engine) StartRemote(cfg RemoteConfig, settings func() (Settings, error)) error {
	e.remote.mu.Lock()
	defer e.remote.mu.Unlock()
	if e.remote.srv != nil {
		_ = e.remote.srv.Close()
		e.remote.srv = nil
	}
	srv, err := remote.Start(remote.Config{Addr: cfg.Addr, Password: cfg.Password, Version: Version},
		&remoteBackend{e: e, settings: settings}, e.log)
	if err != nil {
		return err
	}
	e.remote.srv = srv
	return nil
}

// StopRemote turns the remote control off, disconnecting its clients.
func (e *Engine) StopRemote() {
	e.remote.mu.Lock()
	defer e.remote.mu.Unlock()
	if e.remote.srv != nil {
		_ = e.remote.srv.Close()
		e.remote.srv = nil
	}
}

// RemoteStatus says whether the remote control is on and who is connected.
func (e *Engine) RemoteStatus() RemoteStatus {
	e.remote.mu.Lock()
	defer e.remote.mu.Unlock()
	if e.remote.srv == nil {
		return RemoteStatus{}
	}
	return RemoteStatus{On: true, Addr: e.remote.srv.Addr().String(), Clients: e.remote.srv.Clients()}
}

// SoundControl is one sound source of the scene mixer and its controls.
type SoundControl struct {
	Source string
	Type   string // the scene source's type
	Muted  bool
	GainDB float64 // scene.MinGainDB is silence
}

// SoundControls are the scene mixer's sources with sound, in the
// collection's order; none when the program is not composing scenes.
func (e *Engine) SoundControls() []SoundControl {
	col := e.prog.collection()
	if col == nil {
		return nil
	}
	var out []SoundControl
	for _, s := range col.Sources {
		if !scene.HasSound(s.Type) {
			continue
		}
		c := SoundControl{Source: s.Name, Type: s.Type}
		if s.Audio != nil {
			c.Muted, c.GainDB = s.Audio.Muted, s.Audio.GainDB
		}
		out = append(out, c)
	}
	return out
}

// SetSoundMuted mutes or unmutes a sound source of the scene mixer, live or
// not.
func (e *Engine) SetSoundMuted(source string, muted bool) error {
	return e.editSound(source, func(a *scene.Audio) { a.Muted = muted })
}

// SetSoundGain moves a sound source's fader, in dB (scene.MinGainDB is
// silence).
func (e *Engine) SetSoundGain(source string, db float64) error {
	if db < scene.MinGainDB || db > scene.MaxGainDB {
		return fmt.Errorf("%w: %g dB is outside %d..%d dB", remote.ErrOutOfRange, db, scene.MinGainDB, scene.MaxGainDB)
	}
	return e.editSound(source, func(a *scene.Audio) { a.GainDB = db })
}

// SoundEdits counts the changes SetSoundMuted and SetSoundGain made. The
// studio's window compares it with the count it saw last and, when it moved,
// takes the mutes and faders from SoundControls into the collection it
// edits, so that its next edit does not put them back.
func (e *Engine) SoundEdits() uint64 { return e.remote.soundEdits.Load() }

func (e *Engine) editSound(source string, edit func(*scene.Audio)) error {
	e.prog.mu.Lock()
	sc := e.prog.scenes
	e.prog.mu.Unlock()
	if sc == nil {
		return fmt.Errorf("%w %q: the program is not composing scenes", ErrNoSound, source)
	}
	col := sc.collection().Clone()
	src, ok := col.Source(source)
	if !ok || !scene.HasSound(src.Type) {
		return fmt.Errorf("%w %q", ErrNoSound, source)
	}
	if src.Audio == nil {
		src.Audio = &scene.Audio{}
	}
	edit(src.Audio)
	if err := sc.SetCollection(col); err != nil {
		return fmt.Errorf("sound %q: %w", source, err)
	}
	e.remote.soundEdits.Add(1)
	return nil
}

// SceneCollection is a copy of the collection the program composes, with
// the changes made through the engine (SetSoundMuted, SetSoundGain); nil
// without scenes. Whoever goes live next hands this one over, or the
// settings' older collection would undo those changes.
func (e *Engine) SceneCollection() *scene.Collection {
	col := e.prog.collection()
	if col == nil {
		return nil
	}
	return col.Clone()
}

// collection is the scene collection the program composes, nil without
// scenes. It is the reader's own: do not change it.
func (p *program) collection() *scene.Collection {
	p.mu.Lock()
	sc := p.scenes
	p.mu.Unlock()
	if sc == nil {
		return nil
	}
	return sc.collection()
}

func (r *sceneReader) collection() *scene.Collection {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.col
}

// runningSettings are the settings of the session under way, if any.
func (e *Engine) runningSettings() (Settings, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.running, e.sess != nil
}

// remoteBackend is the engine as the remote control drives it.
//
// A recording starts and stops on its own, as OBS's does: StartRecord with
// nothing live starts a session that only records, and while live it joins
// the stream (Engine.StartRecording); StartStream goes live beside a
// recording, and StopStream leaves it running (Engine.Stop).
type remoteBackend struct {
	e        *Engine
	settings func() (Settings, error)
}

var _ remote.Backend = (*remoteBackend)(nil)

// output is a session's state as the protocol's output status.
func output(st Status) remote.OutputStatus {
	var o remote.OutputStatus
	switch st.State {
	case StateConnecting:
		o.Starting = true
	case StateLive:
		o.Active = true
	case StateReconnecting:
		o.Active, o.Reconnecting = true, true
	case StateStopping:
		o.Active, o.Stopping = true, true
	default:
		return o
	}
	if o.Active && !o.Stopping {
		o.Duration = time.Since(st.Since)
	}
	o.TotalFrames = st.Stats.FramesSent
	o.SkippedFrames = st.Stats.DroppedNetwork + st.Stats.SkippedEncoding
	return o
}

func (b *remoteBackend) StreamStatus() remote.OutputStatus {
	run, ok := b.e.runningSettings()
	if !ok || len(run.Destinations) == 0 {
		return remote.OutputStatus{}
	}
	return output(b.e.Status())
}

func (b *remoteBackend) RecordStatus() remote.OutputStatus {
	st := b.e.Status()
	if st.Recording == "" {
		return remote.OutputStatus{}
	}
	o := output(st)
	if st.Streaming {
		// The state and counts are the stream's; the recording beside it,
		// or joined to it, is simply under way.
		o = remote.OutputStatus{Active: true}
	}
	o.Path = st.Recording
	if o.Active && !o.Stopping {
		o.Duration = time.Since(st.RecordingSince)
	}
	return o
}

func (b *remoteBackend) goLive(s Settings) error {
	_, err := b.e.GoLive(s)
	switch {
	case errors.Is(err, ErrBusy):
		return fmt.Errorf("%w: %w", remote.ErrOutputRunning, err)
	case errors.Is(err, ErrProgramInUse):
		return fmt.Errorf("%w: %w", remote.ErrCannotAct, err)
	}
	return err
}

func (b *remoteBackend) StartStream() error {
	if _, ok := b.e.runningSettings(); ok {
		return fmt.Errorf("%w: the stream is live", remote.ErrOutputRunning)
	}
	s, err := b.settings()
	if err != nil {
		return err
	}
	if len(s.Destinations) == 0 {
		return fmt.Errorf("%w: no destination is set up", remote.ErrCannotAct)
	}
	return b.goLive(s)
}

func (b *remoteBackend) StopStream() error {
	run, ok := b.e.runningSettings()
	if !ok || len(run.Destinations) == 0 {
		return fmt.Errorf("%w: not live", remote.ErrOutputNotRunning)
	}
	b.e.Stop()
	return nil
}

func (b *remoteBackend) StartRecord() error {
	if st := b.e.Status(); st.Recording != "" {
		return fmt.Errorf("%w: recording to %s", remote.ErrOutputRunning, st.Recording)
	}
	s, err := b.settings()
	if err != nil {
		return err
	}
	if s.Record == "" {
		return fmt.Errorf("%w: no recording file is set (the Output tab's Recording, or tally stream --record)", remote.ErrCannotAct)
	}
	_, err = b.e.StartRecording(s, s.Record)
	switch {
	case errors.Is(err, ErrAlreadyRecording), errors.Is(err, ErrBusy):
		return fmt.Errorf("%w: %w", remote.ErrOutputRunning, err)
	case err != nil:
		return fmt.Errorf("%w: %w", remote.ErrCannotAct, err)
	}
	return nil
}

func (b *remoteBackend) StopRecord() (string, error) {
	path, err := b.e.StopRecording()
	if errors.Is(err, ErrNotRecording) {
		return "", fmt.Errorf("%w: %w", remote.ErrOutputNotRunning, err)
	}
	return path, err
}

func (b *remoteBackend) Scenes() ([]string, string) {
	col := b.e.prog.collection()
	if col == nil {
		return nil, ""
	}
	names := make([]string, len(col.Scenes))
	for i, sc := range col.Scenes {
		names[i] = sc.Name
	}
	return names, b.e.Scene()
}

func (b *remoteBackend) SetScene(name string) error {
	if err := b.e.SwitchScene(name); err != nil {
		if errors.Is(err, ErrNoScene) {
			return fmt.Errorf("%w: %w", remote.ErrNotFound, err)
		}
		return err
	}
	return nil
}

func (b *remoteBackend) Inputs() []remote.Input {
	var out []remote.Input
	for _, c := range b.e.SoundControls() {
		out = append(out, remote.Input{Name: c.Source, Kind: c.Type, Muted: c.Muted, GainDB: c.GainDB})
	}
	return out
}

func soundErr(err error) error {
	if errors.Is(err, ErrNoSound) {
		return fmt.Errorf("%w: %w", remote.ErrNotFound, err)
	}
	return err
}

func (b *remoteBackend) SetInputMute(name string, muted bool) error {
	return soundErr(b.e.SetSoundMuted(name, muted))
}

func (b *remoteBackend) SetInputVolume(name string, db float64) error {
	return soundErr(b.e.SetSoundGain(name, db))
}

func (b *remoteBackend) Stats() remote.Stats {
	st := b.e.Status()
	mem := st.Stats.RSSMB
	if mem == 0 {
		// runtime/metrics rather than ReadMemStats, which stops the world:
		// a client may ask for stats as often as its rate allows, while
		// encoders run.
		sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			mem = float64(sample[0].Value.Uint64()) / (1 << 20)
		}
	}
	return remote.Stats{CPUPercent: st.Stats.CPUPercent, MemoryMB: mem, FPS: st.Stats.FPS,
		SkippedFrames: st.Stats.SkippedEncoding + st.Stats.DroppedNetwork, TotalFrames: st.Stats.FramesSent}
}
