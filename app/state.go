package app

import (
	"fmt"

	"github.com/tallystudio/tally/rtmpclient"
)

// State is where a session, one of its destinations, or the studio's engine
// is in going live. Its text form is the "state" of `tally stream --stats
// json`, which scripts and the tests read, so the names below are fixed.
type State int

const (
	// StateIdle is the zero value: nothing started yet, or the engine
	// between sessions.
	StateIdle State = iota
	StateConnecting
	StateLive
	// StateReconnecting: every destination lost its connection and is
	// waiting to retry; encoding and recording carry on.
	StateReconnecting
	StateStopping
	StateStopped
	StateError
	// StateEnded is only in `tally stream`'s final report, so a script can
	// tell the last line from a last ordinary sample.
	StateEnded
)

var stateNames = [...]string{
	StateIdle:         "idle",
	StateConnecting:   "connecting",
	StateLive:         "live",
	StateReconnecting: "reconnecting",
	StateStopping:     "stopping",
	StateStopped:      "stopped",
	StateError:        "error",
	StateEnded:        "ended",
}

func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// MarshalText keeps the JSON of Stats in words rather than numbers. It never
// fails: a stats line with an odd state is worth more than no line.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads what MarshalText wrote, so that tools and tests can
// decode `--stats json` into Stats.
func (s *State) UnmarshalText(b []byte) error {
	for i, name := range stateNames {
		if string(b) == name {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("app: unknown state %q", b)
}

// Active tells whether a stream is under way, from connecting until it has
// stopped: while it is, Go Live means stop, and the settings it runs with
// stay locked.
func (s State) Active() bool {
	switch s {
	case StateConnecting, StateLive, StateReconnecting, StateStopping:
		return true
	}
	return false
}

// Streaming tells whether the stream got out (it is live, reconnecting, or
// sending what is queued before it stops), which is when its per-second
// numbers mean something.
func (s State) Streaming() bool {
	switch s {
	case StateLive, StateReconnecting, StateStopping:
		return true
	}
	return false
}

// publisherState is the one place a Publisher's state becomes the app's.
func publisherState(s rtmpclient.State) State {
	switch s {
	case rtmpclient.StateIdle:
		return StateIdle
	case rtmpclient.StateConnecting:
		return StateConnecting
	case rtmpclient.StateLive:
		return StateLive
	case rtmpclient.StateReconnecting:
		return StateReconnecting
	case rtmpclient.StateStopping:
		return StateStopping
	case rtmpclient.StateStopped:
		return StateStopped
	}
	// StateFailed, and any state rtmpclient adds before this learns of it:
	// saying "error" is safer than saying it is fine.
	return StateError
}
