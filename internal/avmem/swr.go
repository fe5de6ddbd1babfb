package avmem

/*
#cgo pkg-config: libswresample libavutil
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

// tally_swr_setup (re)configures s for interleaved audio: in_ch channels at
// in_rate in in_fmt to out_ch at out_rate in out_fmt, each side with the
// default layout for its channel count, and initialises it (which drops
// whatever it had buffered). force keeps the resampler in the chain even
// when the rates are equal, so that swr_set_compensation can stretch time
// without re-initialising the context, which would cut the sound.
static int tally_swr_setup(SwrContext *s, int in_ch, int in_rate, int in_fmt,
		int out_ch, int out_rate, int out_fmt, int force) {
	AVChannelLayout il, ol;
	av_channel_layout_default(&il, in_ch);
	av_channel_layout_default(&ol, out_ch);
	int err;
	if ((err = av_opt_set_chlayout(s, "in_chlayout", &il, 0)) < 0 ||
		(err = av_opt_set_int(s, "in_sample_rate", in_rate, 0)) < 0 ||
		(err = av_opt_set_sample_fmt(s, "in_sample_fmt", in_fmt, 0)) < 0 ||
		(err = av_opt_set_chlayout(s, "out_chlayout", &ol, 0)) < 0 ||
		(err = av_opt_set_int(s, "out_sample_rate", out_rate, 0)) < 0 ||
		(err = av_opt_set_sample_fmt(s, "out_sample_fmt", out_fmt, 0)) < 0 ||
		(err = av_opt_set_int(s, "swr_flags", force ? SWR_FLAG_RESAMPLE : 0, 0)) < 0) {
		goto end;
	}
	err = swr_init(s);
end:
	av_channel_layout_uninit(&il);
	av_channel_layout_uninit(&ol);
	return err;
}

// tally_swr_convert runs swr_convert on single-plane (interleaved) buffers:
// the one-element pointer arrays are built here, since Go memory may not
// hold the pointers cgo passes. in_count is never 0 here: a NULL input
// would flush the resampler.
static int tally_swr_convert(SwrContext *s, uint8_t *out, int out_count, const uint8_t *in, int in_count) {
	uint8_t *o[1] = {out};
	const uint8_t *i[1] = {in};
	return swr_convert(s, o, out_count, i, in_count);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// swrContext is the C context behind a go-astiav SoftwareResampleContext,
// read the way swsContext reads the scaler: go-astiav v0.42's
// SoftwareResampleContext holds exactly one field, the *C.SwrContext.
// TestResamplerUsesAstiavContext guards that assumption.
func swrContext(s *astiav.SoftwareResampleContext) *C.SwrContext {
	return *(**C.SwrContext)(unsafe.Pointer(s))
}

// AudioFormat is one side of a Resampler: interleaved (packed) samples.
type AudioFormat struct {
	Rate     int
	Channels int
	Format   astiav.SampleFormat // a packed format: S16, Flt…
}

// bytesPerFrame is the size of one sample of every channel.
func (f AudioFormat) bytesPerFrame() int { return f.Channels * f.Format.BytesPerSample() }

func (f AudioFormat) valid() bool {
	return f.Rate >= 1000 && f.Rate <= 768000 && f.Channels >= 1 && f.Channels <= 64 &&
		!f.Format.IsPlanar() && f.Format.BytesPerSample() > 0
}

// Resampler converts interleaved audio straight between Go slices with
// libswresample: no frame is allocated and nothing is staged, which is what
// lets an audio path run every 10 ms without allocating. go-astiav offers
// only ConvertFrame, between frames, and neither swr_set_compensation nor a
// way to set the context's options; the context itself is go-astiav's, so
// its Free is registered on the Closer the Resampler is made with.
//
// A Resampler is not safe for concurrent use.
type Resampler struct {
	s       *astiav.SoftwareResampleContext
	in, out AudioFormat
}

// NewResampler allocates a resampler from in to out, its context owned by
// mem. The resampling filter always runs, even when the rates are equal, so
// that SetCompensation works at any time.
func NewResampler(mem *Closer, in, out AudioFormat) (*Resampler, error) {
	s := Own(mem, astiav.AllocSoftwareResampleContext())
	if s == nil {
		return nil, errors.New("resampler: out of memory")
	}
	r := &Resampler{s: s}
	if err := r.Reconfigure(in, out); err != nil {
		return nil, err
	}
	return r, nil
}

// Reconfigure makes r convert from in to out, keeping its context. What it
// had buffered is dropped and any compensation ends.
func (r *Resampler) Reconfigure(in, out AudioFormat) error {
	if !in.valid() || !out.valid() {
		return fmt.Errorf("resampler: %d Hz × %d %s to %d Hz × %d %s: want packed formats, 1–64 channels",
			in.Rate, in.Channels, in.Format, out.Rate, out.Channels, out.Format)
	}
	c := swrContext(r.s)
	if c == nil {
		return errors.New("resampler: freed")
	}
	if err := C.tally_swr_setup(c, C.int(in.Channels), C.int(in.Rate), C.int(in.Format),
		C.int(out.Channels), C.int(out.Rate), C.int(out.Format), 1); err < 0 {
		r.in, r.out = AudioFormat{}, AudioFormat{}
		return fmt.Errorf("resampler: %d Hz × %d to %d Hz × %d: %w", in.Rate, in.Channels, out.Rate, out.Channels, astiav.Error(err))
	}
	r.in, r.out = in, out
	return nil
}

// In and Out are the formats r converts between.
func (r *Resampler) In() AudioFormat  { return r.in }
func (r *Resampler) Out() AudioFormat { return r.out }

// Convert resamples the whole frames in src into dst and returns how many
// frames it wrote. What does not fit in dst, and what the filter still needs
// future input for, stays buffered for the next call; MaxOut says how much
// room a call needs for nothing to be held back.
func (r *Resampler) Convert(dst, src []byte) (int, error) {
	c := swrContext(r.s)
	if c == nil || r.in.Rate == 0 {
		return 0, errors.New("resampler: not configured")
	}
	inN, outN := len(src)/r.in.bytesPerFrame(), len(dst)/r.out.bytesPerFrame()
	if inN == 0 || outN == 0 {
		return 0, nil
	}
	n := C.tally_swr_convert(c, (*C.uint8_t)(unsafe.Pointer(&dst[0])), C.int(outN),
		(*C.uint8_t)(unsafe.Pointer(&src[0])), C.int(inN))
	if n < 0 {
		return 0, fmt.Errorf("resampler: %w", astiav.Error(n))
	}
	return int(n), nil
}

// MaxOut is the most frames a Convert of inFrames can return (libswresample's
// own upper bound, compensation included).
func (r *Resampler) MaxOut(inFrames int) int {
	c := swrContext(r.s)
	if c == nil || r.in.Rate == 0 {
		return 0
	}
	n := C.swr_get_out_samples(c, C.int(inFrames))
	if n < 0 {
		return 0
	}
	return int(n)
}

// SetCompensation stretches time by delta output frames over the next
// distance output frames (swr_set_compensation): a positive delta makes more
// output from the same input, a negative one less. After distance frames the
// ratio returns to the nominal one, so a caller keeping a correction in
// force sets it again before then.
func (r *Resampler) SetCompensation(delta, distance int) error {
	c := swrContext(r.s)
	if c == nil || r.in.Rate == 0 {
		return errors.New("resampler: not configured")
	}
	if err := C.swr_set_compensation(c, C.int(delta), C.int(distance)); err < 0 {
		return fmt.Errorf("resampler: compensation %d over %d: %w", delta, distance, astiav.Error(err))
	}
	return nil
}

// Delay is how much input the resampler holds, in 1/base seconds.
func (r *Resampler) Delay(base int64) int64 {
	c := swrContext(r.s)
	if c == nil || r.in.Rate == 0 {
		return 0
	}
	return int64(C.swr_get_delay(c, C.int64_t(base)))
}
