package encode

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/asticode/go-astiav"
)

// x264Presets are x264's preset names, fastest first; libx265 takes the same.
var x264Presets = []string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"}

// svtPresets maps x264's preset names onto SVT-AV1's numbered presets
// (13 fastest, -2 slowest). SVT-AV1 1.4's 12 is about x264 ultrafast's place
// (the fastest that still looks like video at streaming rates; 13 is meant for
// testing), and every step down costs roughly as x264's do.
var svtPresets = map[string]int{
	"ultrafast": 12, "superfast": 11, "veryfast": 10, "faster": 9, "fast": 8,
	"medium": 7, "slow": 6, "slower": 5, "veryslow": 4, "placebo": 2,
}

// svtPreset is SVT-AV1's preset for an x264 preset name or a number.
func svtPreset(p string) (int, error) {
	if n, ok := svtPresets[p]; ok {
		return n, nil
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < -2 || n > 13 {
		return 0, fmt.Errorf("encode: SVT-AV1 preset %q: want one of %s, or a number from -2 to 13", p, strings.Join(x264Presets, ", "))
	}
	return n, nil
}

// encoderOptions are the private options cfg asks of the encoder: what
// keeps keyframes exactly gop frames apart in closed GOPs (so that renditions
// of the same frames cut on the same frame numbers), forced keyframes as
// IDR, and the constant rate ingests want, said in each encoder's terms. The
// caller frees the dictionary.
func encoderOptions(cfg VideoConfig, codec *astiav.Codec, gop int) (*astiav.Dictionary, error) {
	opts := astiav.NewDictionary()
	set := func(k, v string) {
		if v != "" {
			_ = opts.Set(k, v, 0)
		}
	}
	keyint := "keyint=" + strconv.Itoa(gop) + ":min-keyint=" + strconv.Itoa(gop) + ":scenecut=0"
	switch cfg.Encoder {
	case "libx264", "libx265":
		if !slices.Contains(x264Presets, cfg.Preset) {
			opts.Free()
			return nil, fmt.Errorf("encode: %s preset %q: want one of %s", cfg.Encoder, cfg.Preset, strings.Join(x264Presets, ", "))
		}
		set("preset", cfg.Preset)
		set("tune", cfg.Tune)
		set("forced-idr", "1") // a reconnect or a new viewer can start there
		set("udu_sei", "1")    // carry the capture-time SEI (see Encode)
	}
	switch cfg.Encoder {
	case "libx264":
		set("profile", cfg.Profile)
		// Scene-cut keyframes would be counted against the interval by
		// ingests; nal-hrd=cbr pads to a truly constant rate.
		params := keyint + ":force-cfr=1"
		if !cfg.Adjustable {
			params += ":nal-hrd=cbr"
		}
		set("x264-params", params)
	case "libx265":
		// x265 writes a version-and-options SEI into the first frame unless
		// told not to: bytes no decoder wants. strict-cbr holds the rate close
		// to the target over short windows, as x264's CBR does.
		set("x265-params", keyint+":open-gop=0:strict-cbr=1:info=0:log-level=error")
	case "libsvtav1":
		p, err := svtPreset(cfg.Preset)
		if err != nil {
			opts.Free()
			return nil, err
		}
		set("preset", strconv.Itoa(p))
		// SVT-AV1 1.4 takes CBR (what bit_rate = maxrate asks of it) only in
		// its low-delay prediction structure, which never reorders frames, so
		// cfg.BFrames and cfg.Tune have no say here.
		set("svtav1-params", "pred-struct=1:rc=2:scd=0")
	default:
		if codec.ID() == astiav.CodecIDH264 {
			set("profile", cfg.Profile)
		}
	}
	return opts, nil
}

// quirks are what an encoder needs done its own way.
type quirks struct {
	// fixedRate: the encoder keeps its first bitrate. FFmpeg's libx265 and
	// libsvtav1 wrappers read the rate only when they open, where libx264's
	// reconfigures x264 when it changes between frames.
	fixedRate bool
	// restartForKey: a forced keyframe takes a fresh codec context, whose
	// first frame is a keyframe. SVT-AV1 1.4 forces keyframes only in
	// random-access CRF or CQP, never in the low-delay CBR a live stream needs.
	restartForKey bool
	// endBeforeFree: the encoder must have been sent a frame and the end of
	// the stream before it is freed (SVT-AV1 1.4; see closeCodec).
	endBeforeFree bool
}

func quirksOf(encoder string) quirks {
	switch encoder {
	case "libx265":
		return quirks{fixedRate: true}
	case "libsvtav1":
		return quirks{fixedRate: true, restartForKey: true, endBeforeFree: true}
	}
	return quirks{}
}
