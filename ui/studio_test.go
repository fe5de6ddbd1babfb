package ui

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/tallystudio/tally/app"
	"github.com/tallystudio/tally/ingest"
	"github.com/tallystudio/tally/rtmpclient"
)

const secret = "live_7700112233_uisecret"

// uiMu stands in for the UI thread, which Fyne's test driver does not have:
// the studio's updates and the tests' checks take turns through it.
var uiMu sync.Mutex

func TestMain(m *testing.M) {
	runOnUI = func(fn func()) { uiMu.Lock(); defer uiMu.Unlock(); fn() }
	// A studio keeps its scenes under the configuration directory: never
	// the real one of whoever runs the tests.
	cfg, err := os.MkdirTemp("", "tally-ui-test-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CONFIG_HOME", cfg)
	code := m.Run()
	os.RemoveAll(cfg)
	os.Exit(code)
}

func onUI(fn func()) { runOnUI(fn) }

// newTestStudio opens the studio on a real engine with small, fast settings.
func newTestStudio(t *testing.T, keys app.KeyStore) (*Studio, *app.Engine) {
	t.Helper()
	a := test.NewApp()
	t.Cleanup(a.Quit)
	eng := app.NewEngine(nil)
	var s *Studio
	onUI(func() { s = NewStudio(a, eng, keys) })
	t.Cleanup(func() { _ = s.Close() })
	onUI(func() {
		s.output.size.SetSelected("640x360")
		s.output.preset.SetSelected("ultrafast")
		s.output.vbitrate.SetText("800")
	})
	return s, eng
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var done bool
		onUI(func() { done = ok() })
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// texts lists every piece of text the window shows, dialogs included.
func texts(s *Studio) []string {
	var out []string
	objs := test.LaidOutObjects(s.Window.Content())
	for _, o := range s.Window.Canvas().Overlays().List() {
		objs = append(objs, test.LaidOutObjects(o)...)
	}
	for _, o := range objs {
		switch w := o.(type) {
		case *widget.Label:
			out = append(out, w.Text)
		case *widget.Button:
			out = append(out, w.Text)
		}
	}
	return out
}

func showing(s *Studio, text string) bool {
	for _, t := range texts(s) {
		if strings.Contains(t, text) {
			return true
		}
	}
	return false
}

// tapButton taps the visible button with this text, dialogs included.
func tapButton(t *testing.T, s *Studio, text string) {
	t.Helper()
	var objs []fyne.CanvasObject
	for _, o := range s.Window.Canvas().Overlays().List() {
		objs = append(objs, test.LaidOutObjects(o)...)
	}
	objs = append(objs, test.LaidOutObjects(s.Window.Content())...)
	for _, o := range objs {
		if b, ok := o.(*widget.Button); ok && b.Text == text && b.Visible() {
			test.Tap(b)
			return
		}
	}
	t.Fatalf("no button %q among %q", text, texts(s))
}

func noKeyShown(t *testing.T, s *Studio) {
	t.Helper()
	onUI(func() {
		for _, txt := range texts(s) {
			if strings.Contains(txt, "7700112233") {
				t.Errorf("the stream key is shown in %q", txt)
			}
		}
	})
}

// A first run shows the test pattern, streams to the local test ingest with
// moving stats, asks before stopping, and shows the ingest's report.
func TestStudioGoesLiveToLocalTestAndStops(t *testing.T) {
	s, _ := newTestStudio(t, &app.MemoryKeys{})
	eventually(t, "the preview", func() bool { return s.preview.HasSignal() })
	eventually(t, "the meter", func() bool {
		return strings.Contains(s.meter.Text(), "dBFS peak") && !strings.Contains(s.meter.Text(), "-inf dBFS peak")
	})
	if got := s.dests.summary(); got != "Local test" {
		t.Fatalf("first run destinations %q, want the local test", got)
	}

	onUI(func() { test.Tap(s.liveButton) })
	eventually(t, "live", func() bool { return strings.HasPrefix(s.stateLabel.Text, "● LIVE") })
	eventually(t, "stats moving", func() bool {
		return s.stats.Value("Bitrate") != "–" && s.stats.Value("Bitrate") != "0 kb/s" && strings.HasPrefix(s.stats.Value("Frame rate"), "3")
	})
	eventually(t, "the clock", func() bool {
		return strings.Contains(s.stateLabel.Text, "00:00:0") && !strings.HasSuffix(s.stateLabel.Text, "00:00:00")
	})
	onUI(func() {
		if !s.output.size.Disabled() || !s.dests.add.Disabled() {
			t.Error("output settings stay editable while live")
		}
	})

	// Stop asks first; saying no keeps streaming.
	onUI(func() { test.Tap(s.liveButton) })
	eventually(t, "the confirmation", func() bool { return showing(s, "Stop streaming?") })
	onUI(func() { tapButton(t, s, "No") })
	time.Sleep(600 * time.Millisecond)
	onUI(func() {
		if !strings.HasPrefix(s.stateLabel.Text, "● LIVE") {
			t.Errorf("state %q after declining to stop", s.stateLabel.Text)
		}
	})
	stopLive(t, s)
	eventually(t, "the report", func() bool { return showing(s, "video: h264 640x360") })
	noKeyShown(t, s)
}

// A server that refuses the publish: the state says error with the server's
// own words, and the key is in no label.
func TestStudioShowsRefusedPublish(t *testing.T) {
	addr := serveRTMP(t, func(rtmpclient.PublishRequest) (rtmpclient.StreamSink, error) {
		return nil, errors.New("stream key not recognised")
	})

	s, _ := newTestStudio(t, &app.MemoryKeys{})
	onUI(func() {
		r := s.dests.rows[0]
		r.service.SetSelected("Custom RTMP server")
		test.Type(r.url, "rtmp://"+addr+"/live")
		test.Type(r.key, secret)
		// Enter in the key field must not go live.
		r.key.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	})
	time.Sleep(500 * time.Millisecond)
	onUI(func() {
		if s.stateLabel.Text != "Idle" {
			t.Fatalf("Enter in the key field changed the state to %q", s.stateLabel.Text)
		}
		test.Tap(s.liveButton)
	})
	eventually(t, "the error", func() bool { return s.stateLabel.Text == "Error" })
	onUI(func() {
		if !strings.Contains(s.detail.Text, "stream key not recognised") {
			t.Errorf("error detail %q lacks the server's words", s.detail.Text)
		}
	})
	noKeyShown(t, s)
}

// Choosing a preset fills its server; hints flag a key from another platform
// and a web address, without showing the key.
func TestStudioPresetsAndHints(t *testing.T) {
	s, _ := newTestStudio(t, &app.MemoryKeys{})
	onUI(func() {
		r := s.dests.rows[0]
		r.service.SetSelected("YouTube")
		if r.url.Text != "rtmps://a.rtmps.youtube.com:443/live2" {
			t.Errorf("YouTube preset URL %q", r.url.Text)
		}
		test.Type(r.key, "FB-1234567890123-0-AbCdEfGh")
		if !strings.Contains(r.hint.Text, "looks like a Facebook key") {
			t.Errorf("hint %q", r.hint.Text)
		}
		r.url.SetText("https://studio.youtube.com/")
		if !strings.Contains(r.hint.Text, "web address") {
			t.Errorf("hint %q", r.hint.Text)
		}
		r.service.SetSelected("Twitch")
		if r.url.Text != "https://studio.youtube.com/" {
			t.Errorf("a typed URL was replaced by the preset: %q", r.url.Text)
		}
		s.output.vbitrate.SetText("12000")
		if !strings.Contains(s.output.warnings.Text, "Twitch accepts at most 8500 kb/s") {
			t.Errorf("warnings %q", s.output.warnings.Text)
		}
	})
	noKeyShown(t, s)
}

type noKeyring struct{ app.MemoryKeys }

func (*noKeyring) Set(string, string) error {
	return errors.Join(app.ErrNoKeyring, errors.New("org.freedesktop.secrets was not provided"))
}

// Without a keyring the user is asked whether to keep the key for this
// session; "Forget" clears it from the window.
func TestStudioAsksWhenThereIsNoKeyring(t *testing.T) {
	srv := &rtmpclient.Server{OnPublish: func(rtmpclient.PublishRequest) (rtmpclient.StreamSink, error) {
		return nil, errors.New("no")
	}}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	s, _ := newTestStudio(t, &noKeyring{})
	onUI(func() {
		r := s.dests.rows[0]
		r.service.SetSelected("Custom RTMP server")
		r.url.SetText("rtmp://" + ln.Addr().String() + "/live")
		r.key.SetText(secret)
		test.Tap(s.liveButton)
	})
	eventually(t, "the question", func() bool { return showing(s, "Keep your keys for this session only?") })
	onUI(func() { tapButton(t, s, "Forget") })
	eventually(t, "the key cleared", func() bool { return s.dests.rows[0].key.Text == "" })
}

// Settings come back on the next run; the key comes from the key store, not
// the preferences.
func TestStudioRemembersSettingsButNotKeysInPreferences(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	keys := &app.MemoryKeys{}
	var s *Studio
	onUI(func() { s = NewStudio(a, app.NewEngine(nil), keys) })
	onUI(func() {
		s.output.size.SetSelected("854x480")
		r := s.dests.rows[0]
		r.service.SetSelected("Twitch")
		r.key.SetText(secret)
	})
	_ = s.storeKeys(s.current(), s.dests.ids())
	onUI(s.settingsChanged)
	_ = s.Close()
	if raw := a.Preferences().String(prefsKey); strings.Contains(raw, "7700112233") || !strings.Contains(raw, "live.twitch.tv") {
		t.Fatalf("preferences: %s", raw)
	}
	var s2 *Studio
	onUI(func() { s2 = NewStudio(a, app.NewEngine(nil), keys) })
	defer s2.Close()
	eventually(t, "the key from the store", func() bool { return s2.dests.rows[0].key.Text == secret })
	onUI(func() {
		if s2.output.size.Selected != "854x480" || s2.dests.rows[0].service.Selected != "Twitch" {
			t.Errorf("restored %s, %s", s2.output.size.Selected, s2.dests.rows[0].service.Selected)
		}
	})
}

// Two destinations at once, each with its own state and numbers; the
// shortcut stops after a confirmation; nothing logged holds the key.
func TestStudioStreamsToTwoDestinationsAndShortcutStops(t *testing.T) {
	var logs bytes.Buffer
	var logMu sync.Mutex
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, nil)))
	defer slog.SetDefault(prev)

	in := startIngest(t)
	s, _ := newTestStudio(t, &app.MemoryKeys{})
	onUI(func() {
		test.Tap(s.dests.add)
		r := s.dests.rows[1]
		r.service.SetSelected("Custom RTMP server")
		r.url.SetText(in.URL("live"))
		r.key.SetText(secret)
	})
	onUI(func() { test.Tap(s.liveButton) })
	eventually(t, "both live", func() bool {
		return strings.HasPrefix(s.dests.rows[0].status.Text, "live ·") && strings.HasPrefix(s.dests.rows[1].status.Text, "live ·")
	})
	onUI(func() {
		s.Window.Canvas().(fyne.Shortcutable).TypedShortcut(ToggleLiveShortcut)
	})
	eventually(t, "the confirmation", func() bool { return showing(s, "Stop streaming?") })
	onUI(func() { tapButton(t, s, "Yes") })
	eventually(t, "idle", func() bool { return s.stateLabel.Text == "Idle" })
	if reps := in.Reports(); len(reps) != 1 || reps[0].Video.Frames < 30 {
		t.Errorf("the second destination's server saw %+v", reps)
	}
	noKeyShown(t, s)
	logMu.Lock()
	defer logMu.Unlock()
	if strings.Contains(logs.String(), "7700112233") {
		t.Errorf("the key is in the log:\n%s", logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// slowDevices is an engine whose devices take as long as the test likes to
// open, as a camera can.
type slowDevices struct {
	*app.Engine
	release chan struct{}
}

func (e slowDevices) SetSources(v app.VideoSettings, a app.AudioSettings) error {
	<-e.release
	return e.Engine.SetSources(v, a)
}

// The window keeps answering while a device is slow to open: Go Live, the
// state bar and the settings work, and the preview comes once the device does.
func TestStudioStaysResponsiveWhileADeviceOpens(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	eng := slowDevices{app.NewEngine(nil), make(chan struct{})}
	var s *Studio
	onUI(func() { s = NewStudio(a, eng, &app.MemoryKeys{}) })
	defer s.Close()
	onUI(func() {
		s.output.size.SetSelected("640x360")
		test.Tap(s.dests.add)
		if len(s.dests.rows) != 2 || s.preview.HasSignal() {
			t.Errorf("%d destination rows; preview showing %v", len(s.dests.rows), s.preview.HasSignal())
		}
	})
	close(eng.release)
	eventually(t, "the preview once the device opened", func() bool { return s.preview.HasSignal() })
}

// startIngest starts Tally's own ingest on a free loopback port for the test.
func startIngest(t *testing.T) *ingest.Ingest {
	t.Helper()
	in, err := ingest.Start("127.0.0.1:0", ingest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Close() })
	return in
}

// stopLive presses Stop, confirms, and waits for the studio to be idle.
func stopLive(t *testing.T, s *Studio) {
	t.Helper()
	onUI(func() { test.Tap(s.liveButton) })
	eventually(t, "the confirmation", func() bool { return showing(s, "Stop streaming?") })
	onUI(func() { tapButton(t, s, "Yes") })
	eventually(t, "idle", func() bool { return s.stateLabel.Text == "Idle" })
}
