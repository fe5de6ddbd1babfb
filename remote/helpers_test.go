package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const testPassword = "correct horse battery staple"

// fakeBackend is a studio in memory.
type fakeBackend struct {
	mu        sync.Mutex
	live      bool
	recording bool
	scenes    []string
	scene     string
	inputs    []Input
	calls     []string
}

func newFake() *fakeBackend {
	return &fakeBackend{scenes: []string{"Starting", "Camera", "Ending"}, scene: "Starting",
		inputs: []Input{{Name: "Mic", Kind: "microphone"}, {Name: "Music", Kind: "media", GainDB: -6}}}
}

func (f *fakeBackend) note(c string) { f.calls = append(f.calls, c) }

func (f *fakeBackend) StreamStatus() OutputStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return OutputStatus{Active: f.live}
}

func (f *fakeBackend) StartStream() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.note("StartStream")
	if f.live {
		return fmt.Errorf("start: %w", ErrOutputRunning)
	}
	f.live = true
	return nil
}

func (f *fakeBackend) StopStream() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.note("StopStream")
	if !f.live {
		return fmt.Errorf("stop: %w", ErrOutputNotRunning)
	}
	f.live = false
	return nil
}

func (f *fakeBackend) RecordStatus() OutputStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return OutputStatus{Active: f.recording, Path: "/tmp/rec.mkv"}
}

func (f *fakeBackend) StartRecord() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.recording {
		return ErrOutputRunning
	}
	f.recording = true
	return nil
}

func (f *fakeBackend) StopRecord() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.recording {
		return "", ErrOutputNotRunning
	}
	f.recording = false
	return "/tmp/rec.mkv", nil
}

func (f *fakeBackend) Scenes() ([]string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.scenes...), f.scene
}

func (f *fakeBackend) SetScene(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scene = name
	return nil
}

func (f *fakeBackend) Inputs() []Input {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Input(nil), f.inputs...)
}

func (f *fakeBackend) SetInputMute(name string, muted bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.inputs {
		if f.inputs[i].Name == name {
			f.inputs[i].Muted = muted
			return nil
		}
	}
	return ErrNotFound
}

func (f *fakeBackend) SetInputVolume(name string, db float64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.inputs {
		if f.inputs[i].Name == name {
			f.inputs[i].GainDB = db
			return nil
		}
	}
	return ErrNotFound
}

func (f *fakeBackend) Stats() Stats { return Stats{FPS: 30} }

// startServer runs a server on a free loopback port for the test.
func startServer(t testing.TB, b Backend, cfg Config) (*Server, *syncBuffer) {
	t.Helper()
	var logs syncBuffer
	cfg.Addr = "127.0.0.1:0"
	if cfg.Password == "" {
		cfg.Password = testPassword
	}
	cfg.Version = "test"
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := Start(cfg, b, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, &logs
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// client is a bare protocol client, for saying what obs-websocket-js never
// would.
type client struct {
	t    testing.TB
	conn *websocket.Conn
	// events that came while call waited for its answer, for event
	events []inMessage
}

func dial(t testing.TB, s *Server, subprotocols ...string) *client {
	t.Helper()
	if subprotocols == nil {
		subprotocols = []string{SubprotocolJSON}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+s.Addr().String(), &websocket.DialOptions{Subprotocols: subprotocols})
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(1 << 22)
	t.Cleanup(func() { _ = conn.CloseNow() })
	return &client{t: t, conn: conn}
}

func (c *client) sendRaw(b []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.conn.Write(ctx, websocket.MessageText, b)
}

func (c *client) send(op OpCode, d any) {
	c.t.Helper()
	b, _ := json.Marshal(outMessage{Op: op, D: d})
	if err := c.sendRaw(b); err != nil {
		c.t.Fatal(err)
	}
}

type inMessage struct {
	Op OpCode          `json:"op"`
	D  json.RawMessage `json:"d"`
}

// read returns the next message, or the error that ended the connection.
func (c *client) read() (inMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := c.conn.Read(ctx)
	if err != nil {
		return inMessage{}, err
	}
	var m inMessage
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("server sent bad JSON %q: %v", b, err)
	}
	return m, nil
}

func (c *client) mustRead(op OpCode) json.RawMessage {
	c.t.Helper()
	m, err := c.read()
	if err != nil {
		c.t.Fatalf("waiting for op %d: %v", op, err)
	}
	if m.Op != op {
		c.t.Fatalf("got op %d (%s), want %d", m.Op, m.D, op)
	}
	return m.D
}

// closeCode reads until the server closes and returns its code.
func (c *client) closeCode() websocket.StatusCode {
	c.t.Helper()
	for {
		if _, err := c.read(); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

// identify answers Hello with password and subscriptions (nil: default).
func (c *client) identify(password string, subs *Subscription) {
	c.t.Helper()
	var h hello
	if err := json.Unmarshal(c.mustRead(OpHello), &h); err != nil || h.Authentication == nil {
		c.t.Fatalf("hello: %v %+v", err, h)
	}
	auth := authResponse(password, *h.Authentication)
	v := RPCVersion
	c.send(OpIdentify, identify{RPCVersion: &v, Authentication: &auth, EventSubscriptions: subs})
}

func login(t testing.TB, s *Server, subs *Subscription) *client {
	c := dial(t, s)
	c.identify(testPassword, subs)
	c.mustRead(OpIdentified)
	return c
}

type testResponse struct {
	Type   string          `json:"requestType"`
	ID     string          `json:"requestId"`
	Status requestStatus   `json:"requestStatus"`
	Data   json.RawMessage `json:"responseData"`
}

// call sends a request and returns its response, skipping events.
func (c *client) call(typ string, data any) testResponse {
	c.t.Helper()
	id := fmt.Sprintf("%s-%d", typ, time.Now().UnixNano())
	c.send(OpRequest, map[string]any{"requestType": typ, "requestId": id, "requestData": data})
	for {
		m, err := c.read()
		if err != nil {
			c.t.Fatalf("%s: %v", typ, err)
		}
		if m.Op == OpEvent {
			c.events = append(c.events, m)
		}
		if m.Op != OpRequestResponse {
			continue
		}
		var r testResponse
		if err := json.Unmarshal(m.D, &r); err != nil {
			c.t.Fatal(err)
		}
		if r.ID != id || r.Type != typ {
			c.t.Fatalf("response %+v is not for %s", r, id)
		}
		return r
	}
}

// event waits for an event of a type and returns its data.
func (c *client) event(typ string) map[string]any {
	c.t.Helper()
	for {
		var m inMessage
		if len(c.events) > 0 {
			m, c.events = c.events[0], c.events[1:]
		} else {
			var err error
			if m, err = c.read(); err != nil {
				c.t.Fatalf("waiting for %s: %v", typ, err)
			}
		}
		if m.Op != OpEvent {
			continue
		}
		var ev struct {
			Type string         `json:"eventType"`
			Data map[string]any `json:"eventData"`
		}
		if err := json.Unmarshal(m.D, &ev); err != nil {
			c.t.Fatal(err)
		}
		if ev.Type == typ {
			return ev.Data
		}
	}
}
