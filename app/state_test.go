package app

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tallystudio/tally/rtmpclient"
)

// The names are what `tally stream --stats json` prints: scripts depend on them.
func TestStateJSONKeepsItsNames(t *testing.T) {
	want := map[State]string{
		StateIdle: "idle", StateConnecting: "connecting", StateLive: "live",
		StateReconnecting: "reconnecting", StateStopping: "stopping", StateStopped: "stopped",
		StateError: "error", StateEnded: "ended",
	}
	if len(want) != len(stateNames) {
		t.Fatalf("%d states named, %d checked", len(stateNames), len(want))
	}
	for s, name := range want {
		b, err := json.Marshal(Stats{State: s, Destinations: []DestinationStats{{State: s}}})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(string(b), `"state":"`+name+`"`) != 2 {
			t.Errorf("%v: %s", name, b)
		}
		var back Stats
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back.State != s || back.Destinations[0].State != s {
			t.Errorf("%s read back as %v, %v", name, back.State, back.Destinations[0].State)
		}
	}
	var s State
	if err := s.UnmarshalText([]byte("on air")); err == nil {
		t.Errorf("an unknown state was read as %v", s)
	}
	if got := State(99).String(); got != "State(99)" {
		t.Errorf("State(99) is %q", got)
	}
}

// A destination's state in the stats is the Publisher's, under the same name.
func TestPublisherStateKeepsItsName(t *testing.T) {
	for p := rtmpclient.StateIdle; p <= rtmpclient.StateReconnecting; p++ {
		if got := publisherState(p).String(); got != p.String() {
			t.Errorf("publisher %v shows as %v", p, got)
		}
	}
}

// Active and Streaming are the two questions the window and `tally stream`
// ask of a state; this pins which states answer yes.
func TestStateActiveAndStreaming(t *testing.T) {
	for _, c := range []struct {
		s                 State
		active, streaming bool
	}{
		{StateIdle, false, false},
		{StateConnecting, true, false},
		{StateLive, true, true},
		{StateReconnecting, true, true},
		{StateStopping, true, true},
		{StateStopped, false, false},
		{StateError, false, false},
		{StateEnded, false, false},
	} {
		if c.s.Active() != c.active || c.s.Streaming() != c.streaming {
			t.Errorf("%v: active %v, streaming %v; want %v, %v", c.s, c.s.Active(), c.s.Streaming(), c.active, c.streaming)
		}
	}
}
