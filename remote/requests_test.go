package remote

import (
	"encoding/json"
	"math"
	"slices"
	"testing"
	"time"
)

func waitFor(t *testing.T, ok func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func decode[T any](t *testing.T, r testResponse) T {
	t.Helper()
	if !r.Status.Result || r.Status.Code != StatusSuccess {
		t.Fatalf("%s failed: %+v", r.Type, r.Status)
	}
	var v T
	if err := json.Unmarshal(r.Data, &v); err != nil {
		t.Fatalf("%s: %v in %s", r.Type, err, r.Data)
	}
	return v
}

func TestUnknownRequestTypeGetsUnknownRequestType(t *testing.T) {
	s, _ := startServer(t, newFake(), Config{})
	c := login(t, s, nil)
	r := c.call("GetHotkeyList", nil)
	if r.Status.Result || r.Status.Code != StatusUnknownRequestType {
		t.Fatalf("status %+v, want 204", r.Status)
	}
}

func TestGetVersionListsTheRequestsTallyAnswers(t *testing.T) {
	s, _ := startServer(t, newFake(), Config{})
	c := login(t, s, nil)
	v := decode[struct {
		RPC       int      `json:"rpcVersion"`
		Available []string `json:"availableRequests"`
		WS        string   `json:"obsWebSocketVersion"`
	}](t, c.call("GetVersion", nil))
	if v.RPC != 1 || v.WS != WebSocketVersion || !slices.Contains(v.Available, "SetCurrentProgramScene") || len(v.Available) != len(handlers) {
		t.Fatalf("version %+v", v)
	}
}

func TestSceneRequestsSwitchTheProgram(t *testing.T) {
	f := newFake()
	s, _ := startServer(t, f, Config{})
	c := login(t, s, nil)
	list := decode[struct {
		Current string `json:"currentProgramSceneName"`
		Scenes  []struct {
			Index int    `json:"sceneIndex"`
			Name  string `json:"sceneName"`
			UUID  string `json:"sceneUuid"`
		} `json:"scenes"`
	}](t, c.call("GetSceneList", nil))
	if list.Current != "Starting" || len(list.Scenes) != 3 || list.Scenes[0].Name != "Ending" || list.Scenes[2].Index != 2 {
		t.Fatalf("scene list %+v", list)
	}
	if r := c.call("SetCurrentProgramScene", map[string]any{"sceneName": "Camera"}); !r.Status.Result {
		t.Fatalf("switch: %+v", r.Status)
	}
	if _, cur := f.Scenes(); cur != "Camera" {
		t.Fatalf("on air %q", cur)
	}
	// By UUID, as newer clients address scenes.
	if r := c.call("SetCurrentProgramScene", map[string]any{"sceneUuid": list.Scenes[0].UUID}); !r.Status.Result {
		t.Fatalf("switch by uuid: %+v", r.Status)
	}
	cur := decode[struct {
		Name string `json:"sceneName"`
	}](t, c.call("GetCurrentProgramScene", nil))
	if cur.Name != "Ending" {
		t.Fatalf("current %q", cur.Name)
	}
	for _, tc := range []struct {
		data any
		want Status
	}{
		{nil, StatusMissingRequestField},
		{map[string]any{"sceneName": "Nope"}, StatusResourceNotFound},
		{map[string]any{"sceneName": 3}, StatusInvalidRequestFieldType},
		{map[string]any{"sceneName": ""}, StatusRequestFieldEmpty},
	} {
		if r := c.call("SetCurrentProgramScene", tc.data); r.Status.Code != tc.want || r.Status.Result {
			t.Errorf("SetCurrentProgramScene %v: %+v, want %d", tc.data, r.Status, tc.want)
		}
	}
	f.mu.Lock()
	f.scenes = nil
	f.mu.Unlock()
	if r := c.call("GetSceneList", nil); r.Status.Code != StatusNotReady {
		t.Fatalf("without scenes: %+v", r.Status)
	}
}

func TestInputRequestsMuteAndSetTheFader(t *testing.T) {
	f := newFake()
	s, _ := startServer(t, f, Config{})
	c := login(t, s, nil)
	list := decode[struct {
		Inputs []struct {
			Name string `json:"inputName"`
			Kind string `json:"inputKind"`
		} `json:"inputs"`
	}](t, c.call("GetInputList", nil))
	if len(list.Inputs) != 2 || list.Inputs[0].Name != "Mic" || list.Inputs[0].Kind != "tally_microphone" {
		t.Fatalf("inputs %+v", list)
	}
	if r := c.call("SetInputMute", map[string]any{"inputName": "Mic", "inputMuted": true}); !r.Status.Result {
		t.Fatal(r.Status)
	}
	if m := decode[struct{ InputMuted bool }](t, c.call("GetInputMute", map[string]any{"inputName": "Mic"})); !m.InputMuted {
		t.Fatal("not muted")
	}
	if m := decode[struct{ InputMuted bool }](t, c.call("ToggleInputMute", map[string]any{"inputName": "Mic"})); m.InputMuted {
		t.Fatal("toggle did not unmute")
	}
	if r := c.call("SetInputVolume", map[string]any{"inputName": "Music", "inputVolumeMul": 0.5}); !r.Status.Result {
		t.Fatal(r.Status)
	}
	v := decode[struct {
		Mul float64 `json:"inputVolumeMul"`
		DB  float64 `json:"inputVolumeDb"`
	}](t, c.call("GetInputVolume", map[string]any{"inputName": "Music"}))
	if math.Abs(v.Mul-0.5) > 1e-9 || math.Abs(v.DB-20*math.Log10(0.5)) > 1e-9 {
		t.Fatalf("volume %+v", v)
	}
	if r := c.call("SetInputVolume", map[string]any{"inputName": "Music", "inputVolumeDb": -100}); !r.Status.Result {
		t.Fatal(r.Status)
	}
	if v := decode[struct {
		Mul float64 `json:"inputVolumeMul"`
	}](t, c.call("GetInputVolume", map[string]any{"inputName": "Music"})); v.Mul != 0 {
		t.Fatalf("silence is ×%v", v.Mul)
	}
	for _, tc := range []struct {
		typ  string
		data any
		want Status
	}{
		{"SetInputMute", map[string]any{"inputName": "Mic"}, StatusMissingRequestField},
		{"SetInputMute", map[string]any{"inputName": "Mic", "inputMuted": "yes"}, StatusInvalidRequestFieldType},
		{"SetInputMute", map[string]any{"inputName": "Ghost", "inputMuted": true}, StatusResourceNotFound},
		{"SetInputVolume", map[string]any{"inputName": "Mic"}, StatusMissingRequestField},
		{"SetInputVolume", map[string]any{"inputName": "Mic", "inputVolumeDb": 26}, StatusRequestFieldOutOfRange},
		{"GetInputMute", nil, StatusMissingRequestField},
		{"GetInputMute", "not an object", StatusInvalidRequestFieldType},
	} {
		if r := c.call(tc.typ, tc.data); r.Status.Code != tc.want || r.Status.Result {
			t.Errorf("%s %v: %+v, want %d", tc.typ, tc.data, r.Status, tc.want)
		}
	}
}

func TestStreamRequestsStartStopAndSayWhenTheyCannot(t *testing.T) {
	f := newFake()
	s, _ := startServer(t, f, Config{})
	c := login(t, s, nil)
	if r := c.call("StopStream", nil); r.Status.Code != StatusOutputNotRunning {
		t.Fatalf("stop while idle: %+v", r.Status)
	}
	if r := c.call("StartStream", nil); !r.Status.Result {
		t.Fatal(r.Status)
	}
	if r := c.call("StartStream", nil); r.Status.Code != StatusOutputRunning {
		t.Fatalf("start while live: %+v", r.Status)
	}
	st := decode[struct {
		Active   bool   `json:"outputActive"`
		Timecode string `json:"outputTimecode"`
	}](t, c.call("GetStreamStatus", nil))
	if !st.Active || st.Timecode != "00:00:00.000" {
		t.Fatalf("status %+v", st)
	}
	if tg := decode[struct {
		Active bool `json:"outputActive"`
	}](t, c.call("ToggleStream", nil)); tg.Active {
		t.Fatal("toggle did not stop")
	}
	if r := c.call("StartRecord", nil); !r.Status.Result {
		t.Fatal(r.Status)
	}
	if rec := decode[struct {
		Path string `json:"outputPath"`
	}](t, c.call("StopRecord", nil)); rec.Path != "/tmp/rec.mkv" {
		t.Fatalf("record path %q", rec.Path)
	}
}

func TestBatchRunsInOrderAndHaltsOnFailure(t *testing.T) {
	f := newFake()
	s, _ := startServer(t, f, Config{})
	c := login(t, s, new(Subscription))
	c.send(OpRequestBatch, map[string]any{"requestId": "b1", "haltOnFailure": true, "requests": []any{
		map[string]any{"requestType": "SetCurrentProgramScene", "requestId": "a", "requestData": map[string]any{"sceneName": "Camera"}},
		map[string]any{"requestType": "Nope", "requestId": "b"},
		map[string]any{"requestType": "StartStream", "requestId": "c"},
	}})
	var br struct {
		ID      string         `json:"requestId"`
		Results []testResponse `json:"results"`
	}
	if err := json.Unmarshal(c.mustRead(OpRequestBatchResponse), &br); err != nil {
		t.Fatal(err)
	}
	if br.ID != "b1" || len(br.Results) != 2 || !br.Results[0].Status.Result || br.Results[1].Status.Code != StatusUnknownRequestType {
		t.Fatalf("batch %+v", br)
	}
	if f.StreamStatus().Active {
		t.Fatal("a request after the failure ran")
	}
}

func TestEventsReachSubscribedClientsOnly(t *testing.T) {
	f := newFake()
	s, _ := startServer(t, f, Config{})
	all := login(t, s, nil)
	outputsOnly := SubOutputs
	outs := login(t, s, &outputsOnly)
	ctl := login(t, s, new(Subscription))

	ctl.call("SetCurrentProgramScene", map[string]any{"sceneName": "Camera"})
	if ev := all.event("CurrentProgramSceneChanged"); ev["sceneName"] != "Camera" {
		t.Fatalf("scene event %v", ev)
	}
	ctl.call("SetInputMute", map[string]any{"inputName": "Mic", "inputMuted": true})
	if ev := all.event("InputMuteStateChanged"); ev["inputName"] != "Mic" || ev["inputMuted"] != true {
		t.Fatalf("mute event %v", ev)
	}
	ctl.call("SetInputVolume", map[string]any{"inputName": "Mic", "inputVolumeDb": -10})
	if ev := all.event("InputVolumeChanged"); ev["inputVolumeDb"] != -10.0 {
		t.Fatalf("volume event %v", ev)
	}
	ctl.call("StartStream", nil)
	for _, want := range []string{OutputStarting, OutputStarted} {
		if ev := outs.event("StreamStateChanged"); ev["outputState"] != want {
			t.Fatalf("stream event %v, want %s", ev, want)
		}
	}
	ctl.call("StopStream", nil)
	for _, want := range []string{OutputStopping, OutputStopped} {
		if ev := all.eventAfter("StreamStateChanged", want); ev["outputActive"] == nil {
			t.Fatalf("stream event %v", ev)
		}
	}
	// The outputs-only client got its stream events and nothing else, and
	// the client that subscribed to nothing got no event at all.
	outs.send(OpRequest, map[string]any{"requestType": "GetVersion", "requestId": "last"})
	for {
		m, err := outs.read()
		if err != nil {
			t.Fatal(err)
		}
		if m.Op == OpRequestResponse {
			break
		}
		var ev struct{ EventType string }
		_ = json.Unmarshal(m.D, &ev)
		if ev.EventType != "StreamStateChanged" {
			t.Fatalf("outputs-only client got %s", m.D)
		}
	}
	ctl.send(OpRequest, map[string]any{"requestType": "GetVersion", "requestId": "last"})
	if m, _ := ctl.read(); m.Op != OpRequestResponse {
		t.Fatalf("unsubscribed client got %s", m.D)
	}
}

// eventAfter waits for an event of a type in a given output state.
func (c *client) eventAfter(typ, state string) map[string]any {
	c.t.Helper()
	for {
		ev := c.event(typ)
		if ev["outputState"] == state {
			return ev
		}
	}
}

func TestTransitionsFillInTheStepsAPollMissed(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		want     []string
	}{
		{OutputStopped, OutputStarted, []string{OutputStarting, OutputStarted}},
		{OutputStarted, OutputStopped, []string{OutputStopping, OutputStopped}},
		{OutputStarting, OutputStarted, []string{OutputStarted}},
		{OutputReconnecting, OutputStarted, []string{OutputReconnected}},
		{OutputStarted, OutputStarted, nil},
	} {
		if got := transitions(tc.from, tc.to); !slices.Equal(got, tc.want) {
			t.Errorf("%s → %s: %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
}

// A recording's start and stop reach subscribers as RecordStateChanged, the
// stopped one naming the file, as OBS's does.
func TestRecordStateChangedNamesTheFileWhenItStops(t *testing.T) {
	f := newFake()
	s, _ := startServer(t, f, Config{})
	ctl := login(t, s, new(Subscription))
	outs := SubOutputs
	c := login(t, s, &outs)
	ctl.call("StartRecord", nil)
	if ev := c.event("RecordStateChanged"); ev["outputState"] != OutputStarting || ev["outputPath"] != nil {
		t.Fatalf("first record event %v", ev)
	}
	if ev := c.event("RecordStateChanged"); ev["outputState"] != OutputStarted || ev["outputActive"] != true {
		t.Fatalf("second record event %v", ev)
	}
	ctl.call("StopRecord", nil)
	c.eventAfter("RecordStateChanged", OutputStopping)
	if ev := c.eventAfter("RecordStateChanged", OutputStopped); ev["outputPath"] != "/tmp/rec.mkv" || ev["outputActive"] != false {
		t.Fatalf("stopped record event %v", ev)
	}
}
