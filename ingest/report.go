// Package ingest is Tally's built-in test server: it accepts RTMP publishes,
// judges each stream's health, and optionally records it. It is what "Local
// test" streams to, and an oracle for tests.
package ingest

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/tallystudio/tally/flv"
	"github.com/tallystudio/tally/rtmpclient"
	"github.com/tallystudio/tally/rtmpclient/amf"
)

// Report is the health of one published stream.
type Report struct {
	App       string               `json:"app"`
	Name      rtmpclient.StreamKey `json:"name"` // masked when printed
	Started   time.Time            `json:"started"`
	Ended     time.Time            `json:"ended"`
	Duration  float64              `json:"duration_s"` // media time, from the timestamps
	Video     *VideoHealth         `json:"video,omitempty"`
	Audio     *AudioHealth         `json:"audio,omitempty"`
	AVDriftMs float64              `json:"av_drift_ms"` // audio end minus video end; positive: audio ahead
	Latency   *Latency             `json:"latency,omitempty"`
	// AudioLatency is the same for the sound: capture to receipt of each
	// audio frame's first sample.
	AudioLatency *Latency       `json:"audio_latency,omitempty"`
	Metadata     map[string]any `json:"metadata,omitempty"`
	Recording    string         `json:"recording,omitempty"`
	Problems     []string       `json:"problems"`
}

// VideoHealth describes the video track as received.
type VideoHealth struct {
	Codec              string  `json:"codec"`
	Width              int     `json:"width"`
	Height             int     `json:"height"`
	Profile            int     `json:"profile"`
	Level              int     `json:"level"`
	Frames             int     `json:"frames"`
	Keyframes          int     `json:"keyframes"`
	FrameRate          float64 `json:"fps"`
	KeyframeIntervalS  float64 `json:"keyframe_interval_s"` // mean
	MaxKeyframeGapS    float64 `json:"max_keyframe_interval_s"`
	BitrateKbps        float64 `json:"kbps"`
	Gaps               int     `json:"gaps"`        // DTS jumps of more than 3 frame durations
	MaxGapMs           float64 `json:"max_gap_ms"`  // the longest DTS step
	Regressions        int     `json:"regressions"` // DTS going backwards
	MissingHeader      bool    `json:"missing_sequence_header"`
	FirstFrameKeyframe bool    `json:"first_frame_keyframe"`
	// OtherTracks counts the frames of an Enhanced RTMP multitrack stream's
	// further video tracks, by trackId; the health above is track 0's.
	OtherTracks map[uint8]int `json:"other_tracks,omitempty"`
}

// Latency is capture-to-receipt time, from the capture-time SEI Tally puts in
// each frame (on this machine's clock, so meaningful on loopback or with
// synchronised clocks).
type Latency struct {
	Frames int     `json:"frames"`
	P50Ms  float64 `json:"p50_ms"`
	P95Ms  float64 `json:"p95_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// AudioHealth describes the audio track as received.
type AudioHealth struct {
	Codec       string  `json:"codec"`
	SampleRate  int     `json:"sample_rate"`
	Channels    int     `json:"channels"`
	Frames      int     `json:"frames"`
	BitrateKbps float64 `json:"kbps"`
	Gaps        int     `json:"gaps"` // DTS jumps of more than 3 frame durations
	MaxGapMs    float64 `json:"max_gap_ms"`
	Regressions int     `json:"regressions"`
}

// analyzer accumulates a Report from messages as they arrive.
type analyzer struct {
	r Report

	videoTS, audioTS []int64 // DTS of each frame, for rates and gaps
	keyTS            []int64
	latencies        []float64 // ms, per frame that carried a capture time
	audioLatencies   []float64 // ms, per audio frame, its capture time inferred (see audioLatency)
	// epoch is the wall-clock time of presentation timestamp 0, from the
	// newest video frame that carried its capture time: Tally stamps both
	// tracks on one capture clock, so an audio frame's timestamp on it is
	// its capture time too.
	epoch               time.Time
	videoBytes          int64
	audioBytes          int64
	lastVideo, lastAuda int64
	sawVideoHeader      bool
	sawAudioHeader      bool
	wallClock           bool // timestamps are capture times, ms since midnight UTC
}

func newAnalyzer(app string, name rtmpclient.StreamKey, wallClock bool) *analyzer {
	return &analyzer{r: Report{App: app, Name: name, Started: time.Now()}, lastVideo: -1, lastAuda: -1, wallClock: wallClock}
}

const dayMs = 24 * 60 * 60 * 1000

// sinceWallClock is how long ago a presentation time stamped as milliseconds
// since midnight UTC was, across midnight too.
// percentiles summarises latencies in ms; nil for none.
func percentiles(ms []float64) *Latency {
	n := len(ms)
	if n == 0 {
		return nil
	}
	l := append([]float64(nil), ms...)
	sort.Float64s(l)
	pct := func(p float64) float64 { return round2(l[min(int(p*float64(n)), n-1)]) }
	return &Latency{Frames: n, P50Ms: pct(0.50), P95Ms: pct(0.95), P99Ms: pct(0.99), MaxMs: round2(l[n-1])}
}

func sinceWallClock(pts int64, now time.Time) float64 {
	midnight := now.UTC().Truncate(24 * time.Hour)
	nowMs := float64(now.Sub(midnight).Microseconds()) / 1000
	d := math.Mod(nowMs-float64(pts%dayMs), dayMs)
	if d < 0 {
		d += dayMs
	}
	if d > dayMs/2 { // stamped "in the future": a clock ahead of ours
		d -= dayMs
	}
	return d
}

// unwrapTS turns 32-bit wrapping timestamps into a monotonic-ish int64 timeline.
func unwrapTS(prev int64, ts uint32) int64 {
	if prev < 0 {
		return int64(ts)
	}
	v := prev&^0xffffffff | int64(ts)
	switch {
	case v < prev-(1<<31):
		v += 1 << 32
	case v > prev+(1<<31) && v >= 1<<32:
		v -= 1 << 32
	}
	return v
}

func (a *analyzer) message(m rtmpclient.Message) {
	switch m.Type {
	case rtmpclient.TypeVideo:
		a.video(m)
	case rtmpclient.TypeAudio:
		a.audio(m)
	case rtmpclient.TypeDataAMF0:
		a.data(m)
	}
}

func (a *analyzer) video(m rtmpclient.Message) {
	tag, err := flv.ParseVideoTag(m.Payload)
	if err != nil {
		a.problem("unreadable video tag: %v", err)
		return
	}
	if a.r.Video == nil {
		a.r.Video = &VideoHealth{Codec: tag.Codec}
	}
	v := a.r.Video
	if tag.Multitrack && tag.TrackID != 0 {
		if !tag.Header && tag.PacketType != flv.PacketSequenceEnd {
			if v.OtherTracks == nil {
				v.OtherTracks = map[uint8]int{}
			}
			v.OtherTracks[tag.TrackID]++
		}
		return
	}
	if tag.Header {
		a.sawVideoHeader = true
		if tag.Codec == "h264" {
			if cfg, err := flv.ParseAVCConfig(tag.Data); err == nil && len(cfg.SPS) > 0 {
				if sps, err := flv.ParseSPS(cfg.SPS[0]); err == nil {
					v.Width, v.Height, v.Profile, v.Level = sps.Width, sps.Height, int(sps.Profile), int(sps.Level)
				} else {
					a.problem("unreadable SPS: %v", err)
				}
			} else {
				a.problem("unreadable AVC sequence header: %v", err)
			}
		} else if w, h := a.metaNumber("width"), a.metaNumber("height"); w > 0 && h > 0 {
			// HEVC and AV1: the size the stream's metadata gives, rather
			// than a second parser of each codec's parameter sets.
			v.Width, v.Height = int(w), int(h)
		}
		return
	}
	if !tag.Enhanced && tag.PacketType == flv.AVCEndOfSequence || tag.Enhanced && tag.PacketType == flv.PacketSequenceEnd {
		return // the end of a sequence, not a frame
	}
	ts := unwrapTS(a.lastVideo, m.Timestamp)
	if len(a.videoTS) == 0 {
		v.MissingHeader = !a.sawVideoHeader
		v.FirstFrameKeyframe = tag.FrameType == flv.FrameKey
	}
	if a.lastVideo >= 0 && ts < a.lastVideo {
		v.Regressions++
	}
	a.lastVideo = ts
	a.videoTS = append(a.videoTS, ts)
	a.videoBytes += int64(len(m.Payload))
	stamped := false
	if tag.Codec == "h264" {
		if captured, ok := flv.CaptureTime(tag.Data); ok {
			a.latencies = append(a.latencies, float64(time.Since(captured).Microseconds())/1000)
			a.epoch = captured.Add(-time.Duration(int64(m.Timestamp)+int64(tag.CTS)) * time.Millisecond)
			stamped = true
		}
	}
	if a.wallClock && !stamped {
		a.latencies = append(a.latencies, sinceWallClock(int64(m.Timestamp)+int64(tag.CTS), time.Now()))
	}
	v.Frames++
	if tag.FrameType == flv.FrameKey {
		v.Keyframes++
		a.keyTS = append(a.keyTS, ts)
	}
}

func (a *analyzer) audio(m rtmpclient.Message) {
	tag, err := flv.ParseAudioTag(m.Payload)
	if err != nil {
		a.problem("unreadable audio tag: %v", err)
		return
	}
	if a.r.Audio == nil {
		codec := fmt.Sprintf("format %d", tag.Format)
		if tag.Format == flv.SoundAAC {
			codec = "aac"
		}
		a.r.Audio = &AudioHealth{Codec: codec}
	}
	au := a.r.Audio
	if tag.Header {
		a.sawAudioHeader = true
		if cfg, err := flv.ParseAudioSpecificConfig(tag.Data); err == nil {
			au.SampleRate, au.Channels = cfg.SampleRate, cfg.Channels
		} else {
			a.problem("unreadable AudioSpecificConfig: %v", err)
		}
		return
	}
	ts := unwrapTS(a.lastAuda, m.Timestamp)
	if a.lastAuda >= 0 && ts < a.lastAuda {
		au.Regressions++
	}
	a.lastAuda = ts
	a.audioTS = append(a.audioTS, ts)
	a.audioBytes += int64(len(m.Payload))
	au.Frames++
	a.audioLatency(m.Timestamp)
}

// audioLatency notes how long ago an audio frame stamped ts was captured:
// from the wall-clock timestamps themselves when publishers stamp them so,
// or else on the capture clock the video's capture-time SEI shows; frames
// before the first such video frame, and streams with neither, have none.
func (a *analyzer) audioLatency(ts uint32) {
	switch {
	case a.wallClock:
		a.audioLatencies = append(a.audioLatencies, sinceWallClock(int64(ts), time.Now()))
	case !a.epoch.IsZero():
		captured := a.epoch.Add(time.Duration(ts) * time.Millisecond)
		a.audioLatencies = append(a.audioLatencies, float64(time.Since(captured).Microseconds())/1000)
	}
}

func (a *analyzer) data(m rtmpclient.Message) {
	vals, err := amf.DecodeAMF0(m.Payload)
	if err != nil || len(vals) < 2 {
		return
	}
	if name, _ := vals[0].(string); name != "onMetaData" {
		return
	}
	var props []amf.Property
	switch v := vals[1].(type) {
	case amf.ECMAArray:
		props = v
	case amf.Object:
		props = v
	}
	a.r.Metadata = make(map[string]any, len(props))
	for _, p := range props {
		a.r.Metadata[p.Key] = p.Value
	}
}

func (a *analyzer) problem(format string, args ...any) {
	if len(a.r.Problems) < 50 {
		a.r.Problems = append(a.r.Problems, fmt.Sprintf(format, args...))
	}
}

// gaps counts steps longer than 3 typical frame durations and the longest step.
func gaps(ts []int64) (n int, longest float64, typical float64) {
	if len(ts) < 3 {
		return 0, 0, 0
	}
	steps := make([]int64, 0, len(ts)-1)
	for i := 1; i < len(ts); i++ {
		steps = append(steps, ts[i]-ts[i-1])
	}
	sorted := append([]int64(nil), steps...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	typical = float64(sorted[len(sorted)/2])
	limit := max(3*typical, 100)
	for _, s := range steps {
		longest = math.Max(longest, float64(s))
		if float64(s) > limit {
			n++
		}
	}
	return n, longest, typical
}

// finish completes the report when the stream ends.
func (a *analyzer) finish() Report {
	a.r.Ended = time.Now()
	var videoEnd, audioEnd float64 = -1, -1
	if v := a.r.Video; v != nil && len(a.videoTS) > 0 {
		n, longest, typical := gaps(a.videoTS)
		v.Gaps, v.MaxGapMs = n, longest
		span := float64(a.videoTS[len(a.videoTS)-1]-a.videoTS[0]) + typical
		if span > 0 {
			v.FrameRate = round2(float64(len(a.videoTS)) * 1000 / span)
			v.BitrateKbps = round2(float64(a.videoBytes) * 8 / span)
		}
		if len(a.keyTS) > 1 {
			maxGap := 0.0
			for i := 1; i < len(a.keyTS); i++ {
				maxGap = math.Max(maxGap, float64(a.keyTS[i]-a.keyTS[i-1]))
			}
			v.KeyframeIntervalS = round2(float64(a.keyTS[len(a.keyTS)-1]-a.keyTS[0]) / float64(len(a.keyTS)-1) / 1000)
			v.MaxKeyframeGapS = round2(maxGap / 1000)
		}
		videoEnd = float64(a.videoTS[len(a.videoTS)-1]) + typical
		a.r.Duration = math.Max(a.r.Duration, span/1000)
		if v.MissingHeader {
			a.problem("video frames arrived before any sequence header")
		}
		if !v.FirstFrameKeyframe {
			a.problem("the first video frame is not a keyframe")
		}
		if v.Regressions > 0 {
			a.problem("video timestamps went backwards %d times", v.Regressions)
		}
		if v.Gaps > 0 {
			a.problem("video has %d timestamp gaps (longest %.0f ms)", v.Gaps, v.MaxGapMs)
		}
	}
	if au := a.r.Audio; au != nil && len(a.audioTS) > 0 {
		n, longest, typical := gaps(a.audioTS)
		au.Gaps, au.MaxGapMs = n, longest
		span := float64(a.audioTS[len(a.audioTS)-1]-a.audioTS[0]) + typical
		if span > 0 {
			au.BitrateKbps = round2(float64(a.audioBytes) * 8 / span)
		}
		audioEnd = float64(a.audioTS[len(a.audioTS)-1]) + typical
		a.r.Duration = math.Max(a.r.Duration, span/1000)
		if !a.sawAudioHeader && au.Codec == "aac" {
			a.problem("AAC audio arrived without an AudioSpecificConfig")
		}
		if au.Regressions > 0 {
			a.problem("audio timestamps went backwards %d times", au.Regressions)
		}
		if au.Gaps > 0 {
			a.problem("audio has %d timestamp gaps (longest %.0f ms)", au.Gaps, au.MaxGapMs)
		}
	}
	a.r.Latency = percentiles(a.latencies)
	a.r.AudioLatency = percentiles(a.audioLatencies)
	if videoEnd >= 0 && audioEnd >= 0 {
		a.r.AVDriftMs = round2(audioEnd - videoEnd)
	}
	a.r.Duration = round2(a.r.Duration)
	if a.r.Problems == nil {
		a.r.Problems = []string{}
	}
	return a.r
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// String is the report for people: what a streamer checks before going live.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Stream %s/%s: %.1f s\n", r.App, r.Name, r.Duration)
	if v := r.Video; v != nil {
		fmt.Fprintf(&b, "  video: %s %dx%d, %.2f fps, %d frames, keyframe every %.2f s (max %.2f s), %.0f kb/s\n",
			v.Codec, v.Width, v.Height, v.FrameRate, v.Frames, v.KeyframeIntervalS, v.MaxKeyframeGapS, v.BitrateKbps)
		for id := range 256 {
			if n, ok := v.OtherTracks[uint8(id)]; ok {
				fmt.Fprintf(&b, "  video track %d: %d frames\n", id, n)
			}
		}
	} else {
		b.WriteString("  video: none\n")
	}
	if a := r.Audio; a != nil {
		fmt.Fprintf(&b, "  audio: %s %d Hz, %d ch, %d frames, %.0f kb/s\n", a.Codec, a.SampleRate, a.Channels, a.Frames, a.BitrateKbps)
	} else {
		b.WriteString("  audio: none\n")
	}
	fmt.Fprintf(&b, "  A/V drift at end: %+.0f ms\n", r.AVDriftMs)
	if l := r.Latency; l != nil {
		fmt.Fprintf(&b, "  latency capture→ingest: p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, max %.0f ms\n", l.P50Ms, l.P95Ms, l.P99Ms, l.MaxMs)
	}
	if l := r.AudioLatency; l != nil {
		fmt.Fprintf(&b, "  audio latency capture→ingest: p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, max %.0f ms\n", l.P50Ms, l.P95Ms, l.P99Ms, l.MaxMs)
	}
	if r.Recording != "" {
		fmt.Fprintf(&b, "  recorded to %s\n", r.Recording)
	}
	if len(r.Problems) == 0 {
		b.WriteString("  healthy: no problems found\n")
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "  problem: %s\n", p)
	}
	return b.String()
}

// metaNumber is a number from the stream's onMetaData, 0 when absent.
func (a *analyzer) metaNumber(key string) float64 {
	f, _ := a.r.Metadata[key].(float64)
	return f
}
