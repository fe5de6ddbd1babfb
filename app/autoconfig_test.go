package app

import (
	"context"
	"errors"
	"image"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tallystudio/tally/ingest"
)

// fakeEncoder reports a speed per candidate (by String, "720p60"); those it
// does not name encode at fast. It records what it was asked to test.
type fakeEncoder struct {
	speeds map[string]float64
	fast   float64
	mu     sync.Mutex
	tested []string
}

func (f *fakeEncoder) TestEncoder(_ context.Context, c Candidate, _ time.Duration) (EncodeResult, error) {
	f.mu.Lock()
	f.tested = append(f.tested, c.String())
	f.mu.Unlock()
	s, ok := f.speeds[c.String()]
	if !ok {
		s = f.fast
	}
	return EncodeResult{Candidate: c, Speed: s}, nil
}

// fakeUplink reports a fixed result and records where it was sent.
type fakeUplink struct {
	result UplinkResult
	err    error
	calls  []Destination
}

func (f *fakeUplink) TestUplink(_ context.Context, d Destination, _ int, _ time.Duration) (UplinkResult, error) {
	f.calls = append(f.calls, d)
	return f.result, f.err
}

func twitch(t *testing.T) Service {
	t.Helper()
	svc, ok := ServiceByID("twitch")
	if !ok {
		t.Fatal("no twitch preset")
	}
	return svc
}

func sustainedAll() []EncodeResult {
	var out []EncodeResult
	for _, c := range DefaultCandidates() {
		out = append(out, EncodeResult{Candidate: c, Speed: 3})
	}
	return out
}

// A 2 Mb/s uplink gets a proposal whose video and audio together fit under
// it with the share kept spare, at a size whose bitrate floor that leaves.
func TestProposalForA2MbpsUplinkFitsUnderIt(t *testing.T) {
	p := Propose(twitch(t), sustainedAll(), UplinkResult{Tested: true, Rate: 2_000_000, Limited: true})
	if p.Total() >= 2_000_000 || float64(p.Total()) > 2_000_000*UplinkShare {
		t.Errorf("proposed %d b/s in all over a 2 Mb/s uplink: %s", p.Total(), p.Explain())
	}
	var chosen Candidate
	for _, r := range p.Encodes {
		if r.Candidate.Width == p.Width && r.Candidate.FPS == p.FPS {
			chosen = r.Candidate
		}
	}
	if chosen.Min > p.VideoBitrate || p.Height >= 720 {
		t.Errorf("proposed %dp%d at %d b/s, under its floor of %d or too big for the link", p.Height, p.FPS, p.VideoBitrate, chosen.Min)
	}
	if !strings.Contains(p.Explain(), "2.0 Mb/s") || !strings.Contains(p.Explain(), "720p30 needs at least 2,000 kb/s") {
		t.Errorf("the explanation does not give the measured uplink and what it ruled out: %s", p.Explain())
	}
}

// An encoder that manages only half of real time at 1080p and at 720p60
// makes the setup drop to what it sustains: 720p30 on a fast link, and the
// explanation names the speeds that ruled the others out.
func TestSlowEncoderMakesTheProposalDropResolutionOrFrameRate(t *testing.T) {
	enc := &fakeEncoder{fast: 2, speeds: map[string]float64{"1080p60": 0.5, "1080p30": 0.5, "720p60": 0.5}}
	up := &fakeUplink{result: UplinkResult{Tested: true, Rate: 50_000_000, Limited: true}}
	s := Setup{Encoder: enc, Uplink: up}
	p, err := s.Run(context.Background(), SetupRequest{Service: "twitch", Key: "live_7700112233_setup"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Height > 720 || (p.Height == 720 && p.FPS > 30) {
		t.Fatalf("a slow encoder got %dp%d: %s", p.Height, p.FPS, p.Explain())
	}
	if p.Width != 1280 || p.FPS != 30 {
		t.Errorf("proposed %dx%d at %d fps; want 720p30, the best it sustains", p.Width, p.Height, p.FPS)
	}
	for _, want := range []string{"this machine encodes 1080p60 only at 0.5×, 1080p30 at 0.5× and 720p60 at 0.5× real time", "50.0 Mb/s"} {
		if !strings.Contains(p.Explain(), want) {
			t.Errorf("the explanation lacks %q: %s", want, p.Explain())
		}
	}
	// 720p30 kept up with room to spare, so 480p30 and 360p30 need no test.
	if got := strings.Join(enc.tested, " "); got != "1080p60 1080p30 720p60 720p30" {
		t.Errorf("tested %s; want the four down to the first sustained", got)
	}
}

// A machine that sustains nothing still gets a proposal, the smallest, with
// the reason it will struggle.
func TestEncoderThatSustainsNothingGetsTheSmallestWithAWarning(t *testing.T) {
	var encodes []EncodeResult
	for _, c := range DefaultCandidates() {
		encodes = append(encodes, EncodeResult{Candidate: c, Speed: 0.8})
	}
	p := Propose(twitch(t), encodes, UplinkResult{Tested: true, Rate: 20_000_000, Limited: true})
	if p.Height != 360 || !strings.Contains(p.Explain(), "even 360p30 encodes only at 0.8×") {
		t.Errorf("got %dp%d: %s", p.Height, p.FPS, p.Explain())
	}
}

// Twitch's uplink is measured in its bandwidth test mode, which never goes
// live, with or without the user's consent to a test publish.
func TestTwitchUplinkTestUsesBandwidthTestMode(t *testing.T) {
	up := &fakeUplink{result: UplinkResult{Tested: true, Rate: 8_000_000, Limited: true}}
	s := Setup{Encoder: &fakeEncoder{fast: 2}, Uplink: up}
	if _, err := s.Run(context.Background(), SetupRequest{Service: "twitch", Key: "live_7700112233_setup"}); err != nil {
		t.Fatal(err)
	}
	if len(up.calls) != 1 {
		t.Fatalf("%d uplink tests; want one", len(up.calls))
	}
	d := up.calls[0]
	if d.Key.Reveal() != "live_7700112233_setup?bandwidthtest=true" || d.URL != twitch(t).URL {
		t.Errorf("tested %s with key %s; want Twitch's ingest with ?bandwidthtest=true", d.URL, d.Key.Reveal())
	}
	// A key already asking for the test, or carrying a query, is not doubled.
	for key, want := range map[string]string{
		"live_1?bandwidthtest=true": "live_1?bandwidthtest=true",
		"live_1?x=1":                "live_1?x=1&bandwidthtest=true",
	} {
		d, ok := uplinkDestination(twitch(t), SetupRequest{Key: StreamKey(key)})
		if !ok || d.Key.Reveal() != want {
			t.Errorf("key %q became %q (test %v); want %q", key, d.Key.Reveal(), ok, want)
		}
	}
}

// Elsewhere a test publish goes live for its seconds: it runs only when the
// user agreed, and without it the proposal turns dynamic bitrate on.
func TestOtherPlatformsTestTheUplinkOnlyWithConsent(t *testing.T) {
	for _, agree := range []bool{false, true} {
		up := &fakeUplink{result: UplinkResult{Tested: true, Rate: 3_000_000, Limited: true}}
		s := Setup{Encoder: &fakeEncoder{fast: 2}, Uplink: up}
		p, err := s.Run(context.Background(), SetupRequest{Service: "youtube", Key: "abcd-efgh-ijkl-mnop", MeasureUplink: agree})
		if err != nil {
			t.Fatal(err)
		}
		if tested := len(up.calls) == 1; tested != agree {
			t.Errorf("consent %v: uplink tested %v", agree, tested)
		}
		if p.DynamicBitrate == agree || p.Uplink.Tested != agree {
			t.Errorf("consent %v: dynamic bitrate %v, uplink tested %v", agree, p.DynamicBitrate, p.Uplink.Tested)
		}
		st := p.Settings(DefaultSettings(), Destination{Service: "youtube", URL: "rtmps://a.rtmps.youtube.com:443/live2", Key: "abcd-efgh-ijkl-mnop"})
		if len(st.Destinations) != 1 || st.Destinations[0].DynamicBitrate != !agree {
			t.Errorf("consent %v: settings' destination %+v", agree, st.Destinations)
		}
		if _, err := st.Validate(); err != nil {
			t.Errorf("consent %v: the proposed settings do not validate: %v", agree, err)
		}
	}
}

// The proposal stays within what the platform documents: LinkedIn's 30 fps
// and 6 Mb/s, Facebook's bitrate cap, whatever the machine and link do.
func TestProposalStaysWithinThePlatformsLimits(t *testing.T) {
	for _, id := range []string{"linkedin", "facebook", "twitch", "youtube", "x", "kick", "custom"} {
		svc, _ := ServiceByID(id)
		enc := &fakeEncoder{fast: 5}
		s := Setup{Encoder: enc, Uplink: &fakeUplink{result: UplinkResult{Tested: true, Rate: 100_000_000}}}
		p, err := s.Run(context.Background(), SetupRequest{Service: id, URL: "rtmps://ingest.example/app", Key: "k_7700112233", MeasureUplink: true})
		if err != nil {
			t.Fatal(err)
		}
		st := p.Settings(DefaultSettings(), Destination{Service: id, URL: "rtmps://ingest.example/app", Key: "k_7700112233"})
		if w := svc.Warnings(st.Video, st.Audio); len(w) > 0 {
			t.Errorf("%s: the proposal breaks the platform's limits: %v", id, w)
		}
		if svc.MaxFPS > 0 {
			for _, c := range enc.tested {
				if strings.HasSuffix(c, "p60") && svc.MaxFPS < 60 {
					t.Errorf("%s: tested %s, which it does not take", id, c)
				}
			}
		}
	}
}

// A failed uplink test (a refused key, an unreachable ingest) stops the
// setup with its reason; a cancelled setup says so.
func TestSetupStopsOnAFailedUplinkTestAndOnCancel(t *testing.T) {
	refused := errors.New("the server hung up: the key is probably wrong")
	s := Setup{Encoder: &fakeEncoder{fast: 2}, Uplink: &fakeUplink{err: refused}}
	if _, err := s.Run(context.Background(), SetupRequest{Service: "twitch", Key: "live_7700112233_setup"}); !errors.Is(err, refused) {
		t.Errorf("Run: %v; want the uplink test's error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Uplink = &fakeUplink{result: UplinkResult{Tested: true, Rate: 1e7}}
	if _, err := s.Run(ctx, SetupRequest{Service: "twitch", Key: "live_7700112233_setup"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Run after cancel: %v", err)
	}
	if _, err := s.Run(context.Background(), SetupRequest{Service: "nope"}); !errors.Is(err, ErrSetupService) {
		t.Errorf("Run with an unknown service: %v", err)
	}
}

// The real encoder test, briefly, at a small size: it measures a speed from
// a source's frames, read at the candidate's size, and from a synthetic
// picture for the test pattern and a source it cannot read.
func TestLocalEncoderTestMeasuresThroughput(t *testing.T) {
	c := Candidate{Width: 320, Height: 180, FPS: 30, Good: 400_000}
	frames, err := sourceFrames(context.Background(), "testpattern", c, 3)
	if err != nil || len(frames) != 3 || frames[2].Bounds() != image.Rect(0, 0, 320, 180) {
		t.Fatalf("source frames: %d, %v", len(frames), err)
	}
	for _, src := range []string{"testpattern", "none"} {
		r, err := LocalEncoderTest{Source: src, Preset: "ultrafast"}.TestEncoder(context.Background(), c, 300*time.Millisecond)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if r.Speed <= 0 || r.Candidate != c {
			t.Errorf("%s: %+v; want a measured speed for %s", src, r, c)
		}
	}
}

func TestBitratesAreWrittenAsStreamersReadThem(t *testing.T) {
	for bps, want := range map[int]string{3_500_000: "3,500 kb/s", 800_000: "800 kb/s", 51_000_000: "51,000 kb/s"} {
		if got := kbps(bps); got != want {
			t.Errorf("kbps(%d) = %q, want %q", bps, got, want)
		}
	}
	if got := mbps(5_130_000); got != "5.1 Mb/s" {
		t.Errorf("mbps = %q", got)
	}
}

// The studio's setup tests over its own program: the encoder test gets the
// program's frames at the candidate's size, and afterwards the program's
// test pattern still runs (a second open of the one test-pattern driver,
// closed after the test, would have ended it).
func TestEngineSetupTestsTheProgramAndLeavesItRunning(t *testing.T) {
	eng := NewEngine(nil)
	defer eng.Close()
	if err := eng.SetSources(VideoSettings{Source: "testpattern", Width: 640, Height: 360, FPS: 30}, AudioSettings{Source: "none"}); err != nil {
		t.Fatal(err)
	}
	newest := func() uint64 {
		f := eng.prog.latestFrame()
		if f == nil {
			return 0
		}
		defer f.unref()
		return f.seq
	}
	waitNewFrame := func(after uint64, what string) uint64 {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if s := newest(); s != 0 && s != after {
				return s
			}
		}
		t.Fatalf("no new program frame %s", what)
		return 0
	}
	waitNewFrame(0, "after opening")
	c := Candidate{Width: 320, Height: 180, FPS: 30, Good: 400_000}
	frames, err := eng.programFrames(context.Background(), c, 3)
	if err != nil || len(frames) != 3 {
		t.Fatalf("program frames: %d, %v", len(frames), err)
	}
	if y, ok := frames[0].(*image.YCbCr); !ok || y.Bounds() != image.Rect(0, 0, 320, 180) {
		t.Errorf("a program frame for the test is %T %v; want 4:2:0 at 320x180", frames[0], frames[0].Bounds())
	}
	setup := eng.Setup(VideoSettings{Encoder: "libx264", Preset: "ultrafast"})
	r, err := setup.Encoder.TestEncoder(context.Background(), c, 300*time.Millisecond)
	if err != nil || r.Speed <= 0 {
		t.Fatalf("encoder test: %+v, %v", r, err)
	}
	if !testing.Short() {
		// The uplink test's session publishes from the program too.
		in, err := ingest.Start("127.0.0.1:0", ingest.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		up, err := setup.Uplink.TestUplink(context.Background(), Destination{Service: "custom", URL: in.URL("live"), Key: "setup-7700112233"}, 2_000_000, 4*time.Second)
		if err != nil || !up.Tested || up.Rate <= 0 {
			t.Fatalf("uplink test over the program: %+v, %v", up, err)
		}
	}
	waitNewFrame(newest(), "after the tests: they closed the program's source")
}

// An uplink too slow for any size gets the smallest size the encoder
// sustains, at what the link leaves, with the reason.
func TestUplinkTooSlowForAnySizeGetsTheSmallestSustained(t *testing.T) {
	encodes := sustainedAll()
	encodes[len(encodes)-1].Speed = 0.9 // 360p30 too slow, oddly: 480p30 is the smallest sustained
	p := Propose(twitch(t), encodes, UplinkResult{Tested: true, Rate: 500_000, Limited: true})
	if p.Height != 480 || p.AudioBitrate != 96_000 || !strings.Contains(p.Explain(), "too slow for a clear picture") {
		t.Errorf("got %dp%d, audio %d: %s", p.Height, p.FPS, p.AudioBitrate, p.Explain())
	}
}
