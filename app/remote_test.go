package app

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tallystudio/tally/remote"
	"github.com/tallystudio/tally/scene"
)

// colourScenes is two scenes of solid colours over a tone the mixer mixes.
func colourScenes(t *testing.T) *scene.Collection {
	t.Helper()
	col, err := scene.Parse([]byte(`{"version":1,"canvas":{"width":320,"height":180},
		"sources":[{"name":"red","type":"colour","colour":"#ff0000"},{"name":"blue","type":"colour","colour":"#0000ff"},
			{"name":"Tone","type":"tone","audio":{"global":true}}],
		"scenes":[{"name":"Red","layers":[{"source":"red"}]},{"name":"Blue","layers":[{"source":"blue"}]}]}`), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return col
}

// wsClient is just enough of a protocol client to drive the engine.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
	n    int
}

func dialRemote(t *testing.T, addr, password string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+addr, &websocket.DialOptions{Subprotocols: []string{remote.SubprotocolJSON}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	c := &wsClient{t: t, conn: conn}
	var h struct {
		D struct {
			Authentication struct{ Challenge, Salt string }
		}
	}
	c.read(&h)
	secret := sha256.Sum256([]byte(password + h.D.Authentication.Salt))
	auth := sha256.Sum256([]byte(base64.StdEncoding.EncodeToString(secret[:]) + h.D.Authentication.Challenge))
	c.write(map[string]any{"op": 1, "d": map[string]any{"rpcVersion": 1, "authentication": base64.StdEncoding.EncodeToString(auth[:]),
		"eventSubscriptions": 0}})
	var id struct{ Op int }
	c.read(&id)
	if id.Op != 2 {
		t.Fatalf("not identified: op %d", id.Op)
	}
	return c
}

func (c *wsClient) write(v any) {
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *wsClient) read(v any) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := c.conn.Read(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		c.t.Fatal(err)
	}
}

type callResult struct {
	Code    remote.Status
	Comment string
	Data    map[string]any
}

func (c *wsClient) call(typ string, data any) callResult {
	c.t.Helper()
	c.n++
	c.write(map[string]any{"op": 6, "d": map[string]any{"requestType": typ, "requestId": typ, "requestData": data}})
	var r struct {
		D struct {
			RequestStatus struct {
				Code    remote.Status
				Comment string
			}
			ResponseData map[string]any
		}
	}
	c.read(&r)
	return callResult{r.D.RequestStatus.Code, r.D.RequestStatus.Comment, r.D.ResponseData}
}

// The remote control drives the engine itself: scenes switch on the
// program, a mute reaches the mixer, StartStream goes live with the settings
// the studio gives, and recording answers honestly about what Tally can do.
func TestRemoteControlDrivesTheEngine(t *testing.T) {
	e := NewEngine(nil)
	defer e.Close()
	s := smallSettings()
	s.Video.Source, s.Video.Scenes, s.Audio.Source = "scenes", colourScenes(t), "scenes"
	s.Video.Width, s.Video.Height = 320, 180
	if err := e.SetSources(s.Video, s.Audio); err != nil {
		t.Fatal(err)
	}
	settings := s
	if err := e.StartRemote(RemoteConfig{Addr: "127.0.0.1:0"}, func() (Settings, error) { return settings, nil }); err == nil {
		t.Fatal("the remote control started without a password")
	}
	if err := e.StartRemote(RemoteConfig{Addr: "127.0.0.1:0", Password: "pw"}, func() (Settings, error) { return settings, nil }); err != nil {
		t.Fatal(err)
	}
	st := e.RemoteStatus()
	if !st.On || st.Clients != 0 {
		t.Fatalf("remote status %+v", st)
	}
	c := dialRemote(t, st.Addr, "pw")
	waitUntil(t, "the client to count", func() bool { return e.RemoteStatus().Clients == 1 })

	if r := c.call("GetStats", nil); r.Code != remote.StatusSuccess || r.Data["memoryUsage"].(float64) <= 0 {
		t.Fatalf("stats: %+v", r)
	}
	if r := c.call("SetCurrentProgramScene", map[string]any{"sceneName": "Blue"}); r.Code != remote.StatusSuccess {
		t.Fatalf("switch: %+v", r)
	}
	if e.Scene() != "Blue" {
		t.Fatalf("on air %q", e.Scene())
	}
	edits := e.SoundEdits()
	if r := c.call("SetInputMute", map[string]any{"inputName": "Tone", "inputMuted": true}); r.Code != remote.StatusSuccess {
		t.Fatalf("mute: %+v", r)
	}
	if sc := e.SoundControls(); len(sc) != 1 || !sc[0].Muted || e.SoundEdits() == edits {
		t.Fatalf("after mute: %+v", sc)
	}
	waitUntil(t, "the muted tone to fall silent in the mixer", func() bool {
		l := e.SoundLevels()
		return len(l.Sources) == 1 && l.Sources[0].Muted
	})
	if r := c.call("SetInputVolume", map[string]any{"inputName": "Tone", "inputVolumeDb": -12}); r.Code != remote.StatusSuccess || e.SoundControls()[0].GainDB != -12 {
		t.Fatalf("volume: %+v %+v", r, e.SoundControls())
	}

	if r := c.call("StartRecord", nil); r.Code != remote.StatusCannotAct {
		t.Fatalf("record without a file: %+v", r)
	}
	if r := c.call("StartStream", nil); r.Code != remote.StatusSuccess {
		t.Fatalf("start: %+v", r)
	}
	waitUntil(t, "live", func() bool { return e.Status().State == StateLive })
	if r := c.call("GetStreamStatus", nil); r.Data["outputActive"] != true {
		t.Fatalf("stream status %+v", r)
	}
	if r := c.call("StartStream", nil); r.Code != remote.StatusOutputRunning {
		t.Fatalf("second start: %+v", r)
	}
	if r := c.call("StartRecord", nil); r.Code != remote.StatusCannotAct {
		t.Fatalf("record while live without a file: %+v", r)
	}
	// With a file, a recording starts and stops while the stream goes on.
	settings.Record = filepath.Join(t.TempDir(), "live.mkv")
	if r := c.call("StartRecord", nil); r.Code != remote.StatusSuccess {
		t.Fatalf("record while live: %+v", r)
	}
	if r := c.call("GetRecordStatus", nil); r.Data["outputActive"] != true {
		t.Fatalf("record status while live: %+v", r)
	}
	if r := c.call("StartRecord", nil); r.Code != remote.StatusOutputRunning {
		t.Fatalf("a second StartRecord: %+v", r)
	}
	time.Sleep(time.Second)
	if r := c.call("StopRecord", nil); r.Code != remote.StatusSuccess || r.Data["outputPath"] != settings.Record {
		t.Fatalf("stop the recording while live: %+v", r)
	}
	if r := c.call("GetStreamStatus", nil); r.Data["outputActive"] != true {
		t.Fatalf("the stream stopped with the recording: %+v", r)
	}
	if r := c.call("StopRecord", nil); r.Code != remote.StatusOutputNotRunning {
		t.Fatalf("stop with no recording: %+v", r)
	}
	if fi, err := os.Stat(settings.Record); err != nil || fi.Size() == 0 {
		t.Fatalf("the recording made while live: %v", err)
	}
	if r := c.call("StopStream", nil); r.Code != remote.StatusSuccess {
		t.Fatalf("stop: %+v", r)
	}
	if err := e.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := c.call("StopStream", nil); r.Code != remote.StatusOutputNotRunning {
		t.Fatalf("stop while idle: %+v", r)
	}

	// With a recording file set, StartRecord records without streaming;
	// StartStream goes live beside it, and StopStream leaves it running.
	settings.Record = filepath.Join(t.TempDir(), "rec.mkv")
	if r := c.call("StartRecord", nil); r.Code != remote.StatusSuccess {
		t.Fatalf("record: %+v", r)
	}
	waitUntil(t, "recording", func() bool { return e.Status().State == StateLive })
	if r := c.call("GetStreamStatus", nil); r.Data["outputActive"] != false {
		t.Fatalf("a recording shows as a stream: %+v", r)
	}
	if r := c.call("StartStream", nil); r.Code != remote.StatusSuccess {
		t.Fatalf("start beside the recording: %+v", r)
	}
	waitUntil(t, "live beside the recording", func() bool {
		return c.call("GetStreamStatus", nil).Data["outputActive"] == true
	})
	if r := c.call("StopStream", nil); r.Code != remote.StatusSuccess {
		t.Fatalf("stop beside the recording: %+v", r)
	}
	waitUntil(t, "the stream stopped, the recording going on", func() bool {
		return c.call("GetStreamStatus", nil).Data["outputActive"] == false &&
			c.call("GetRecordStatus", nil).Data["outputActive"] == true
	})
	time.Sleep(500 * time.Millisecond)
	r := c.call("StopRecord", nil)
	if r.Code != remote.StatusSuccess || r.Data["outputPath"] != settings.Record {
		t.Fatalf("stop record: %+v", r)
	}
	if err := e.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(settings.Record); err != nil || fi.Size() == 0 {
		t.Fatalf("recording: %v", err)
	}

	e.StopRemote()
	if e.RemoteStatus().On {
		t.Fatal("still on after StopRemote")
	}
}

// No remote request answers with a stream key, even one that fails to go
// live, and the engine's log of it all carries none.
func TestRemoteRequestsNeverReturnTheStreamKey(t *testing.T) {
	var logs strings.Builder
	var mu sync.Mutex
	e := NewEngine(slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer e.Close()
	const key = "live_123456_SECRETSTREAMKEY"
	s := smallSettings()
	s.Video.Source, s.Video.Scenes, s.Audio.Source = "scenes", colourScenes(t), "scenes"
	s.Destinations = []Destination{{Service: "custom", URL: "rtmp://127.0.0.1:1/live", Key: StreamKey(key)}}
	s.Reconnect.Off = true
	if err := e.SetSources(s.Video, s.Audio); err != nil {
		t.Fatal(err)
	}
	if err := e.StartRemote(RemoteConfig{Addr: "127.0.0.1:0", Password: "pw"}, func() (Settings, error) { return s, nil }); err != nil {
		t.Fatal(err)
	}
	c := dialRemote(t, e.RemoteStatus().Addr, "pw")
	var seen strings.Builder
	for _, typ := range []string{"GetVersion", "GetStats", "StartStream", "GetStreamStatus", "GetRecordStatus", "StartRecord",
		"GetSceneList", "GetCurrentProgramScene", "GetInputList", "GetInputMute", "GetInputVolume", "StopStream", "ToggleStream", "StopRecord"} {
		r := c.call(typ, map[string]any{"inputName": "Tone"})
		b, _ := json.Marshal(r)
		seen.Write(b)
	}
	_ = e.Wait(context.Background())
	if strings.Contains(seen.String(), "SECRETSTREAMKEY") {
		t.Fatalf("a response carries the stream key: %s", seen.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(logs.String(), "SECRETSTREAMKEY") || strings.Contains(logs.String(), `"pw"`) {
		t.Fatalf("the log carries a secret:\n%s", logs.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
