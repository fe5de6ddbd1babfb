package mix

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The filter kinds a strip can run, in the order the user puts them.
const (
	NoiseGate        = "noise_gate"        // libavfilter agate
	Compressor       = "compressor"        // acompressor
	Limiter          = "limiter"           // alimiter
	NoiseSuppression = "noise_suppression" // afftdn
)

// Filter is one filter of a strip. A zero number means that filter's
// default; fields another kind uses are ignored.
type Filter struct {
	Kind string
	// ThresholdDB is where a gate closes or a compressor starts (dBFS):
	// gate -80..0, default -40; compressor -60..0, default -18.
	ThresholdDB float64
	// Ratio is a compressor's ratio (1..20, default 4), or how steeply a gate
	// attenuates below its threshold (1..9000, default 10: each dB under the
	// threshold takes nine more off, down to the gate's range, -80 dB).
	Ratio float64
	// AttackMS and ReleaseMS: gate 5 and 250 ms by default (0.01..9000),
	// compressor 20 and 250 (0.01..2000, 0.01..9000), limiter 5 and 50
	// (0.1..80, 1..8000).
	AttackMS, ReleaseMS float64
	// CeilingDB is a limiter's ceiling (dBFS, -24..0, default -1).
	CeilingDB float64
	// ReductionDB is how much noise suppression takes off the noise
	// (afftdn nr: 0.01..97 dB, default 12).
	ReductionDB float64
	// NoiseFloorDB is the level of the noise to suppress (afftdn nf: -80..-20
	// dBFS, default -50, a typical microphone's hiss). afftdn's own noise
	// tracking does not find a floor far from this one, so a noisier
	// source needs it set.
	NoiseFloorDB float64
}

// gateRangeDB is how far a closed gate turns a source down: far enough to be
// silence, where libavfilter's default (-24 dB) leaves a hum audible.
const gateRangeDB = -80

// chainFor is the libavfilter chain for fs, "" for none, or an error naming
// the first filter that is not valid.
func chainFor(fs []Filter) (string, error) {
	parts := make([]string, 0, len(fs))
	for i, f := range fs {
		p, err := f.spec()
		if err != nil {
			return "", fmt.Errorf("filter %d: %w", i+1, err)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ","), nil
}

// spec is f as one libavfilter filter with its options. Levels go to
// libavfilter as linear amplitudes, which is what these filters take.
func (f Filter) spec() (string, error) {
	var o opts
	switch f.Kind {
	case NoiseGate:
		o.level(f, "threshold", f.ThresholdDB, -40, -80, 0)
		o.num(f, "ratio", f.Ratio, 10, 1, 9000)
		o.num(f, "attack", f.AttackMS, 5, 0.01, 9000)
		o.num(f, "release", f.ReleaseMS, 250, 0.01, 9000)
		o.add("range", dbToGain(gateRangeDB))
		return "agate=" + o.String(), o.err
	case Compressor:
		o.level(f, "threshold", f.ThresholdDB, -18, -60, 0)
		o.num(f, "ratio", f.Ratio, 4, 1, 20)
		o.num(f, "attack", f.AttackMS, 20, 0.01, 2000)
		o.num(f, "release", f.ReleaseMS, 250, 0.01, 9000)
		return "acompressor=" + o.String(), o.err
	case Limiter:
		o.level(f, "limit", f.CeilingDB, -1, -24, 0)
		o.num(f, "attack", f.AttackMS, 5, 0.1, 80)
		o.num(f, "release", f.ReleaseMS, 50, 1, 8000)
		// level=0: alimiter otherwise turns its output up to the ceiling.
		o.b.WriteString(":level=0")
		return "alimiter=" + o.String(), o.err
	case NoiseSuppression:
		o.num(f, "nr", f.ReductionDB, 12, 0.01, 97)
		o.num(f, "nf", f.NoiseFloorDB, -50, -80, -20)
		return "afftdn=" + o.String(), o.err
	}
	return "", fmt.Errorf("unknown kind %q (want %s, %s, %s or %s)", f.Kind, NoiseGate, Compressor, Limiter, NoiseSuppression)
}

// opts builds a filter's option string, keeping the first error.
type opts struct {
	b   strings.Builder
	err error
}

func (o *opts) add(name string, v float64) {
	if o.b.Len() > 0 {
		o.b.WriteByte(':')
	}
	o.b.WriteString(name)
	o.b.WriteByte('=')
	o.b.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
}

// num adds option name from v, def when v is 0, after checking the range.
func (o *opts) num(f Filter, name string, v, def, lo, hi float64) {
	if v == 0 {
		v = def
	}
	if math.IsNaN(v) || v < lo || v > hi {
		if o.err == nil {
			o.err = fmt.Errorf("%s %s %g out of range %g..%g", f.Kind, name, v, lo, hi)
		}
		return
	}
	o.add(name, v)
}

// level is num for a level in dBFS, which libavfilter takes as a linear
// amplitude.
func (o *opts) level(f Filter, name string, db, def, lo, hi float64) {
	if db == 0 {
		db = def
	}
	if math.IsNaN(db) || db < lo || db > hi {
		if o.err == nil {
			o.err = fmt.Errorf("%s %s %g dBFS out of range %g..%g", f.Kind, name, db, lo, hi)
		}
		return
	}
	o.add(name, dbToGain(db))
}

func (o *opts) String() string { return o.b.String() }
