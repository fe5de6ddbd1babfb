package avmem

/*
#cgo pkg-config: libavfilter libavutil
#include <libavfilter/buffersink.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/samplefmt.h>

// tally_sink_frame takes the next frame out of a buffersink: 1 with one, 0
// when none is ready yet or the graph has ended, or an error.
static int tally_sink_frame(AVFilterContext *sink, AVFrame *f) {
	int err = av_buffersink_get_frame_flags(sink, f, 0);
	if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return 0;
	return err < 0 ? err : 1;
}

static int tally_sink_rate(AVFilterContext *sink) { return av_buffersink_get_sample_rate(sink); }

typedef struct { uint8_t *data; int size; } tally_samples;

// tally_frame_samples is the interleaved samples of an audio frame, returned
// by value: a pointer to a Go result would make cgo move it to the heap, an
// allocation per call.
static tally_samples tally_frame_samples(const AVFrame *f) {
	tally_samples s = {NULL, 0};
	if (!f->data[0] || f->nb_samples <= 0 || av_sample_fmt_is_planar(f->format)) return s;
	int bps = av_get_bytes_per_sample(f->format);
	if (bps <= 0) return s;
	s.data = f->data[0];
	s.size = f->nb_samples * f->ch_layout.nb_channels * bps;
	return s;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// filterContext is the C filter behind a go-astiav FilterContext, whose one
// field in v0.42 is the *C.AVFilterContext. TestSinkFrameUsesAstiavFilter
// guards that assumption.
func filterContext(fc *astiav.FilterContext) *C.AVFilterContext {
	if fc == nil {
		return nil
	}
	return *(**C.AVFilterContext)(unsafe.Pointer(fc))
}

// SinkFrame moves the next frame the graph has ready at sink into f, which
// must hold none: false when there is none yet (EAGAIN) or none any more
// (EOF). go-astiav's GetFrame reports those two as errors, and an error made
// from a negative code is an allocation: one per call, in a loop that an
// audio path runs for every block.
func SinkFrame(sink *astiav.BuffersinkFilterContext, f *astiav.Frame) (bool, error) {
	c := filterContext(sink.FilterContext())
	if c == nil {
		return false, errors.New("buffersink: freed")
	}
	n := C.tally_sink_frame(c, avFrame(f))
	if n < 0 {
		return false, fmt.Errorf("buffersink: %w", astiav.Error(n))
	}
	return n == 1, nil
}

// sinkRate is the sample rate of sink's input, read through the C pointer
// filterContext takes: for the test that guards it.
func sinkRate(sink *astiav.BuffersinkFilterContext) int {
	return int(C.tally_sink_rate(filterContext(sink.FilterContext())))
}

// Samples is the interleaved (packed) samples of an audio frame, read in
// place: nb_samples × channels × bytes per sample of C memory, valid until f
// is unreferenced or freed; nil for a planar or empty frame. Unlike Plane it
// does not allocate, for a loop run every 10 ms.
func Samples(f *astiav.Frame) []byte {
	s := C.tally_frame_samples(avFrame(f))
	if s.data == nil || s.size <= 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(s.data)), int(s.size))
}
