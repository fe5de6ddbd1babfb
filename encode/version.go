// Package encode turns raw frames and samples into H.264, HEVC or AV1 and AAC
// packets through libav (github.com/asticode/go-astiav, FFmpeg 8).
package encode

/*
#cgo pkg-config: libavcodec libavformat libavutil libswscale libswresample
#include <stdlib.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>

static int tally_codec_is_hardware(const char *name) {
	const AVCodec *c = avcodec_find_encoder_by_name(name);
	return c != NULL && (c->capabilities & AV_CODEC_CAP_HARDWARE) != 0;
}
*/
import "C"

import (
	"fmt"
	"os"
	"sort"
	"unsafe"

	"github.com/asticode/go-astiav"
)

func init() {
	// libav logs statistics and progress at info level to stderr; Tally reports
	// what matters itself, so only libav's errors get through.
	astiav.SetLogLevel(astiav.LogLevelError)
	// SVT-AV1 logs through its own logger, not libav's: a dozen lines of
	// banner and configuration on stderr each time an encoder opens (Probe
	// opens one), unless SVT_LOG, read as each encoder opens, says
	// otherwise. 1 keeps its errors. A user's own SVT_LOG wins.
	if _, ok := os.LookupEnv("SVT_LOG"); !ok {
		_ = os.Setenv("SVT_LOG", "1")
	}
}

// Library is one libav library as loaded at run time, which may differ from the
// headers Tally was compiled against when the shared libraries are swapped.
type Library struct {
	Name    string
	Version string
}

// FFmpegVersion is FFmpeg's own version string of the loaded libraries.
func FFmpegVersion() string {
	return C.GoString(C.av_version_info())
}

// Libraries reports the run-time versions of the libav libraries Tally uses.
func Libraries() []Library {
	v := func(name string, n C.uint) Library {
		return Library{Name: name, Version: fmt.Sprintf("%d.%d.%d", n>>16, (n>>8)&0xff, n&0xff)}
	}
	return []Library{
		v("libavcodec", C.avcodec_version()),
		v("libavformat", C.avformat_version()),
		v("libavutil", C.avutil_version()),
		v("libswscale", C.swscale_version()),
		v("libswresample", C.swresample_version()),
	}
}

// EncoderInfo describes an encoder that libav has compiled in. Whether it opens
// on this machine (a GPU may be absent) is a separate question; see Probe.
type EncoderInfo struct {
	Name     string // libav's name, e.g. "libx264"
	Codec    string // "h264", "aac", "hevc", "av1"
	LongName string
	Hardware bool
}

// streamCodecs are the codecs an RTMP destination can carry (HEVC and AV1 through
// Enhanced RTMP).
var streamCodecs = map[astiav.CodecID]string{
	astiav.CodecIDH264: "h264",
	astiav.CodecIDHevc: "hevc",
	astiav.CodecIDAv1:  "av1",
	astiav.CodecIDAac:  "aac",
}

// Encoders lists the libav encoders for codecs Tally can stream, as libav reports them.
func Encoders() []EncoderInfo {
	var out []EncoderInfo
	for _, c := range astiav.Codecs() {
		codec, ok := streamCodecs[c.ID()]
		if !ok || !c.IsEncoder() {
			continue
		}
		name := C.CString(c.Name())
		hw := C.tally_codec_is_hardware(name) != 0
		C.free(unsafe.Pointer(name))
		out = append(out, EncoderInfo{Name: c.Name(), Codec: codec, LongName: c.LongName(), Hardware: hw})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Codec != out[j].Codec {
			return out[i].Codec < out[j].Codec
		}
		return out[i].Name < out[j].Name
	})
	return out
}
