package remote

import (
	"errors"
	"time"
)

// Backend is what the remote control drives: the studio's engine (app's
// adapter) or a test's stand-in. Its methods return promptly and are safe to
// call from several sessions at once.
type Backend interface {
	StreamStatus() OutputStatus
	// StartStream goes live with the settings the user has set up.
	StartStream() error
	StopStream() error
	RecordStatus() OutputStatus
	StartRecord() error
	// StopRecord returns the recording's file.
	StopRecord() (path string, err error)
	// Scenes lists the scene collection in its order and names the one on
	// air; none when the program is not composing scenes.
	Scenes() (names []string, current string)
	SetScene(name string) error
	// Inputs are the sound sources the scene mixer mixes.
	Inputs() []Input
	SetInputMute(name string, muted bool) error
	// SetInputVolume sets a source's fader, in dB; MinGainDB is silence.
	SetInputVolume(name string, db float64) error
	Stats() Stats
}

// Errors a Backend wraps, so that a request answers with the protocol's code
// for them rather than a generic failure.
var (
	ErrOutputRunning    = errors.New("output already running")
	ErrOutputNotRunning = errors.New("output not running")
	ErrNotFound         = errors.New("no such resource")
	ErrNotReady         = errors.New("not ready")
	// ErrCannotAct: the request is valid but Tally cannot do it in its
	// present state (e.g. stop a recording that is part of a live stream).
	ErrCannotAct = errors.New("cannot act")
	// ErrOutOfRange: a value beyond what Tally's control takes.
	ErrOutOfRange = errors.New("out of range")
)

// OutputStatus is the stream's or the recording's state.
type OutputStatus struct {
	Active       bool
	Reconnecting bool
	// Starting and Stopping say the output is on its way up or down: the
	// events report them as the protocol's STARTING and STOPPING states.
	Starting, Stopping bool
	Duration           time.Duration
	Bytes              uint64
	SkippedFrames      uint64
	TotalFrames        uint64
	Congestion         float64 // 0..1
	Path               string  // the recording's file
}

// Input is one sound source of the mixer.
type Input struct {
	Name   string
	Kind   string // the scene source's type: "microphone", "desktop", "media", …
	Muted  bool
	GainDB float64 // MinGainDB is silence
}

// MinGainDB is the fader's bottom, which is silence (as OBS's −100 dB).
const MinGainDB = -100

// MaxGainDB is the top of Tally's fader.
const MaxGainDB = 20

// Stats are the numbers GetStats reports.
type Stats struct {
	CPUPercent    float64
	MemoryMB      float64
	FPS           float64
	SkippedFrames uint64
	TotalFrames   uint64
}
