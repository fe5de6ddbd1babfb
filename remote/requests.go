package remote

import (
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"
)

// reqError is a request's failure, as the protocol reports it.
type reqError struct {
	code    Status
	comment string
}

func fail(code Status, format string, a ...any) *reqError {
	return &reqError{code: code, comment: fmt.Sprintf(format, a...)}
}

// handler answers one request type. fields is requestData, nil when the
// request had none.
type handler func(s *Server, sess *session, f fields) (any, *reqError)

// handlers are the requests Tally answers; any other gets
// UnknownRequestType, as obs-websocket answers a request it does not know.
var handlers = map[string]handler{
	"GetVersion":             getVersion,
	"GetStats":               getStats,
	"GetStreamStatus":        getStreamStatus,
	"StartStream":            startStream,
	"StopStream":             stopStream,
	"ToggleStream":           toggleStream,
	"GetRecordStatus":        getRecordStatus,
	"StartRecord":            startRecord,
	"StopRecord":             stopRecord,
	"GetSceneList":           getSceneList,
	"GetCurrentProgramScene": getCurrentProgramScene,
	"SetCurrentProgramScene": setCurrentProgramScene,
	"GetInputList":           getInputList,
	"GetInputMute":           getInputMute,
	"SetInputMute":           setInputMute,
	"ToggleInputMute":        toggleInputMute,
	"GetInputVolume":         getInputVolume,
	"SetInputVolume":         setInputVolume,
}

// availableRequests is GetVersion's list, sorted as a reader expects. It is
// filled in init: GetVersion's handler is in handlers, which it lists.
var availableRequests []string

func init() {
	for k := range handlers {
		availableRequests = append(availableRequests, k)
	}
	slices.Sort(availableRequests)
}

// handle runs one request and makes its response.
func (s *Server) handle(sess *session, typ, id string, data json.RawMessage) response {
	r := response{Type: typ, ID: id, Status: requestStatus{Result: true, Code: StatusSuccess}}
	h, ok := handlers[typ]
	if !ok {
		r.Status = requestStatus{Code: StatusUnknownRequestType, Comment: "Your request type is not valid."}
		return r
	}
	f, rerr := parseFields(data)
	if rerr == nil {
		r.Data, rerr = h(s, sess, f)
	}
	if rerr != nil {
		r.Data = nil
		r.Status = requestStatus{Code: rerr.code, Comment: rerr.comment}
	}
	return r
}

// backendError maps a Backend's error onto the protocol's codes.
func backendError(err error) *reqError {
	if err == nil {
		return nil
	}
	code := StatusRequestProcessingFailed
	switch {
	case errors.Is(err, ErrOutputRunning):
		code = StatusOutputRunning
	case errors.Is(err, ErrOutputNotRunning):
		code = StatusOutputNotRunning
	case errors.Is(err, ErrNotFound):
		code = StatusResourceNotFound
	case errors.Is(err, ErrNotReady):
		code = StatusNotReady
	case errors.Is(err, ErrCannotAct):
		code = StatusCannotAct
	case errors.Is(err, ErrOutOfRange):
		code = StatusRequestFieldOutOfRange
	}
	return &reqError{code: code, comment: err.Error()}
}

// fields is a request's requestData, field by field.
type fields map[string]json.RawMessage

func parseFields(data json.RawMessage) (fields, *reqError) {
	if len(data) == 0 || string(data) == "null" {
		return nil, nil
	}
	var f fields
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fail(StatusInvalidRequestFieldType, "requestData must be an object")
	}
	return f, nil
}

func (f fields) has(name string) bool {
	v, ok := f[name]
	return ok && string(v) != "null"
}

func (f fields) str(name string) (string, *reqError) {
	if !f.has(name) {
		return "", fail(StatusMissingRequestField, "Your request is missing the `%s` field.", name)
	}
	var v string
	if err := json.Unmarshal(f[name], &v); err != nil {
		return "", fail(StatusInvalidRequestFieldType, "The field value of `%s` must be a string.", name)
	}
	if v == "" {
		return "", fail(StatusRequestFieldEmpty, "The field value of `%s` cannot be empty.", name)
	}
	return v, nil
}

func (f fields) boolean(name string) (bool, *reqError) {
	if !f.has(name) {
		return false, fail(StatusMissingRequestField, "Your request is missing the `%s` field.", name)
	}
	var v bool
	if err := json.Unmarshal(f[name], &v); err != nil {
		return false, fail(StatusInvalidRequestFieldType, "The field value of `%s` must be boolean.", name)
	}
	return v, nil
}

func (f fields) number(name string, lo, hi float64) (float64, *reqError) {
	if !f.has(name) {
		return 0, fail(StatusMissingRequestField, "Your request is missing the `%s` field.", name)
	}
	var v float64
	if err := json.Unmarshal(f[name], &v); err != nil {
		return 0, fail(StatusInvalidRequestFieldType, "The field value of `%s` must be a number.", name)
	}
	if v < lo || v > hi {
		return 0, fail(StatusRequestFieldOutOfRange, "The field value of `%s` is out of range (%g..%g).", name, lo, hi)
	}
	return v, nil
}

// uuidOf gives each scene and input a stable UUID, which clients use as a
// name that survives nothing but also never collides: Tally's scenes and
// sources are known by name, and the UUID is derived from it.
func uuidOf(kind, name string) string {
	h := sha1.Sum([]byte("tally/" + kind + "/" + name))
	h[6] = h[6]&0x0f | 0x50 // version 5: name-based, SHA-1
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func getVersion(s *Server, _ *session, _ fields) (any, *reqError) {
	return map[string]any{
		"obsVersion":            s.cfg.Version,
		"obsWebSocketVersion":   WebSocketVersion,
		"rpcVersion":            RPCVersion,
		"availableRequests":     availableRequests,
		"supportedImageFormats": []string{},
		"platform":              runtime.GOOS,
		"platformDescription":   "Tally " + s.cfg.Version + " (" + runtime.GOOS + "/" + runtime.GOARCH + ")",
	}, nil
}

func getStats(s *Server, sess *session, _ fields) (any, *reqError) {
	st := s.backend.Stats()
	return map[string]any{
		"cpuUsage":                         st.CPUPercent,
		"memoryUsage":                      st.MemoryMB,
		"availableDiskSpace":               0,
		"activeFps":                        st.FPS,
		"averageFrameRenderTime":           0,
		"renderSkippedFrames":              0,
		"renderTotalFrames":                st.TotalFrames,
		"outputSkippedFrames":              st.SkippedFrames,
		"outputTotalFrames":                st.TotalFrames,
		"webSocketSessionIncomingMessages": sess.in.Load(),
		"webSocketSessionOutgoingMessages": sess.out.Load(),
	}, nil
}

// timecode is the protocol's HH:MM:SS.mmm.
func timecode(d time.Duration) string {
	ms := d.Milliseconds()
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

func getStreamStatus(s *Server, _ *session, _ fields) (any, *reqError) {
	st := s.backend.StreamStatus()
	return map[string]any{
		"outputActive":        st.Active,
		"outputReconnecting":  st.Reconnecting,
		"outputTimecode":      timecode(st.Duration),
		"outputDuration":      st.Duration.Milliseconds(),
		"outputCongestion":    st.Congestion,
		"outputBytes":         st.Bytes,
		"outputSkippedFrames": st.SkippedFrames,
		"outputTotalFrames":   st.TotalFrames,
	}, nil
}

func startStream(s *Server, _ *session, _ fields) (any, *reqError) {
	return nil, backendError(s.backend.StartStream())
}

func stopStream(s *Server, _ *session, _ fields) (any, *reqError) {
	return nil, backendError(s.backend.StopStream())
}

func toggleStream(s *Server, _ *session, _ fields) (any, *reqError) {
	if s.backend.StreamStatus().Active {
		if err := s.backend.StopStream(); err != nil {
			return nil, backendError(err)
		}
		return map[string]any{"outputActive": false}, nil
	}
	if err := s.backend.StartStream(); err != nil {
		return nil, backendError(err)
	}
	return map[string]any{"outputActive": true}, nil
}

func getRecordStatus(s *Server, _ *session, _ fields) (any, *reqError) {
	st := s.backend.RecordStatus()
	return map[string]any{
		"outputActive":   st.Active,
		"outputPaused":   false,
		"outputTimecode": timecode(st.Duration),
		"outputDuration": st.Duration.Milliseconds(),
		"outputBytes":    st.Bytes,
	}, nil
}

func startRecord(s *Server, _ *session, _ fields) (any, *reqError) {
	return nil, backendError(s.backend.StartRecord())
}

func stopRecord(s *Server, _ *session, _ fields) (any, *reqError) {
	path, err := s.backend.StopRecord()
	if err != nil {
		return nil, backendError(err)
	}
	return map[string]any{"outputPath": path}, nil
}

// scenesOrErr is the collection, or NotReady when the program is not
// composing scenes (a plain camera has none to list or switch).
func scenesOrErr(b Backend) ([]string, string, *reqError) {
	names, cur := b.Scenes()
	if len(names) == 0 {
		return nil, "", fail(StatusNotReady, "The program is not composing scenes: pick Scenes as the video source.")
	}
	return names, cur, nil
}

func getSceneList(s *Server, _ *session, _ fields) (any, *reqError) {
	names, cur, rerr := scenesOrErr(s.backend)
	if rerr != nil {
		return nil, rerr
	}
	// OBS lists scenes bottom first, sceneIndex 0 being the last in its
	// window's list; clients reverse it to show them, so Tally does the same
	// with its collection's order.
	scenes := make([]map[string]any, 0, len(names))
	for i := len(names) - 1; i >= 0; i-- {
		scenes = append(scenes, map[string]any{"sceneIndex": len(names) - 1 - i, "sceneName": names[i], "sceneUuid": uuidOf("scene", names[i])})
	}
	return map[string]any{
		"currentProgramSceneName": cur,
		"currentProgramSceneUuid": uuidOf("scene", cur),
		"currentPreviewSceneName": nil,
		"currentPreviewSceneUuid": nil,
		"scenes":                  scenes,
	}, nil
}

func getCurrentProgramScene(s *Server, _ *session, _ fields) (any, *reqError) {
	_, cur, rerr := scenesOrErr(s.backend)
	if rerr != nil {
		return nil, rerr
	}
	id := uuidOf("scene", cur)
	return map[string]any{"sceneName": cur, "sceneUuid": id,
		"currentProgramSceneName": cur, "currentProgramSceneUuid": id}, nil
}

// nameOrUUID finds the scene or input a request names by name or by UUID.
func nameOrUUID(f fields, kind string, names []string) (string, *reqError) {
	nameField, uuidField := kind+"Name", kind+"Uuid"
	if f.has(nameField) {
		n, rerr := f.str(nameField)
		if rerr != nil {
			return "", rerr
		}
		if !slices.Contains(names, n) {
			return "", fail(StatusResourceNotFound, "No %s was found by the name of `%s`.", kind, n)
		}
		return n, nil
	}
	if f.has(uuidField) {
		id, rerr := f.str(uuidField)
		if rerr != nil {
			return "", rerr
		}
		for _, n := range names {
			if uuidOf(kind, n) == id {
				return n, nil
			}
		}
		return "", fail(StatusResourceNotFound, "No %s was found by the UUID of `%s`.", kind, id)
	}
	return "", fail(StatusMissingRequestField, "Your request is missing the `%s` or `%s` field.", nameField, uuidField)
}

func setCurrentProgramScene(s *Server, _ *session, f fields) (any, *reqError) {
	names, _, rerr := scenesOrErr(s.backend)
	if rerr != nil {
		return nil, rerr
	}
	name, rerr := nameOrUUID(f, "scene", names)
	if rerr != nil {
		return nil, rerr
	}
	if rerr := backendError(s.backend.SetScene(name)); rerr != nil {
		return nil, rerr
	}
	s.kick()
	return nil, nil
}

// inputKind is the name Tally's source types go by as OBS input kinds.
func inputKind(kind string) string { return "tally_" + kind }

func getInputList(s *Server, _ *session, f fields) (any, *reqError) {
	var want string
	if f.has("inputKind") {
		var rerr *reqError
		if want, rerr = f.str("inputKind"); rerr != nil {
			return nil, rerr
		}
	}
	inputs := []map[string]any{}
	for _, in := range s.backend.Inputs() {
		k := inputKind(in.Kind)
		if want != "" && want != k {
			continue
		}
		inputs = append(inputs, map[string]any{"inputName": in.Name, "inputUuid": uuidOf("input", in.Name),
			"inputKind": k, "unversionedInputKind": k})
	}
	return map[string]any{"inputs": inputs}, nil
}

// findInput is the input a request names.
func findInput(s *Server, f fields) (Input, *reqError) {
	ins := s.backend.Inputs()
	names := make([]string, len(ins))
	for i, in := range ins {
		names[i] = in.Name
	}
	name, rerr := nameOrUUID(f, "input", names)
	if rerr != nil {
		return Input{}, rerr
	}
	return ins[slices.Index(names, name)], nil
}

func getInputMute(s *Server, _ *session, f fields) (any, *reqError) {
	in, rerr := findInput(s, f)
	if rerr != nil {
		return nil, rerr
	}
	return map[string]any{"inputMuted": in.Muted}, nil
}

func setInputMute(s *Server, _ *session, f fields) (any, *reqError) {
	in, rerr := findInput(s, f)
	if rerr != nil {
		return nil, rerr
	}
	muted, rerr := f.boolean("inputMuted")
	if rerr != nil {
		return nil, rerr
	}
	if rerr := backendError(s.backend.SetInputMute(in.Name, muted)); rerr != nil {
		return nil, rerr
	}
	s.kick()
	return nil, nil
}

func toggleInputMute(s *Server, _ *session, f fields) (any, *reqError) {
	in, rerr := findInput(s, f)
	if rerr != nil {
		return nil, rerr
	}
	if rerr := backendError(s.backend.SetInputMute(in.Name, !in.Muted)); rerr != nil {
		return nil, rerr
	}
	s.kick()
	return map[string]any{"inputMuted": !in.Muted}, nil
}

// volume is a fader position as the protocol reports it: a multiplier and
// dB, silence being 0 and −100 dB (JSON has no −∞).
func volume(db float64) map[string]any {
	mul := 0.0
	if db > MinGainDB {
		mul = math.Pow(10, db/20)
	}
	return map[string]any{"inputVolumeMul": mul, "inputVolumeDb": max(db, MinGainDB)}
}

func getInputVolume(s *Server, _ *session, f fields) (any, *reqError) {
	in, rerr := findInput(s, f)
	if rerr != nil {
		return nil, rerr
	}
	return volume(in.GainDB), nil
}

func setInputVolume(s *Server, _ *session, f fields) (any, *reqError) {
	in, rerr := findInput(s, f)
	if rerr != nil {
		return nil, rerr
	}
	var db float64
	switch {
	case f.has("inputVolumeMul"):
		// The protocol takes 0..20; Tally's fader stops at +20 dB (×10).
		mul, rerr := f.number("inputVolumeMul", 0, math.Pow(10, MaxGainDB/20.0))
		if rerr != nil {
			return nil, rerr
		}
		db = MinGainDB
		if mul > 0 {
			db = max(20*math.Log10(mul), MinGainDB)
		}
	case f.has("inputVolumeDb"):
		if db, rerr = f.number("inputVolumeDb", MinGainDB, MaxGainDB); rerr != nil {
			return nil, rerr
		}
	default:
		return nil, fail(StatusMissingRequestField, "Your request is missing the `inputVolumeMul` or `inputVolumeDb` field.")
	}
	if rerr := backendError(s.backend.SetInputVolume(in.Name, db)); rerr != nil {
		return nil, rerr
	}
	s.kick()
	return nil, nil
}
