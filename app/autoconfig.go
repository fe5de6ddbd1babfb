package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The first-run setup, OBS's auto-configuration in Tally's terms: test what
// this machine's encoder sustains and what the uplink to the chosen ingest
// carries, then propose a size, frame rate and bitrates within the
// platform's limits, with the reasons in plain words. Everything here but the
// two tests (autoconfig_encode.go, autoconfig_uplink.go) is pure, so the
// decisions are tested without timing.

// Candidate is a size and frame rate the setup may propose.
type Candidate struct {
	Width, Height, FPS int
	// Min is the video bitrate below which this candidate looks worse than
	// the next smaller one at its own good rate; Good is where it looks good.
	// Both in b/s, H.264, from the rates Twitch and YouTube publish.
	Min, Good int
}

// String is how a streamer names it: "720p60".
func (c Candidate) String() string { return strconv.Itoa(c.Height) + "p" + strconv.Itoa(c.FPS) }

// label is the same in words: "720p at 60 fps".
func (c Candidate) label() string { return fmt.Sprintf("%dp at %d fps", c.Height, c.FPS) }

// DefaultCandidates are what the setup tries, in the order it prefers them:
// resolution first, then frame rate, as most streamers rank them.
func DefaultCandidates() []Candidate {
	return []Candidate{
		{1920, 1080, 60, 4_500_000, 6_000_000},
		{1920, 1080, 30, 3_500_000, 4_500_000},
		{1280, 720, 60, 3_000_000, 4_500_000},
		{1280, 720, 30, 2_000_000, 3_000_000},
		{854, 480, 30, 800_000, 1_500_000},
		{640, 360, 30, 400_000, 800_000},
	}
}

// SpeedHeadroom is how much faster than real time a candidate must encode to
// be kept: the live encoder also shares the machine with capture, the
// compositor, the audio and the window, which the test leaves out.
const SpeedHeadroom = 1.3

// UplinkShare is the part of the measured uplink the stream may take: the
// rest absorbs the link's dips and whatever else the household sends.
const UplinkShare = 0.75

// EncodeResult is what the encoder test found for one candidate.
type EncodeResult struct {
	Candidate Candidate
	// Speed is frames encoded per second over the candidate's frame rate:
	// 1 is exactly real time. 0 when not measured.
	Speed float64
	// Implied: not measured, because a candidate at least as big and as
	// fast was sustained.
	Implied bool
	Err     string // why the encoder could not run it
}

// Sustained says whether the encoder keeps up with the candidate with
// SpeedHeadroom to spare.
func (r EncodeResult) Sustained() bool {
	return r.Err == "" && (r.Implied || r.Speed >= SpeedHeadroom)
}

// UplinkResult is what the uplink test found.
type UplinkResult struct {
	Tested bool
	// Rate is what the link carried, in b/s. When Limited, the link was the
	// bottleneck and Rate is its measured rate; otherwise it carried all the
	// test sent, and Rate is only a floor.
	Rate    float64
	Limited bool
	// BandwidthTest: the test used the platform's test mode (Twitch's
	// ?bandwidthtest=true), which never goes live.
	BandwidthTest bool
}

// EncoderTest measures how fast this machine encodes a candidate, over d of
// encoding.
type EncoderTest interface {
	TestEncoder(ctx context.Context, c Candidate, d time.Duration) (EncodeResult, error)
}

// UplinkTest publishes to dest at about rate b/s for d and measures what the
// link carries.
type UplinkTest interface {
	TestUplink(ctx context.Context, dest Destination, rate int, d time.Duration) (UplinkResult, error)
}

// SetupRequest is what the user chose in the setup.
type SetupRequest struct {
	Service string // a Services() ID
	URL     string // the ingest; empty takes the service's own
	Key     StreamKey
	// MeasureUplink: the user agreed to a short measured publish. Twitch's
	// bandwidth test mode never goes live, so Twitch is tested either way.
	MeasureUplink bool
	Candidates    []Candidate   // nil: DefaultCandidates
	EncodeFor     time.Duration // per candidate; 0: 3 s
	UplinkFor     time.Duration // 0: 8 s
}

// Setup runs the first-run tests and proposes settings.
type Setup struct {
	Encoder EncoderTest
	Uplink  UplinkTest
	// Progress, when set, hears each step as it starts, in words, and how
	// far along the whole setup is (0 to 1), from Run's goroutines, one
	// call at a time.
	Progress func(step string, done float64)
}

// uplinkProbeRate is what the uplink test sends: more than the best
// candidate needs through UplinkShare, so a link that carries all of it can
// carry any proposal.
const uplinkProbeRate = 10_000_000

// ErrSetupService is returned for a setup without a platform to stream to.
var ErrSetupService = errors.New("setup: choose a platform")

// Run tests the uplink (when it may), then the encoder, and proposes. An
// uplink test that fails (a refused key, an ingest out of reach) stops it
// with the reason, for the user to fix or skip; a candidate the encoder
// cannot run is only ruled out. ctx ends it early.
func (s *Setup) Run(ctx context.Context, req SetupRequest) (Proposal, error) {
	svc, ok := ServiceByID(req.Service)
	if !ok {
		return Proposal{}, fmt.Errorf("%w: unknown service %q", ErrSetupService, req.Service)
	}
	if req.URL == "" {
		req.URL = svc.URL
	}
	cands := req.Candidates
	if cands == nil {
		cands = DefaultCandidates()
	}
	cands = withinLimits(svc, cands)
	encodeFor, uplinkFor := orDefault(req.EncodeFor, 3*time.Second), orDefault(req.UplinkFor, 8*time.Second)
	progress := func(step string, done float64) {
		if s.Progress != nil {
			s.Progress(step, done)
		}
	}

	var up UplinkResult
	base := 0.0 // how far along the encoder test starts
	dest, test := uplinkDestination(svc, req)
	if test && s.Uplink != nil {
		rate := uplinkProbeRate
		if svc.MaxVideoBitrate > 0 {
			rate = min(rate, svc.MaxVideoBitrate)
		}
		step := fmt.Sprintf("Measuring your uplink to %s…", svc.Name)
		progress(step, 0)
		// The test says nothing until it ends: its half of the bar moves
		// with the clock meanwhile, from a goroutine that ends before the
		// test's result is used.
		stop, ticked := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(ticked)
			t := time.NewTicker(250 * time.Millisecond)
			defer t.Stop()
			for start := time.Now(); ; {
				select {
				case <-stop:
					return
				case now := <-t.C:
					progress(step, 0.5*min(now.Sub(start).Seconds()/uplinkFor.Seconds(), 0.95))
				}
			}
		}()
		r, err := s.Uplink.TestUplink(ctx, dest, rate, uplinkFor)
		close(stop)
		<-ticked
		switch {
		case ctx.Err() != nil:
			return Proposal{}, ctx.Err()
		case err != nil:
			return Proposal{}, fmt.Errorf("uplink test: %w", err)
		}
		up = r
		base = 0.5
	}

	results := make([]EncodeResult, 0, len(cands))
	for i, c := range cands {
		if impliedBy(results, c) {
			results = append(results, EncodeResult{Candidate: c, Implied: true})
			continue
		}
		progress(fmt.Sprintf("Encoding %s for %v…", c, encodeFor), base+(1-base)*float64(i)/float64(len(cands)))
		r, err := s.Encoder.TestEncoder(ctx, c, encodeFor)
		if ctx.Err() != nil {
			return Proposal{}, ctx.Err()
		}
		r.Candidate = c
		if err != nil {
			r.Err = err.Error()
		}
		results = append(results, r)
	}
	progress("Done", 1)
	return Propose(svc, results, up), nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// uplinkDestination is where the uplink test publishes, and whether it may:
// Twitch's own bandwidth test mode (the key with ?bandwidthtest=true, which
// Twitch documents as never going live) always; elsewhere only with the
// user's consent, since a test publish goes live there for its seconds.
func uplinkDestination(svc Service, req SetupRequest) (Destination, bool) {
	d := Destination{Service: svc.ID, URL: req.URL, Key: req.Key}
	switch {
	case svc.ID == "local" || req.Key.Reveal() == "":
		return d, false
	case svc.ID == "twitch":
		k := req.Key.Reveal()
		if !strings.Contains(k, "bandwidthtest=") {
			sep := "?"
			if strings.Contains(k, "?") {
				sep = "&"
			}
			k += sep + "bandwidthtest=true"
		}
		d.Key = StreamKey(k)
		return d, true
	default:
		return d, req.MeasureUplink
	}
}

// withinLimits keeps the candidates the platform takes.
func withinLimits(svc Service, cands []Candidate) []Candidate {
	var out []Candidate
	for _, c := range cands {
		if (svc.MaxHeight > 0 && c.Height > svc.MaxHeight) || (svc.MaxFPS > 0 && c.FPS > svc.MaxFPS) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// impliedBy says whether a sustained, measured result is at least as big and
// as fast as c: encoding less of the same is no slower, so c need not be
// measured.
func impliedBy(results []EncodeResult, c Candidate) bool {
	return slices.ContainsFunc(results, func(r EncodeResult) bool {
		b := r.Candidate
		return !r.Implied && r.Sustained() && b.Width >= c.Width && b.Height >= c.Height && b.FPS >= c.FPS
	})
}

// Proposal is what the setup suggests, and why.
type Proposal struct {
	Service            string
	Width, Height, FPS int
	VideoBitrate       int // b/s
	AudioBitrate       int // b/s
	// DynamicBitrate is proposed when the uplink was not measured: the
	// bitrate then follows what the link turns out to carry.
	DynamicBitrate bool
	Encodes        []EncodeResult
	Uplink         UplinkResult
	// Summary is the proposal in a few words; Reasons say why, each a
	// clause a person reads ("your uplink measured 5.1 Mb/s").
	Summary string
	Reasons []string
}

// Explain is the proposal and its reasons in one paragraph.
func (p Proposal) Explain() string {
	if len(p.Reasons) == 0 {
		return p.Summary + "."
	}
	return p.Summary + ": " + strings.Join(p.Reasons, "; ") + "."
}

// Total is what the stream sends, video and audio, in b/s.
func (p Proposal) Total() int { return p.VideoBitrate + p.AudioBitrate }

// Propose picks the first candidate, in the order given, that the encoder
// sustains and whose bitrate floor fits what the uplink leaves the video
// under the platform's cap, at its good bitrate or what fits, whichever is
// less. When none fits, the smallest is proposed anyway, with the reason.
func Propose(svc Service, encodes []EncodeResult, up UplinkResult) Proposal {
	p := Proposal{Service: svc.ID, Encodes: encodes, Uplink: up, AudioBitrate: 160_000}
	videoBudget := -1 // unlimited
	if up.Tested && up.Rate > 0 {
		total := int(up.Rate * UplinkShare)
		switch {
		case total < 1_000_000:
			p.AudioBitrate = 96_000
		case total < 3_000_000:
			p.AudioBitrate = 128_000
		}
		videoBudget = max(total-p.AudioBitrate, 0)
	}
	capped := false
	if svc.MaxVideoBitrate > 0 && (videoBudget < 0 || svc.MaxVideoBitrate < videoBudget) {
		videoBudget, capped = svc.MaxVideoBitrate, true
	}
	fits := func(c Candidate) bool { return videoBudget < 0 || c.Min <= videoBudget }

	var chosen *EncodeResult
	for i := range encodes {
		if r := &encodes[i]; r.Sustained() && fits(r.Candidate) {
			chosen = r
			break
		}
	}
	var why []string
	// None fits: the smallest the encoder sustains, the smallest of all when
	// it sustains none.
	for i := len(encodes) - 1; chosen == nil && i >= 0; i-- {
		if encodes[i].Sustained() {
			chosen = &encodes[i]
		}
	}
	if chosen == nil && len(encodes) > 0 {
		chosen = &encodes[len(encodes)-1]
	}
	if chosen == nil { // no candidate within the platform's limits: the defaults
		d := DefaultSettings().Video
		chosen = &EncodeResult{Candidate: Candidate{Width: d.Width, Height: d.Height, FPS: d.FPS, Min: d.Bitrate, Good: d.Bitrate}}
	}
	c := chosen.Candidate
	p.Width, p.Height, p.FPS = c.Width, c.Height, c.FPS
	rate := c.Good
	if videoBudget >= 0 {
		rate = min(rate, videoBudget)
	}
	p.VideoBitrate = max(rate/100_000*100_000, 100_000)
	p.DynamicBitrate = !up.Tested

	// Why: the uplink first, then what ruled out each better candidate.
	switch {
	case !up.Tested:
		why = append(why, "the uplink was not tested, so dynamic bitrate is on to follow what it carries")
	case up.Limited:
		why = append(why, fmt.Sprintf("your uplink measured %s, and Tally leaves a quarter of it spare", mbps(up.Rate)))
	default:
		why = append(why, fmt.Sprintf("your uplink carried all the test sent (%s), so it is not the limit", mbps(up.Rate)))
	}
	if capped && svc.MaxVideoBitrate > 0 && p.VideoBitrate == svc.MaxVideoBitrate {
		why = append(why, fmt.Sprintf("%s takes at most %s of video", svc.Name, kbps(svc.MaxVideoBitrate)))
	}
	// What ruled out each better candidate, a clause per kind: the speeds
	// together, and of the sizes too big for the link only the smallest
	// (the bigger ones need more still).
	var slow []string
	tooBig := -1
	for i := range encodes {
		r := &encodes[i]
		if r == chosen {
			break
		}
		switch {
		case r.Err != "":
			why = append(why, fmt.Sprintf("the encoder could not run %s (%s)", r.Candidate, r.Err))
		case !r.Sustained():
			only := ""
			if len(slow) == 0 {
				only = "only "
			}
			slow = append(slow, fmt.Sprintf("%s %sat %.1f×", r.Candidate, only, r.Speed))
		case !fits(r.Candidate):
			tooBig = i
		}
	}
	if len(slow) > 0 {
		why = append(why, fmt.Sprintf("this machine encodes %s real time (it needs %.1f×)", andList(slow), SpeedHeadroom))
	}
	if tooBig >= 0 {
		big := encodes[tooBig].Candidate
		why = append(why, fmt.Sprintf("%s needs at least %s", big, kbps(big.Min)))
	}
	if !chosen.Sustained() {
		if chosen.Err != "" {
			why = append(why, fmt.Sprintf("even %s failed to encode (%s): check the encoder in the Output tab", c, chosen.Err))
		} else {
			why = append(why, fmt.Sprintf("even %s encodes only at %.1f× real time: close other programs or pick a faster preset", c, chosen.Speed))
		}
	}
	if videoBudget >= 0 && c.Min > videoBudget {
		why = append(why, "the uplink is too slow for a clear picture at any size")
	}
	p.Summary = fmt.Sprintf("%s and %s (%s of audio)", c.label(), kbps(p.VideoBitrate), kbps(p.AudioBitrate))
	p.Reasons = slices.Clip(why)
	return p
}

// Settings are base with the proposal applied: its size, frame rate and
// bitrates, and dest as the only destination.
func (p Proposal) Settings(base Settings, dest Destination) Settings {
	s := base
	s.Video.Width, s.Video.Height, s.Video.FPS = p.Width, p.Height, p.FPS
	s.Video.Bitrate, s.Audio.Bitrate = p.VideoBitrate, p.AudioBitrate
	dest.DynamicBitrate = dest.DynamicBitrate || p.DynamicBitrate
	s.Destinations = []Destination{dest}
	return s
}

// andList joins "a", "b" and "c" as a sentence does.
func andList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// kbps writes a bitrate as a streamer reads it: "3,500 kb/s".
func kbps(bps int) string { return thousands(bps/1000) + " kb/s" }

// mbps writes a link rate: "5.1 Mb/s".
func mbps(bps float64) string { return strconv.FormatFloat(bps/1e6, 'f', 1, 64) + " Mb/s" }

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
