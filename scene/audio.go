package scene

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Sources of sound without a picture. A layer that shows one has no box to
// draw: it puts the sound in its scene's mix.
const (
	TypeMicrophone = "microphone" // a microphone or line input
	TypeDesktop    = "desktop"    // what the computer plays: the monitor of an output
	TypeAudioFile  = "audio"      // a sound file (music, alerts)
	TypeTone       = "tone"       // a test tone
)

// AudioOnly says whether a source type has sound and no picture.
func AudioOnly(typ string) bool {
	switch typ {
	case TypeMicrophone, TypeDesktop, TypeAudioFile, TypeTone:
		return true
	}
	return false
}

// HasSound says whether a source type can be heard: the sound-only types
// and media files.
func HasSound(typ string) bool { return AudioOnly(typ) || typ == TypeMedia }

// Audio is how a source's sound enters the mix. A source with sound and no
// Audio is heard at 0 dB, unfiltered.
type Audio struct {
	// GainDB is the fader, MinGainDB..MaxGainDB; MinGainDB is silence (−∞).
	GainDB float64 `json:"gain_db,omitempty"`
	Muted  bool    `json:"muted,omitempty"`
	// SyncMS delays the sound, 0..MaxSyncMS, for a camera whose picture
	// lags its microphone.
	SyncMS int  `json:"sync_ms,omitempty"`
	Mono   bool `json:"mono,omitempty"` // both channels carry the average
	// Global sources play in every scene; the others only while a scene
	// that has them is on air. Microphones and desktop sound are global
	// unless this says otherwise, as in OBS.
	Global  *bool    `json:"global,omitempty"`
	Filters []Filter `json:"filters,omitempty"` // applied in order, before the fader
	// Push makes a microphone answer a hotkey (PushKey) in the studio:
	// PushTalk is heard only while the key is held, PushMute is silenced
	// while it is held. What the key does is momentary and never written
	// here; without a key held (tally stream has none) a push-to-talk
	// microphone is muted, so that it never goes out unasked.
	Push    string `json:"push,omitempty"`
	PushKey string `json:"push_key,omitempty"` // a PushKeys name
}

// Push modes.
const (
	PushTalk = "talk"
	PushMute = "mute"
)

// PushKeys are the keys a push-to-talk or push-to-mute hotkey may be, named
// as the studio's toolkit (Fyne) names them. Keys that type or move in a
// field (Return, arrows), modifiers that begin shortcuts (Ctrl, Alt) and
// locks (Caps Lock reports a press every other tap) are left out.
var PushKeys = func() []string {
	var keys []string
	for i := 1; i <= 12; i++ {
		keys = append(keys, "F"+strconv.Itoa(i))
	}
	for c := 'A'; c <= 'Z'; c++ {
		keys = append(keys, string(c))
	}
	for c := '0'; c <= '9'; c++ {
		keys = append(keys, string(c))
	}
	return append(keys, "Space", "`", "Insert")
}()

// Mutes says whether the source is silent, given whether its push key is
// held.
func (a *Audio) Mutes(held bool) bool {
	if a == nil {
		return false
	}
	switch a.Push {
	case PushTalk:
		return a.Muted || !held
	case PushMute:
		return a.Muted || held
	}
	return a.Muted
}

// Filter is one step of a source's sound processing. Fields a kind does not
// use must be zero; zero fields a kind uses take its defaults.
type Filter struct {
	Kind        string  `json:"kind"`                   // a Filter constant
	ThresholdDB float64 `json:"threshold_db,omitempty"` // noise gate, compressor
	Ratio       float64 `json:"ratio,omitempty"`        // compressor, 1..20
	AttackMS    float64 `json:"attack_ms,omitempty"`    // gate, compressor
	ReleaseMS   float64 `json:"release_ms,omitempty"`   // gate, compressor
	CeilingDB   float64 `json:"ceiling_db,omitempty"`   // limiter
	ReductionDB float64 `json:"reduction_db,omitempty"` // noise suppression
}

// Filter kinds.
const (
	FilterNoiseGate        = "noise_gate"
	FilterCompressor       = "compressor"
	FilterLimiter          = "limiter"
	FilterNoiseSuppression = "noise_suppression"
)

// FilterKinds are the filter kinds, in the order messages list them.
var FilterKinds = []string{FilterNoiseGate, FilterCompressor, FilterLimiter, FilterNoiseSuppression}

// Master is the bus every source is mixed into.
type Master struct {
	GainDB float64 `json:"gain_db,omitempty"` // MinGainDB..MaxGainDB
	// Limiter keeps the sum from clipping (true unless set false), at
	// CeilingDB true peak (DefaultCeilingDB when 0).
	Limiter   *bool   `json:"limiter,omitempty"`
	CeilingDB float64 `json:"ceiling_db,omitempty"`
}

// Ranges and defaults of the sound settings.
const (
	MinGainDB        = -100 // the fader's bottom: silence
	MaxGainDB        = 20
	MaxSyncMS        = 5000
	MaxFilters       = 8 // per source
	DefaultCeilingDB = -1
	MaxFrequency     = 20000 // a tone's highest, Hz
	MaxClockPPM      = 5000  // how far a tone's clock may run fast or slow, ppm: 0.5 %, beyond any real device
)

// IsGlobal says whether the source plays in every scene.
func (a *Audio) IsGlobal(typ string) bool {
	if a != nil && a.Global != nil {
		return *a.Global
	}
	return typ == TypeMicrophone || typ == TypeDesktop
}

// Gain is the master fader in dB.
func (m *Master) Gain() float64 {
	if m == nil {
		return 0
	}
	return m.GainDB
}

// LimiterOn says whether the master limiter runs.
func (m *Master) LimiterOn() bool { return m == nil || m.Limiter == nil || *m.Limiter }

// Ceiling is the master limiter's ceiling in dBFS.
func (m *Master) Ceiling() float64 {
	if m == nil || m.CeilingDB == 0 {
		return DefaultCeilingDB
	}
	return m.CeilingDB
}

// checkAudio checks a source's sound settings, at field ("sources[2].audio").
func checkAudio(field, typ string, a *Audio) *Error {
	if a == nil {
		return nil
	}
	if !HasSound(typ) {
		return invalid(field, "a source of type %s has no sound", typ)
	}
	if e := checkDB(field+".gain_db", a.GainDB, MinGainDB, MaxGainDB); e != nil {
		return e
	}
	if e := checkRange(field+".sync_ms", a.SyncMS, 0, MaxSyncMS, " ms"); e != nil {
		return e
	}
	if e := checkPush(field, typ, a); e != nil {
		return e
	}
	if len(a.Filters) > MaxFilters {
		return invalid(field+".filters", "has %d filters; a source may have at most %d", len(a.Filters), MaxFilters)
	}
	for i := range a.Filters {
		if e := checkFilter(fmt.Sprintf("%s.filters[%d]", field, i), &a.Filters[i]); e != nil {
			return e
		}
	}
	return nil
}

// checkPush checks a push-to-talk or push-to-mute setting: a microphone's
// only, and with a key.
func checkPush(field, typ string, a *Audio) *Error {
	switch {
	case a.Push == "" && a.PushKey == "":
		return nil
	case a.Push == "":
		return invalid(field+".push_key", `a key without push ("talk" or "mute") does nothing`)
	case a.Push != PushTalk && a.Push != PushMute:
		return invalid(field+".push", `must be "talk" or "mute" (got %q)`, a.Push)
	case typ != TypeMicrophone:
		return invalid(field+".push", "push to talk or mute is for microphones, not a %s source", typ)
	case a.PushKey == "":
		return invalid(field+".push_key", "push %s needs a key, e.g. \"F9\" or \"`\"", a.Push)
	case !slices.Contains(PushKeys, a.PushKey):
		return invalid(field+".push_key", "unknown key %q (keys: F1..F12, A..Z, 0..9, Space, `, Insert)", a.PushKey)
	}
	return nil
}

// checkFilter checks one filter's kind, the fields it uses and their ranges.
func checkFilter(field string, f *Filter) *Error {
	uses := map[string][]string{
		FilterNoiseGate:        {"threshold_db", "attack_ms", "release_ms"},
		FilterCompressor:       {"threshold_db", "ratio", "attack_ms", "release_ms"},
		FilterLimiter:          {"ceiling_db"},
		FilterNoiseSuppression: {"reduction_db"},
	}[f.Kind]
	if uses == nil {
		return invalid(field+".kind", "unknown filter %q (known: %s)", f.Kind, strings.Join(FilterKinds, ", "))
	}
	for _, p := range []struct {
		name   string
		v      float64
		lo, hi float64
	}{
		{"threshold_db", f.ThresholdDB, -80, 0},
		{"ratio", f.Ratio, 1, 20},
		{"attack_ms", f.AttackMS, 0.01, 2000},
		{"release_ms", f.ReleaseMS, 0.01, 9000},
		{"ceiling_db", f.CeilingDB, -30, 0},
		{"reduction_db", f.ReductionDB, 0.01, 97},
	} {
		if p.v == 0 {
			continue
		}
		if !slices.Contains(uses, p.name) {
			return invalid(field+"."+p.name, "a %s filter has no %s", f.Kind, p.name)
		}
		lo, hi := p.lo, p.hi
		// Where the mixer's filter takes less than the others of its
		// setting (mix/filter.go): a value it refuses would leave the
		// whole strip's settings, fader too, unapplied.
		switch {
		case f.Kind == FilterCompressor && p.name == "threshold_db":
			lo = -60
		case f.Kind == FilterLimiter && p.name == "ceiling_db":
			lo = -24
		}
		if e := checkDB(field+"."+p.name, p.v, lo, hi); e != nil {
			return e
		}
	}
	return nil
}

// checkMaster checks the master bus.
func checkMaster(m *Master) *Error {
	if m == nil {
		return nil
	}
	if e := checkDB("master.gain_db", m.GainDB, MinGainDB, MaxGainDB); e != nil {
		return e
	}
	if m.CeilingDB != 0 {
		return checkDB("master.ceiling_db", m.CeilingDB, -30, -0.1)
	}
	return nil
}

// checkDB is a number in lo..hi (NaN is not).
func checkDB(field string, v, lo, hi float64) *Error {
	if math.IsNaN(v) || v < lo || v > hi {
		return invalid(field, "must be %s..%s (got %s)", fmtNum(lo), fmtNum(hi), fmtNum(v))
	}
	return nil
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
