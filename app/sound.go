package app

import (
	"io"
	"math"
	"sync"
	"time"

	"github.com/tallystudio/tally/mix"
	"github.com/tallystudio/tally/scene"
)

// sceneSound is the program's sound when it is the scene collection's: the
// mixer's output, a 10 ms block at a time in real time. The program reads it
// like any other audio source, through an audioFeed, so the meter, the taps
// and a session take the mix and nothing downstream knows about it.
type sceneSound struct {
	mixer *mix.Mixer
	start time.Time // when the first block was due
	n     int64     // blocks mixed
	quit  chan struct{}
	once  sync.Once
}

// sound is the mix of the collection's sources, as an audio source.
func (r *sceneReader) sound() *sceneSound {
	return &sceneSound{mixer: r.mixer, quit: make(chan struct{})}
}

// soundBlock is the mixer's block.
const soundBlock = time.Second * mix.BlockFrames / mix.Rate

// soundCatchUp is how far behind the wall clock the mix may fall (a stalled
// process) before it gives the lost time up rather than mixing it in a burst.
const soundCatchUp = 200 * time.Millisecond

// Read mixes the next block once it is due.
func (s *sceneSound) Read(dst []int16) ([]int16, error) {
	now := time.Now()
	if s.start.IsZero() {
		s.start = now
	}
	due := s.start.Add(time.Duration(s.n+1) * soundBlock)
	if now.Sub(due) > soundCatchUp {
		s.start = now.Add(-time.Duration(s.n+1) * soundBlock)
		due = now
	}
	if wait := time.Until(due); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-s.quit:
			t.Stop()
			return dst, io.EOF
		case <-t.C:
		}
	}
	select {
	case <-s.quit:
		return dst, io.EOF
	default:
	}
	dst = append(dst[:0], make([]int16, mix.BlockFrames*mix.Channels)...)
	if err := s.mixer.Mix(dst); err != nil {
		return dst, err
	}
	s.n++
	return dst, nil
}

// Latency is how long the mixer holds a source's sound (see mix.Latency).
func (s *sceneSound) Latency() time.Duration { return mix.Latency }

// Format is the mixer's.
func (s *sceneSound) Format() (int, int) { return mix.Rate, mix.Channels }

// Close ends a pending Read with io.EOF; the mixer is the scene reader's.
func (s *sceneSound) Close() error {
	s.once.Do(func() { close(s.quit) })
	return nil
}

// stripConfig is a source's sound settings as the mixer takes them.
func stripConfig(a *scene.Audio) mix.StripConfig {
	if a == nil {
		return mix.StripConfig{}
	}
	gain := a.GainDB
	if gain <= scene.MinGainDB {
		gain = math.Inf(-1)
	}
	// No push key is held here: the studio says a key is held by handing
	// over a collection without the push (talk) or muted (mute).
	c := mix.StripConfig{GainDB: gain, Muted: a.Mutes(false), SyncMS: a.SyncMS, Mono: a.Mono}
	for _, f := range a.Filters {
		c.Filters = append(c.Filters, mix.Filter{Kind: f.Kind, ThresholdDB: f.ThresholdDB, Ratio: f.Ratio,
			AttackMS: f.AttackMS, ReleaseMS: f.ReleaseMS, CeilingDB: f.CeilingDB, ReductionDB: f.ReductionDB})
	}
	return c
}

// SoundLevel is one source's sound in the stats: its level after its fader.
type SoundLevel struct {
	Source        string  `json:"source"`
	PeakDB        float64 `json:"peak_db"`
	RMSDB         float64 `json:"rms_db"`
	Muted         bool    `json:"muted,omitempty"`
	CorrectionPPM float64 `json:"correction_ppm"` // how much its clock is corrected against the program's
	// Lost says why the source went silent: its device disappeared or its
	// file broke. The others play on; this one sends silence.
	Lost string `json:"lost,omitempty"`
}

// soundLevels is each sound source's level, in the collection's order.
func (r *sceneReader) soundLevels() []SoundLevel {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []SoundLevel
	for _, s := range r.col.Sources {
		src := r.sources[s.Name]
		if src == nil || src.strip == nil {
			continue
		}
		l, st := src.strip.Level(), src.strip.Stats()
		lvl := SoundLevel{Source: s.Name, PeakDB: finiteDB(l.PeakDB), RMSDB: finiteDB(l.RMSDB),
			Muted: s.Audio.Mutes(false), CorrectionPPM: math.Round(st.CorrectionPPM*10) / 10}
		if err := src.sound.lostErr(); err != nil {
			lvl.Lost = err.Error()
		}
		out = append(out, lvl)
	}
	return out
}

// lostErr is why the feed's device failed; nil while it runs.
func (f *feed[T]) lostErr() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lost
}

// finiteDB keeps JSON valid: silence is reported as -120 dB, not -Inf.
func finiteDB(db float64) float64 {
	if math.IsInf(db, -1) || db < -120 {
		return -120
	}
	return math.Round(db*10) / 10
}

// MixLevels are the mixer's meters as the studio's mixer panel shows them.
type MixLevels struct {
	// Sources is each sound source's level after its fader, in the
	// collection's order; nil when the video is not scenes.
	Sources []SoundLevel
	// Master is the sum after the master fader and limiter: what the
	// program's sound is when it is the mix.
	Master Level
}

// SoundLevels reads the mixer's meters; all silent when the video is not
// scenes. The meters move only while the mix is the program's sound: only
// then is anything mixed.
func (e *Engine) SoundLevels() MixLevels { return e.prog.mixLevels() }

// mixLevels is the scene mixer's meters, silent without scenes.
func (p *program) mixLevels() MixLevels {
	p.mu.Lock()
	sc := p.scenes
	p.mu.Unlock()
	if sc == nil {
		return MixLevels{Master: silence}
	}
	l := sc.mixer.MasterLevel()
	return MixLevels{Sources: sc.soundLevels(), Master: Level{PeakDB: l.PeakDB, RMSDB: l.RMSDB}}
}
