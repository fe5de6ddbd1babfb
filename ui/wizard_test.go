package ui

import (
	"context"
	"errors"
	"image"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/tallystudio/tally/app"
	"github.com/tallystudio/tally/internal/peers"
)

// speeds is an encoder test that reports a fixed speed per candidate
// ("720p60"), fast for the rest.
type speeds map[string]float64

func (sp speeds) TestEncoder(_ context.Context, c app.Candidate, _ time.Duration) (app.EncodeResult, error) {
	v, ok := sp[c.String()]
	if !ok {
		v = 2
	}
	return app.EncodeResult{Candidate: c, Speed: v}, nil
}

// link is an uplink test that measures a fixed rate and remembers the key it
// was given.
type link struct {
	rate   float64
	gotKey chan string
}

func (l link) TestUplink(_ context.Context, d app.Destination, _ int, _ time.Duration) (app.UplinkResult, error) {
	l.gotKey <- d.Key.Reveal()
	return app.UplinkResult{Tested: true, Rate: l.rate, Limited: true}, nil
}

// fakeSetup runs app.Setup, the real proposal, over fake tests.
func fakeSetup(enc app.EncoderTest, up app.UplinkTest) setupRun {
	return func(ctx context.Context, req app.SetupRequest, progress func(string, float64)) (app.Proposal, error) {
		s := app.Setup{Encoder: enc, Uplink: up, Progress: progress}
		return s.Run(ctx, req)
	}
}

// The setup asks for the platform and key, runs the tests, shows the
// proposal with its reasons, and on accept fills the panels and saves: the
// size, frame rate and bitrates, Twitch as the destination instead of the
// local test, and the key in the keyring, never on screen.
func TestSetupProposesAndAcceptSavesTheSettings(t *testing.T) {
	keys := &app.MemoryKeys{}
	s, _ := newTestStudio(t, keys)
	up := link{rate: 2_000_000, gotKey: make(chan string, 1)}
	var w *setupWizard
	onUI(func() {
		w = showSetup(s, fakeSetup(speeds{"1080p60": 0.5, "1080p30": 0.5, "720p60": 0.5}, up))
		if !showing(s, "Pick where you stream") {
			t.Errorf("the first step does not show: %q", texts(s))
		}
		w.service.SetSelected("Twitch")
		if w.measure.Visible() || !w.twitchNote.Visible() {
			t.Error("Twitch should say its bandwidth test mode is used, not ask for a test publish")
		}
		w.key.SetText(secret)
		test.Tap(w.start)
	})
	if k := <-up.gotKey; k != secret+"?bandwidthtest=true" {
		t.Errorf("the uplink test got key %q; want Twitch's bandwidth test mode", k)
	}
	eventually(t, "the proposal", func() bool { return w.body.Objects[0] == w.result })
	onUI(func() {
		for _, want := range []string{"480p at 30 fps and 1,300 kb/s", "your uplink measured 2.0 Mb/s", "720p30 needs at least 2,000 kb/s",
			"1080p60 only at 0.5×", "720p60 at 0.5× real time", "720p60   0.5× real time: too slow",
			"puts Twitch in place of the Local test"} {
			if !showing(s, want) {
				t.Errorf("the proposal does not show %q: %q", want, texts(s))
			}
		}
	})
	noKeyShown(t, s)
	onUI(func() { test.Tap(w.accept) })

	var saved loaded
	onUI(func() { saved = loadSettings(s.prefs) })
	v, a := saved.Video, saved.Audio
	if v.Width != 854 || v.Height != 480 || v.FPS != 30 || v.Bitrate != 1_300_000 || a.Bitrate != 128_000 {
		t.Errorf("saved video %dx%d %d fps %d b/s, audio %d b/s; want the proposal", v.Width, v.Height, v.FPS, v.Bitrate, a.Bitrate)
	}
	if len(saved.Destinations) != 1 || saved.Destinations[0].Service != "twitch" || saved.Destinations[0].URL != "rtmp://live.twitch.tv/app" {
		t.Fatalf("saved destinations %+v; want Twitch in place of the local test", saved.Destinations)
	}
	eventually(t, "the key in the keyring", func() bool {
		k, _ := keys.Get(saved.ids[0])
		return k == secret
	})
	onUI(func() {
		if s.Window.Canvas().Overlays().Top() != nil {
			t.Error("the setup is still open after accepting")
		}
		if st := s.current(); st.Destinations[0].Key.Reveal() != secret {
			t.Error("the destinations panel does not hold the key")
		}
	})
	noKeyShown(t, s)
}

// Skipping leaves the studio as a first run has it: the local test and the
// default output.
func TestSetupSkipKeepsTheDefaults(t *testing.T) {
	s, _ := newTestStudio(t, &app.MemoryKeys{})
	var before app.Settings
	onUI(func() {
		before = s.current()
		w := showSetup(s, fakeSetup(speeds{}, link{rate: 1e7, gotKey: make(chan string, 1)}))
		test.Tap(w.skip)
		if s.Window.Canvas().Overlays().Top() != nil {
			t.Error("the setup is still open after Skip")
		}
		after := s.current()
		if after.Destinations[0].Service != "local" || after.Video.Width != before.Video.Width || after.Video.Bitrate != before.Video.Bitrate {
			t.Errorf("skipping changed the settings: %+v", after)
		}
	})
}

// A test that fails says why, without the key, and Back returns to the
// first step; an entry the settings refuse is named before any test runs.
func TestSetupShowsWhyATestFailedAndGoesBack(t *testing.T) {
	s, _ := newTestStudio(t, &app.MemoryKeys{})
	failing := func(context.Context, app.SetupRequest, func(string, float64)) (app.Proposal, error) {
		return app.Proposal{}, errors.New("rtmp://live.twitch.tv/app/live_****33: the server hung up")
	}
	var w *setupWizard
	onUI(func() {
		w = showSetup(s, failing)
		w.url.SetText("https://www.twitch.tv/")
		if !strings.Contains(w.hint.Text, "rtmp://") {
			t.Errorf("a web address for the server gets no hint: %q", w.hint.Text)
		}
		w.service.SetSelected("Facebook")
		w.url.SetText("rtmp://live-api-s.facebook.com:80/rtmp/")
		w.key.SetText(secret)
		test.Tap(w.start)
		if w.body.Objects[0] != w.choose || !strings.Contains(w.chooseError.Text, "rtmps://") {
			t.Errorf("Facebook over rtmp:// was not refused before testing: %q", w.chooseError.Text)
		}
		w.service.SetSelected("Twitch")
		w.url.SetText("rtmp://live.twitch.tv/app")
		test.Tap(w.start)
	})
	eventually(t, "the failure", func() bool { return w.body.Objects[0] == w.failed })
	onUI(func() {
		if !showing(s, "the server hung up") {
			t.Errorf("the failure does not say why: %q", texts(s))
		}
		test.Tap(w.back)
		if w.body.Objects[0] != w.choose {
			t.Error("Back did not return to the first step")
		}
	})
	noKeyShown(t, s)
}

// A first run is a studio that never saved settings; once one has, the
// setup is not offered again.
func TestFirstRunIsAStudioThatNeverSavedSettings(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	if !FirstRun(a.Preferences()) {
		t.Fatal("a fresh app is not a first run")
	}
	var s *Studio
	onUI(func() { s = NewStudio(a, app.NewEngine(nil), &app.MemoryKeys{}) })
	defer s.Close()
	if FirstRun(a.Preferences()) {
		t.Error("a studio that has started is still a first run")
	}
}

// The whole setup in the studio, on its real engine: the encoder test on
// this machine, the uplink test publishing from the studio's program to
// nginx-rtmp through a link that carries 2 Mb/s. The proposal fits under
// the link, accepting saves it, and the program's picture keeps coming.
func TestSetupInTheStudioOverA2MbpsLinkFitsUnderIt(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{})
	th := peers.StartThrottle(t, "127.0.0.1:"+strconv.Itoa(ng.Port))
	const link = 2_000_000
	th.SetRate(link)
	keys := &app.MemoryKeys{}
	s, eng := newTestStudio(t, keys)
	eventually(t, "the preview", func() bool { return s.preview.HasSignal() })
	var w *setupWizard
	onUI(func() {
		w = showSetup(s, s.engineSetup())
		w.encodeFor, w.uplinkFor = 300*time.Millisecond, 6*time.Second
		w.service.SetSelected("Custom RTMP server")
		w.url.SetText("rtmp://" + th.Addr() + "/live")
		w.key.SetText(secret)
		w.measure.SetChecked(true)
		test.Tap(w.start)
	})
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var step fyne.CanvasObject
		onUI(func() { step = w.body.Objects[0] })
		if step == w.result {
			break
		}
		if step == w.failed {
			var why string
			onUI(func() { why = w.whyFailed.Text })
			t.Fatalf("the setup failed: %s", why)
		}
		if time.Now().After(deadline) {
			t.Fatal("no proposal after 90 s")
		}
	}
	var p app.Proposal
	onUI(func() { p = w.proposal })
	t.Logf("uplink %+v; %s", p.Uplink, p.Explain())
	if !p.Uplink.Limited || p.Total() >= link || float64(p.Total()) > p.Uplink.Rate*app.UplinkShare {
		t.Errorf("over a 2 Mb/s link (measured %+v) the setup proposed %d b/s in all", p.Uplink, p.Total())
	}
	noKeyShown(t, s)
	onUI(func() { test.Tap(w.accept) })
	var saved loaded
	onUI(func() { saved = loadSettings(s.prefs) })
	if saved.Video.Bitrate != p.VideoBitrate || saved.Audio.Bitrate != p.AudioBitrate || saved.Destinations[0].URL != "rtmp://"+th.Addr()+"/live" {
		t.Errorf("saved %+v / %+v; want the proposal and the tested server", saved.Video, saved.Destinations)
	}
	time.Sleep(time.Second) // a source the tests had closed would show by now
	if errs := eng.Status().SourceErrors; len(errs) > 0 || !eng.PreviewFrame(image.NewRGBA(image.Rect(0, 0, 64, 36))) {
		t.Errorf("after the setup the program's source failed (%v) or shows nothing", errs)
	}
}

// Closing the studio while the setup tests ends the test, and Close waits
// for it: the engine is not closed under the test's session.
func TestClosingTheStudioEndsTheSetupInFlight(t *testing.T) {
	s, _ := newTestStudio(t, &app.MemoryKeys{})
	started, ended := make(chan struct{}), make(chan struct{})
	blocking := func(ctx context.Context, _ app.SetupRequest, _ func(string, float64)) (app.Proposal, error) {
		close(started)
		<-ctx.Done()
		time.Sleep(100 * time.Millisecond) // a session stopping
		close(ended)
		return app.Proposal{}, ctx.Err()
	}
	onUI(func() {
		w := showSetup(s, blocking)
		w.service.SetSelected("Twitch")
		w.key.SetText(secret)
		test.Tap(w.start)
	})
	<-started
	_ = s.Close()
	select {
	case <-ended:
	default:
		t.Error("Close returned before the setup's test had ended")
	}
}

// The setup runs again from the Destinations tab: it starts from the
// destination already there, key included, and accepting updates that
// destination rather than adding a second; while live it cannot be opened.
func TestSetupRunsAgainFromTheDestinationsTabAndUpdatesThatDestination(t *testing.T) {
	s, _ := newTestStudio(t, &app.MemoryKeys{})
	onUI(func() {
		r := s.dests.rows[0]
		r.service.SetSelected("Twitch")
		r.key.SetText(secret)
		test.Tap(s.dests.add)
		s.dests.rows[1].service.SetSelected("Custom RTMP server")
		s.dests.rows[1].url.SetText("rtmp://127.0.0.1:1/live")
		tapButton(t, s, "Set up Tally…")
	})
	w := s.wizard
	onUI(func() {
		if w == nil || w.service.Selected != "Twitch" || w.url.Text != "rtmp://live.twitch.tv/app" || w.key.Text != secret {
			t.Fatalf("the setup does not start from the Twitch destination: %+v", w)
		}
		w.run = fakeSetup(speeds{"1080p60": 0.5, "1080p30": 0.5, "720p60": 0.5}, link{rate: 2_000_000, gotKey: make(chan string, 1)})
		test.Tap(w.start)
	})
	eventually(t, "the proposal", func() bool { return w.body.Objects[0] == w.result })
	onUI(func() {
		if !showing(s, "keeps Twitch in the Destinations tab, with this server and key") {
			t.Errorf("the proposal does not say it keeps the destination: %q", texts(s))
		}
		test.Tap(w.accept)
		st := s.current()
		if len(st.Destinations) != 2 || st.Destinations[0].Service != "twitch" || st.Destinations[0].Key.Reveal() != secret ||
			st.Destinations[1].URL != "rtmp://127.0.0.1:1/live" {
			t.Errorf("after accepting, the destinations are %+v", st.Destinations)
		}
		if st.Video.Width != 854 || st.Video.Bitrate != 1_300_000 {
			t.Errorf("after accepting, the output is %dx%d at %d b/s; want the proposal", st.Video.Width, st.Video.Height, st.Video.Bitrate)
		}
		s.dests.setLive(true)
		if !s.dests.setup.Disabled() {
			t.Error("the setup can be opened while live")
		}
		s.dests.setLive(false)
	})
	noKeyShown(t, s)
}
