package app

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/tallystudio/tally/capture"
	"github.com/tallystudio/tally/encode"
)

// Engine is the studio: sources that run while the window is open (for the
// preview and the level meter), and fed from them at most one live session
// and one recording that runs without a stream (rec). Its
// methods return promptly, so a UI can call them from its own thread; the slow
// parts (opening devices, connecting) happen on goroutines the engine owns.
type Engine struct {
	log  *slog.Logger
	prog *program

	mu      sync.Mutex
	sess    *Session
	cancel  context.CancelFunc
	done    chan struct{}
	since   time.Time // when the current state began
	lastErr error
	reports []string
	history []float64
	devices *DeviceList
	running Settings // the live session's, while there is one (remote.go asks)
	// rec is the session that records with no stream: started by
	// StartRecording with nothing live, or left recording by Stop, whose
	// destinations are still unpublishing while endingStream.
	rec          *recordRun
	endingStream bool

	// remote is the remote control, when it is on (remote.go).
	remote remoteHolder

	// probing is held through a device listing, so that two callers do not
	// probe the encoders twice or rescan at the same time.
	probing sync.Mutex
}

// historyLen is how much bitrate history the stats graph gets: five minutes.
const historyLen = 300

// NewEngine returns an idle engine with no sources open.
func NewEngine(log *slog.Logger) *Engine {
	if log == nil {
		log = slog.Default()
	}
	return &Engine{log: log, prog: newProgram(log)}
}

// About reports what this copy of Tally is built from.
func (e *Engine) About() BuildInfo { return About() }

// SourceChoice is one entry of a source picker.
type SourceChoice struct {
	Spec  string // what Settings take: "testpattern", "camera:NAME", …
	Label string // what a person reads
}

// DeviceList is what can be picked on this machine.
type DeviceList struct {
	Video []SourceChoice
	Audio []SourceChoice // microphones, then desktop audio, the tone, none
	// Desktop is desktop audio alone, apart from the microphones: "desktop"
	// (the default output's monitor) first, then each output's monitor as
	// "desktop:NAME", NAME being what a scene's desktop source takes as its
	// device. Empty when there is no PulseAudio or PipeWire server.
	Desktop  []SourceChoice
	Encoders []string // H.264 encoders that open here, the default first
}

// What the device listing asks of the machine; tests stand in their own.
var (
	rescanDevices = capture.Rescan
	listSources   = capture.List
	listEncoders  = usableH264
)

// Devices lists the sources and encoders present. The first call probes the
// hardware and may take a moment; later calls return the same answer until
// RefreshDevices.
func (e *Engine) Devices() DeviceList {
	e.probing.Lock()
	defer e.probing.Unlock()
	e.mu.Lock()
	d := e.devices
	e.mu.Unlock()
	if d != nil {
		return *d
	}
	return e.list(listEncoders())
}

// RefreshDevices looks for sources again, so that a camera or microphone
// plugged in (or removed) while the studio is open is in the list it returns,
// and in Devices from then on. The encoders are those found the first time:
// probing them costs seconds and plugging in a device does not change them.
// It takes a moment; call it off a UI thread.
func (e *Engine) RefreshDevices() DeviceList {
	e.probing.Lock()
	defer e.probing.Unlock()
	e.mu.Lock()
	d := e.devices
	e.mu.Unlock()
	var encoders []string
	if d != nil {
		encoders = d.Encoders
	} else {
		encoders = listEncoders()
	}
	rescanDevices()
	return e.list(encoders)
}

// list lists the sources as they are registered now, keeps the answer for
// Devices and returns it; the caller holds e.probing.
func (e *Engine) list(encoders []string) DeviceList {
	d := sourceChoices(listSources())
	d.Encoders = encoders
	e.mu.Lock()
	e.devices = &d
	e.mu.Unlock()
	return d
}

func usableH264() []string {
	var out []string
	for _, enc := range encode.Usable("h264") {
		if enc.Codec == "h264" {
			out = append(out, enc.Name)
		}
	}
	return out
}

func sourceChoices(devs []capture.Device) DeviceList {
	var d DeviceList
	for _, dev := range devs {
		switch {
		case dev.Label == capture.TestPatternLabel:
			d.Video = append(d.Video, SourceChoice{"testpattern", "Test pattern (colour bars)"})
		case dev.Label == capture.ToneLabel:
			d.Audio = append(d.Audio, SourceChoice{"tone", "Test tone (440 Hz, beep each second)"})
		case dev.Kind == capture.KindMicrophone:
			d.Audio = append(d.Audio, SourceChoice{"mic:" + dev.Label, "Microphone: " + dev.Label})
		case dev.Kind == capture.KindDesktop:
			if len(d.Desktop) == 0 {
				d.Desktop = append(d.Desktop, SourceChoice{"desktop", "Desktop audio (the default output)"})
			}
			d.Desktop = append(d.Desktop, SourceChoice{"desktop:" + dev.ID, "Desktop audio: " + dev.Label})
		case dev.Kind == capture.KindScreen:
			d.Video = append(d.Video, SourceChoice{"screen:" + dev.Label, "Screen: " + dev.Label})
		default:
			d.Video = append(d.Video, SourceChoice{"camera:" + dev.Label, "Camera: " + dev.Label})
		}
	}
	// Desktop audio after the microphones and before the tone, which sorts
	// first among the test sources.
	at := slices.IndexFunc(d.Audio, func(c SourceChoice) bool { return c.Spec == "tone" })
	if at < 0 {
		at = len(d.Audio)
	}
	d.Audio = slices.Insert(d.Audio, at, d.Desktop...)
	d.Video = append(d.Video, SourceChoice{"none", "No video"})
	d.Audio = append(d.Audio, SourceChoice{"none", "No audio"})
	return d
}

// SetSources opens the sources the settings name (reopening only what
// changed), live or not: a live session carries on with the new source. A
// source that cannot open leaves the preview on its slate and says why.
func (e *Engine) SetSources(v VideoSettings, a AudioSettings) error {
	return e.prog.set(v, a)
}

// SwitchScene puts a scene of the collection on air, live or not, with the
// collection's transition.
func (e *Engine) SwitchScene(name string) error { return e.prog.switchScene(name) }

// Scene is the scene on air, "" when the video source is not scenes.
func (e *Engine) Scene() string { return e.prog.scene() }

// PreviewFrame draws the newest program picture into dst, scaled to fit. It
// returns false, leaving dst alone, when there is no signal. Call it from any
// goroutine but the UI's: it costs a scaled conversion.
func (e *Engine) PreviewFrame(dst *image.RGBA) bool {
	f := e.prog.latestFrame()
	if f == nil {
		return false
	}
	defer f.unref()
	scaleToRGBA(dst, f.img)
	return true
}

// AudioLevel is the program audio's current level.
func (e *Engine) AudioLevel() Level { return e.prog.level() }

// Status is what the window shows about going live.
type Status struct {
	// State is idle, connecting, live, reconnecting, stopping or error: a
	// session that has stopped still shows as stopping until the engine has
	// its result, so the window never offers Go Live over a running one.
	State   State
	Since   time.Time // when State began; when live, when the stream went live
	Error   string    // why the last session failed, with any key masked
	Stats   Stats
	History []float64 // sent kb/s once a second, oldest first, up to five minutes
	Reports []string  // the local test ingest's health reports, when it was used
	// SourceErrors name sources that failed and are replaced by a slate or
	// silence, live or not.
	SourceErrors []string
	// Recording is the file being recorded to, "" when none, since
	// RecordingSince.
	Recording      string
	RecordingSince time.Time
	// Streaming: a stream is under way (connecting, live, reconnecting or
	// stopping). Without it, a Recording runs alone.
	Streaming bool
}

// ErrBusy is returned by GoLive while a stream is under way or stopping.
var ErrBusy = errors.New("already live: stop first")

// ErrClosed is returned by an Engine's methods after Close.
var ErrClosed = errors.New("engine closed")

// GoLive validates the settings and starts streaming in the background. It
// returns the settings' warnings (limits of the chosen platforms), or why it
// cannot start. Watch Status for the rest. A recording that runs alone goes
// on beside the stream, which then records nothing more itself; settings
// without a destination only record, as StartRecording does.
func (e *Engine) GoLive(s Settings) (warnings []string, err error) {
	return e.start(s, len(s.Destinations) == 0)
}

// start starts a session in the background: the live one, or with
// recordOnly the recording that runs alone.
func (e *Engine) start(s Settings, recordOnly bool) (warnings []string, err error) {
	s.Duration = 0
	e.mu.Lock()
	rec := e.rec
	e.mu.Unlock()
	if rec != nil && !recordOnly {
		s.Record = "" // the recording under way is the one
		if err := rec.sameProgram(s); err != nil {
			return nil, err
		}
	}
	if s.Record != "" && encode.CanRecord(s.Record) {
		// Never over what the streamer recorded before.
		if s.Record, err = freeRecordingPath(s.Record); err != nil {
			return nil, err
		}
	}
	sess, warnings, err := newStudioSession(s, e.log, e.prog)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	switch {
	case e.rec != rec: // it started or ended meanwhile: the checks above no longer hold
		e.mu.Unlock()
		return nil, fmt.Errorf("%w: a recording started or stopped meanwhile; try again", ErrBusy)
	case !recordOnly && (e.sess != nil || e.endingStream):
		e.mu.Unlock()
		return nil, ErrBusy
	case recordOnly && rec != nil:
		e.mu.Unlock()
		return nil, fmt.Errorf("%w to %s", ErrAlreadyRecording, rec.path())
	case recordOnly && e.sess != nil:
		e.mu.Unlock()
		return nil, fmt.Errorf("%w: record from the live stream (StartRecording)", ErrBusy)
	}
	if err := e.prog.set(s.Video, s.Audio); err != nil {
		e.mu.Unlock()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	if recordOnly {
		e.rec = &recordRun{sess: sess, cancel: cancel, done: done, settings: s}
		e.lastErr = nil
	} else {
		e.sess, e.cancel, e.done, e.running = sess, cancel, done, s
		e.since, e.lastErr, e.reports, e.history = time.Now(), nil, nil, nil
	}
	e.mu.Unlock()
	go e.runSession(ctx, cancel, sess, done)
	return warnings, nil
}

// runSession runs sess until it ends, then clears whichever slot holds it:
// the live one, or the recording's, where Stop may have moved it.
func (e *Engine) runSession(ctx context.Context, cancel context.CancelFunc, sess *Session, done chan<- struct{}) {
	defer close(done)
	sampled := make(chan struct{})
	go e.sample(ctx, sess, sampled)
	err := sess.Run(ctx)
	cancel()
	<-sampled
	var reports []string
	for _, r := range sess.LocalReports() {
		reports = append(reports, r.String())
	}
	if err != nil {
		e.log.Error("session ended", "err", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.sess == sess:
		e.sess, e.cancel = nil, nil
		e.lastErr, e.reports, e.since = err, reports, time.Now()
	case e.rec != nil && e.rec.sess == sess:
		e.rec = nil
		// A stream this session carried ended at Stop, and its
		// destinations' failures were shown then: only the recording's
		// own failure is news, shown when nothing is live.
		var de *DestinationsError
		if err != nil && !errors.As(err, &de) && e.sess == nil {
			e.lastErr, e.since = err, time.Now()
		}
	}
}

// sample keeps the bitrate history and notes when the stream went live.
func (e *Engine) sample(ctx context.Context, sess *Session, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	wasLive := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st := sess.Stats()
		live := sess.connected()
		e.mu.Lock()
		if e.sess != sess { // a recording alone, or since Stop
			e.mu.Unlock()
			continue
		}
		if live && !wasLive {
			e.since = time.Now()
		}
		if st.T > 0 {
			e.history = append(e.history, st.SentKbps)
			if n := len(e.history); n > historyLen {
				e.history = append(e.history[:0], e.history[n-historyLen:]...)
			}
		}
		e.mu.Unlock()
		wasLive = wasLive || live
	}
}

// Stop ends the stream: encoders flush, destinations unpublish. A
// recording started on its own (StartRecording) goes on, as OBS's does when
// streaming stops: the session keeps running for it alone, and
// StopRecording ends it. One that started with the stream (Settings.Record)
// ends with it. Stop returns at once; Status says StateStopping until the
// destinations have unpublished.
func (e *Engine) Stop() {
	e.mu.Lock()
	sess := e.sess
	e.mu.Unlock()
	if sess == nil {
		return
	}
	// Asked without e.mu: the recording's lock is held through disk writes.
	own := sess.ownRecording()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sess != sess {
		return // it ended, or was stopped, meanwhile
	}
	if own == "" || e.rec != nil {
		e.cancel()
		return
	}
	rec := &recordRun{sess: sess, cancel: e.cancel, done: e.done, settings: e.running}
	e.rec, e.endingStream = rec, true
	e.sess, e.cancel, e.done = nil, nil, nil
	e.since, e.lastErr, e.reports = time.Now(), nil, nil
	e.log.Info("stopping the stream; the recording goes on", "path", own)
	go func() {
		// Bounded by the Publishers' own timeouts.
		sess.EndStream()
		e.mu.Lock()
		defer e.mu.Unlock()
		e.endingStream = false
		if e.rec == rec && sess.ownRecording() == "" {
			rec.cancel() // StopRecording came while the stream was being handed over
		}
	}()
}

// stopAll ends the stream and any recording.
func (e *Engine) stopAll() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cancel != nil {
		e.cancel()
	}
	if e.rec != nil {
		e.rec.cancel()
	}
}

// Wait blocks until the sessions under way, stream and recording, have
// ended, or ctx ends.
func (e *Engine) Wait(ctx context.Context) error {
	e.mu.Lock()
	var waits []chan struct{}
	if e.done != nil {
		waits = append(waits, e.done)
	}
	if e.rec != nil {
		waits = append(waits, e.rec.done)
	}
	e.mu.Unlock()
	for _, done := range waits {
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Status reports the stream's state and numbers, or the recording's when it
// runs alone.
func (e *Engine) Status() Status {
	e.mu.Lock()
	sess, since, lastErr, ending := e.sess, e.since, e.lastErr, e.endingStream
	recorder := sess
	if e.rec != nil {
		recorder = e.rec.sess
	}
	st := Status{Since: since, History: append([]float64(nil), e.history...), Reports: e.reports,
		Streaming: sess != nil || ending}
	e.mu.Unlock()
	if lastErr != nil {
		// Also beside a recording that runs alone: a stream that failed
		// while it records must not go unseen.
		st.Error = lastErr.Error()
	}
	st.SourceErrors = e.prog.sourceErrors()
	if recorder != nil {
		st.Recording, st.RecordingSince = recorder.Recording()
	}
	alone := sess == nil && recorder != nil
	if alone {
		sess = recorder
	}
	if sess == nil {
		st.State = StateIdle
		if lastErr != nil {
			st.State = StateError
		}
		return st
	}
	st.Stats = sess.Stats()
	if alone {
		// A recording alone shows as a session with no destinations, as
		// one started alone always has; a stream that ended at Stop is gone,
		// or still unpublishing.
		st.Stats.Destinations = nil
		st.Stats.State = sess.State()
		if ending {
			st.State = StateStopping
			return st
		}
	}
	switch s := sess.State(); {
	case st.Stats.State == StateReconnecting:
		st.State = StateReconnecting
	case s == StateLive && !sess.connected():
		st.State = StateConnecting
	case s == StateLive || s == StateConnecting || s == StateStopping:
		st.State = s
	default: // stopped or error, while the engine collects the result
		st.State = StateStopping
	}
	return st
}

// Close stops any session, waiting up to a few seconds for it to unpublish
// and finish its recording, then closes the sources.
func (e *Engine) Close() error {
	e.StopRemote()
	e.stopAll()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := e.Wait(ctx)
	e.prog.close()
	if err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	return nil
}
