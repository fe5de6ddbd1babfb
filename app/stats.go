package app

import (
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tallystudio/tally/internal/cputime"
	"github.com/tallystudio/tally/rtmpclient"
)

// Stats is a snapshot of a session, updated once a second. Its JSON form is
// what `tally stream --stats json` prints. It never holds a stream key.
type Stats struct {
	T               float64            `json:"t"` // seconds live
	State           State              `json:"state"`
	FPS             float64            `json:"fps"` // frames encoded per second
	VideoKbps       float64            `json:"video_kbps"`
	TargetKbps      float64            `json:"video_target_kbps"` // the encoder's bitrate now (dynamic bitrate moves it)
	AudioKbps       float64            `json:"audio_kbps"`
	SentKbps        float64            `json:"sent_kbps"` // all destinations together
	QueueMs         float64            `json:"queue_ms"`  // the longest destination queue
	FramesSent      uint64             `json:"frames_sent"`
	DroppedNetwork  uint64             `json:"dropped_network"`
	SkippedEncoding uint64             `json:"skipped_encoding"`
	RepeatedCapture uint64             `json:"repeated_capture"`
	DroppedCapture  uint64             `json:"dropped_capture"`
	DroppedAudioCap uint64             `json:"dropped_audio_capture"`
	Reconnects      uint64             `json:"reconnects"`
	Fallbacks       uint64             `json:"fallbacks"`              // destinations sent H.264 or one track: their server takes no more
	Attempt         int                `json:"attempt,omitempty"`      // while reconnecting
	NextRetryS      float64            `json:"next_retry_s,omitempty"` // while reconnecting: seconds to the next attempt
	CPUPercent      float64            `json:"cpu_percent"`
	SourcesLost     []string           `json:"sources_lost,omitempty"` // sources replaced by a slate or silence
	Scene           string             `json:"scene,omitempty"`        // the scene on air, with scenes
	Sound           []SoundLevel       `json:"sound,omitempty"`        // each scene source's sound, with scenes
	RSSMB           float64            `json:"rss_mb"`                 // resident memory (Linux; 0 elsewhere)
	Goroutines      int                `json:"goroutines"`
	Destinations    []DestinationStats `json:"destinations"`
}

// DestinationStats is one destination's part of Stats.
type DestinationStats struct {
	Server string `json:"server"` // the URL with the key masked
	// Output is the video it gets ("HEVC 1280x720 30 fps 3500 kb/s", or
	// each track's); Fallback why that differs from what was asked.
	Output     string  `json:"output,omitempty"`
	Fallback   string  `json:"fallback,omitempty"`
	State      State   `json:"state"`
	SentKbps   float64 `json:"sent_kbps"`
	QueueMs    float64 `json:"queue_ms"`
	FramesSent uint64  `json:"frames_sent"`
	Dropped    uint64  `json:"dropped"`
	RTTMs      float64 `json:"rtt_ms"`
	BytesSent  uint64  `json:"bytes_sent"`
	Reconnects uint64  `json:"reconnects"`
	Attempt    int     `json:"attempt,omitempty"`
	NextRetryS float64 `json:"next_retry_s,omitempty"`
	Error      string  `json:"error,omitempty"`
}

type statsState struct {
	mu     sync.Mutex
	latest Stats
}

// Stats returns the latest snapshot.
func (s *Session) Stats() Stats {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	st := s.stats.latest
	st.State = s.State()
	if st.State == StateLive {
		st.SourcesLost = s.sources.sourceErrors()
		st.Scene = s.sources.scene()
		st.Sound = s.sources.soundLevels()
	}
	st.Destinations = append([]DestinationStats(nil), st.Destinations...)
	// Live but with every destination away: say so, with the soonest retry.
	if st.State == StateLive && len(s.dests) > 0 {
		away := 0
		st.Attempt, st.NextRetryS = 0, 0
		for _, d := range s.dests {
			ps := d.pub.Stats()
			if ps.State != rtmpclient.StateReconnecting {
				continue
			}
			away++
			next := max(time.Until(ps.NextRetry).Seconds(), 0)
			if st.Attempt == 0 || next < st.NextRetryS {
				st.Attempt, st.NextRetryS = ps.Attempt, round1(next)
			}
		}
		if away == len(s.dests) {
			st.State = StateReconnecting
		} else {
			st.Attempt, st.NextRetryS = 0, 0
		}
	}
	return st
}

// startStats samples the counters once a second until the returned stop is
// called. It is long because one sample reads every counter into one Stats,
// field by field, next to the previous sample it is a rate against.
func (s *Session) startStats() (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		prev := struct {
			at                     time.Time
			cpu                    time.Duration
			frames, vbytes, abytes uint64
			destBytes              []uint64
		}{at: time.Now(), cpu: cputime.Process(), destBytes: make([]uint64, len(s.dests))}
		sample := func(now time.Time, final bool) {
			dt := now.Sub(prev.at).Seconds()
			cpu := cputime.Process()
			frames := s.counter.framesEncoded.Load()
			vb, ab := s.counter.videoBytes.Load(), s.counter.audioBytes.Load()
			st := Stats{
				T:               round1(time.Since(s.start).Seconds()),
				FPS:             round1(float64(frames-prev.frames) / dt),
				TargetKbps:      float64(s.counter.videoTarget.Load() / 1000),
				VideoKbps:       round1(float64(vb-prev.vbytes) * 8 / 1000 / dt),
				AudioKbps:       round1(float64(ab-prev.abytes) * 8 / 1000 / dt),
				SkippedEncoding: s.counter.skippedEncoding.Load(),
				Fallbacks:       s.counter.fallbacks.Load(),
				RepeatedCapture: s.counter.repeatedCapture.Load(),
				DroppedCapture:  s.counter.droppedCapture.Load(),
				DroppedAudioCap: s.counter.droppedAudioCapture.Load(),
				CPUPercent:      round1(float64(cpu-prev.cpu) / float64(now.Sub(prev.at)) * 100),
				RSSMB:           round1(float64(rssBytes()) / (1 << 20)),
				Goroutines:      runtime.NumGoroutine(),
			}
			first := true
			for i, d := range s.dests {
				ps := d.pub.Stats()
				ds := DestinationStats{
					Server:     d.ep.String(),
					Output:     d.output(),
					Fallback:   d.fallback,
					State:      publisherState(ps.State),
					SentKbps:   round1(float64(ps.BytesSent-prev.destBytes[i]) * 8 / 1000 / dt),
					QueueMs:    float64(ps.QueueDuration.Milliseconds()),
					FramesSent: ps.VideoFramesSent,
					Dropped:    ps.DroppedVideo + ps.DroppedAudio,
					RTTMs:      round1(float64(ps.RTT) / float64(time.Millisecond)),
					BytesSent:  ps.BytesSent,
					Reconnects: ps.Reconnects,
				}
				if ps.State == rtmpclient.StateReconnecting {
					ds.Attempt = ps.Attempt
					ds.NextRetryS = round1(max(time.Until(ps.NextRetry).Seconds(), 0))
					ds.Error = ps.LastError
				}
				if err := d.getErr(); err != nil {
					ds.Error = err.Error()
				}
				st.Reconnects += ps.Reconnects
				prev.destBytes[i] = ps.BytesSent
				st.SentKbps += ds.SentKbps
				st.QueueMs = math.Max(st.QueueMs, ds.QueueMs)
				st.DroppedNetwork += ps.DroppedVideo
				// The headline count is the least any destination has sent.
				if first || ps.VideoFramesSent < st.FramesSent {
					st.FramesSent = ps.VideoFramesSent
				}
				first = false
				st.Destinations = append(st.Destinations, ds)
			}
			st.SentKbps = round1(st.SentKbps)
			if final {
				// Rates over the fraction of a second since the last tick
				// mean nothing; the last full second's stand.
				s.stats.mu.Lock()
				keepRates(&st, s.stats.latest)
				s.stats.mu.Unlock()
			}
			prev.at, prev.cpu, prev.frames, prev.vbytes, prev.abytes = now, cpu, frames, vb, ab
			s.stats.mu.Lock()
			s.stats.latest = st
			s.stats.mu.Unlock()
		}
		for {
			select {
			case <-done:
				// One last sample, so the totals read after the session
				// ends are final rather than up to a second old.
				sample(time.Now(), true)
				return
			case now := <-t.C:
				sample(now, false)
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// keepRates copies the per-second rates of prev into st.
func keepRates(st *Stats, prev Stats) {
	st.FPS, st.VideoKbps, st.AudioKbps, st.SentKbps, st.CPUPercent = prev.FPS, prev.VideoKbps, prev.AudioKbps, prev.SentKbps, prev.CPUPercent
	for i := range st.Destinations {
		if i < len(prev.Destinations) {
			st.Destinations[i].SentKbps = prev.Destinations[i].SentKbps
		}
	}
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// rssBytes is the process's resident set, from /proc (0 where there is none).
func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// output describes the video destination d gets, "" without video.
func (d *destination) output() string {
	if d.stream == nil || len(d.stream.tracks) == 0 {
		return ""
	}
	return describeTracks(d.tracks)
}
