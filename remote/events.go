package remote

import (
	"context"
	"time"
)

// Output states as StreamStateChanged and RecordStateChanged report them.
const (
	OutputStarting     = "OBS_WEBSOCKET_OUTPUT_STARTING"
	OutputStarted      = "OBS_WEBSOCKET_OUTPUT_STARTED"
	OutputStopping     = "OBS_WEBSOCKET_OUTPUT_STOPPING"
	OutputStopped      = "OBS_WEBSOCKET_OUTPUT_STOPPED"
	OutputReconnecting = "OBS_WEBSOCKET_OUTPUT_RECONNECTING"
	OutputReconnected  = "OBS_WEBSOCKET_OUTPUT_RECONNECTED"
)

// snapshot is what the events are about, as the backend had it last.
type snapshot struct {
	stream, record string // output states
	recordPath     string
	scene          string
	inputs         map[string]Input
}

func outputState(st OutputStatus) string {
	switch {
	case st.Stopping:
		return OutputStopping
	case st.Starting:
		return OutputStarting
	case st.Reconnecting:
		return OutputReconnecting
	case st.Active:
		return OutputStarted
	}
	return OutputStopped
}

func (s *Server) take() snapshot {
	st, rec := s.backend.StreamStatus(), s.backend.RecordStatus()
	_, cur := s.backend.Scenes()
	snap := snapshot{stream: outputState(st), record: outputState(rec), recordPath: rec.Path, scene: cur,
		inputs: map[string]Input{}}
	for _, in := range s.backend.Inputs() {
		snap.inputs[in.Name] = in
	}
	return snap
}

// watch looks at the backend every PollEvery, and at once when a request
// changed it, and sends an event for each change since the last look. Looking
// rather than being told catches every change the same way, whoever made it:
// a remote client, the studio's window, a hotkey, a stream that failed.
func (s *Server) watch(ctx context.Context) {
	prev := s.take()
	t := time.NewTicker(s.cfg.PollEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
		next := s.take()
		s.diff(prev, next)
		prev = next
	}
}

// diff sends the events that take prev to next.
func (s *Server) diff(prev, next snapshot) {
	for _, st := range transitions(prev.stream, next.stream) {
		s.broadcast(event{Type: "StreamStateChanged", Intent: SubOutputs,
			Data: map[string]any{"outputActive": outputActive(st), "outputState": st}})
	}
	for _, st := range transitions(prev.record, next.record) {
		path := next.recordPath
		if path == "" {
			path = prev.recordPath
		}
		data := map[string]any{"outputActive": outputActive(st), "outputState": st}
		if st == OutputStopped {
			data["outputPath"] = path // where the finished file is, as OBS reports it
		} else {
			data["outputPath"] = nil
		}
		s.broadcast(event{Type: "RecordStateChanged", Intent: SubOutputs, Data: data})
	}
	if next.scene != prev.scene && next.scene != "" {
		s.broadcast(event{Type: "CurrentProgramSceneChanged", Intent: SubScenes,
			Data: map[string]any{"sceneName": next.scene, "sceneUuid": uuidOf("scene", next.scene)}})
	}
	for name, in := range next.inputs {
		old, ok := prev.inputs[name]
		if !ok {
			continue // a new source: OBS sends InputCreated, which Tally does not
		}
		id := uuidOf("input", name)
		if in.Muted != old.Muted {
			s.broadcast(event{Type: "InputMuteStateChanged", Intent: SubInputs,
				Data: map[string]any{"inputName": name, "inputUuid": id, "inputMuted": in.Muted}})
		}
		if in.GainDB != old.GainDB {
			v := volume(in.GainDB)
			v["inputName"], v["inputUuid"] = name, id
			s.broadcast(event{Type: "InputVolumeChanged", Intent: SubInputs, Data: v})
		}
	}
}

func outputActive(state string) bool {
	switch state {
	case OutputStarted, OutputStopping, OutputReconnecting, OutputReconnected:
		return true
	}
	return false
}

// transitions are the states a client sees going from one state to another:
// OBS always passes through STARTING before STARTED and STOPPING before
// STOPPED, and clients wait for them, so a step the poll missed is filled in.
func transitions(from, to string) []string {
	if from == to {
		return nil
	}
	switch to {
	case OutputStarted:
		switch from {
		case OutputStopped:
			return []string{OutputStarting, OutputStarted}
		case OutputReconnecting:
			return []string{OutputReconnected}
		}
	case OutputStopped:
		if from != OutputStopping {
			return []string{OutputStopping, OutputStopped}
		}
	case OutputReconnecting:
		if from == OutputStopped || from == OutputStarting {
			return []string{OutputStarting, OutputStarted, OutputReconnecting}
		}
	}
	return []string{to}
}
