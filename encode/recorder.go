package encode

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/asticode/go-astiav"

	"github.com/tallystudio/tally/internal/avmem"
)

// Recorder writes the encoded stream to a local file (FLV, MP4 or MKV, chosen
// by the file's extension) through libav's muxers. It is independent of the
// network: a recording survives any outage of the destinations.
type Recorder struct {
	path   string
	fc     *astiav.FormatContext
	pkt    *astiav.Packet
	video  *astiav.Stream
	audio  *astiav.Stream
	vtb    astiav.Rational
	atb    astiav.Rational
	closed bool
	mem    *avmem.Closer // frees pkt, the file's IOContext and fc
}

// hvc1 is the MP4 sample entry for HEVC with out-of-band parameter sets, as
// libavformat's MKTAG spells it (first letter lowest).
const hvc1 = astiav.CodecTag('h' | 'v'<<8 | 'c'<<16 | '1'<<24)

// recorderFormats are the containers a recording can be written as.
var recorderFormats = []string{".flv", ".mp4", ".mkv"}

// CanRecord tells whether a recording can be written to path: its extension
// names a container the Recorder writes (.flv, .mp4 or .mkv).
func CanRecord(path string) bool {
	return slices.Contains(recorderFormats, strings.ToLower(filepath.Ext(path)))
}

// NewRecorder creates the file and writes its header. Either encoder may be
// nil. It may be called while the encoders are at work, on any goroutine:
// a recording can start mid-stream (then at a keyframe, see app).
func NewRecorder(path string, v *VideoEncoder, a *AudioEncoder) (*Recorder, error) {
	if !CanRecord(path) {
		return nil, fmt.Errorf("record: %q: use a file ending in .flv, .mp4 or .mkv", path)
	}
	r := &Recorder{path: path}
	var mem avmem.Closer
	defer mem.Close() // frees what is allocated when a step fails
	fc, err := astiav.AllocOutputFormatContext(nil, "", path)
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", path, err)
	}
	r.fc = avmem.Own(&mem, fc)
	if v != nil {
		if r.video, err = r.addStream(v.params, v.tb); err != nil {
			return nil, err
		}
		if v.params.CodecID() == astiav.CodecIDHevc && fc.OutputFormat().Name() == "mp4" {
			// libavformat tags HEVC hev1 (parameter sets may come in band);
			// Apple's players take only hvc1, which says they are all in the
			// sample entry, as the encoder's out-of-band headers are.
			r.video.CodecParameters().SetCodecTag(hvc1)
		}
		r.vtb = v.tb
	}
	if a != nil {
		if r.audio, err = r.addStream(a.params, a.tb); err != nil {
			return nil, err
		}
		r.atb = a.tb
	}
	if !fc.OutputFormat().Flags().Has(astiav.IOFormatFlagNofile) {
		pb, err := astiav.OpenIOContext(path, astiav.NewIOContextFlags(astiav.IOContextFlagWrite), nil, nil)
		if err != nil {
			return nil, fmt.Errorf("record: create %s: %w", path, err)
		}
		mem.Add(func() { _ = pb.Close() })
		fc.SetPb(pb)
	}
	if err := fc.WriteHeader(nil); err != nil {
		return nil, fmt.Errorf("record %s: write header: %w", path, err)
	}
	r.pkt = avmem.Own(&mem, astiav.AllocPacket())
	r.mem = mem.Move()
	return r, nil
}

func (r *Recorder) addStream(params *astiav.CodecParameters, tb astiav.Rational) (*astiav.Stream, error) {
	s := r.fc.NewStream(nil)
	if s == nil {
		return nil, errors.New("record: cannot add a stream")
	}
	if err := params.Copy(s.CodecParameters()); err != nil {
		return nil, fmt.Errorf("record: stream parameters: %w", err)
	}
	s.SetTimeBase(tb)
	return s, nil
}

// WriteVideo writes one video packet; times are relative to the recording's start.
func (r *Recorder) WriteVideo(p Packet) error { return r.write(r.video, r.vtb, p) }

// WriteAudio writes one audio packet.
func (r *Recorder) WriteAudio(p Packet) error { return r.write(r.audio, r.atb, p) }

func (r *Recorder) write(s *astiav.Stream, tb astiav.Rational, p Packet) error {
	if r.closed || s == nil {
		return nil
	}
	if err := r.pkt.FromData(p.Data); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	defer r.pkt.Unref()
	r.pkt.SetPts(toTicks(p.PTS, tb))
	r.pkt.SetDts(toTicks(p.DTS, tb))
	if p.Keyframe {
		r.pkt.SetFlags(r.pkt.Flags().Add(astiav.PacketFlagKey))
	}
	r.pkt.SetStreamIndex(s.Index())
	// The muxer's stream time base may differ from the encoder's (FLV uses ms).
	r.pkt.RescaleTs(tb, s.TimeBase())
	if err := r.fc.WriteInterleavedFrame(r.pkt); err != nil {
		return fmt.Errorf("record %s: %w", r.path, err)
	}
	return nil
}

// toTicks converts a duration to time base tb, rounding to the nearest tick: a
// frame time like 33.333… ms is stored truncated, and truncating again would
// land it on the previous frame's tick.
func toTicks(d time.Duration, tb astiav.Rational) int64 {
	den := int64(time.Second) * int64(tb.Num())
	n := int64(d) * int64(tb.Den())
	if n < 0 {
		return -((-n + den/2) / den)
	}
	return (n + den/2) / den
}

// Close finishes the file (the trailer makes an MP4 playable) and frees libav's
// objects. Safe to call twice.
func (r *Recorder) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.fc.WriteTrailer()
	r.mem.Close()
	if err != nil {
		return fmt.Errorf("record %s: finish: %w", r.path, err)
	}
	return nil
}
