package encode

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/asticode/go-astiav"

	"github.com/tallystudio/tally/flv"
	"github.com/tallystudio/tally/internal/avmem"
)

// maxHeader bounds what the FLV muxer may write for a header: parameter sets
// are a few hundred bytes, so more is a fault, not a header to keep.
const maxHeader = 1 << 20

// configRecord is the codec configuration record an FLV (Enhanced RTMP)
// sequence header carries for the stream cc encodes: the
// AVCDecoderConfigurationRecord, HEVCDecoderConfigurationRecord or
// AV1CodecConfigurationRecord. libavformat's FLV muxer already builds each
// from the encoder's out-of-band headers, so it writes its file header into
// memory and the record is read back out of the video sequence-start tag.
func configRecord(cc *astiav.CodecContext) ([]byte, error) {
	var mem avmem.Closer
	defer mem.Close()
	var out bytes.Buffer
	pb, err := astiav.AllocIOContext(4096, true, nil, nil, func(b []byte) (int, error) {
		if out.Len()+len(b) > maxHeader {
			return 0, fmt.Errorf("FLV header over %d bytes", maxHeader)
		}
		return out.Write(b)
	})
	if err != nil {
		return nil, fmt.Errorf("config record: %w", err)
	}
	avmem.Own(&mem, pb)
	fc, err := astiav.AllocOutputFormatContext(nil, "flv", "")
	if err != nil {
		return nil, fmt.Errorf("config record: FLV muxer: %w", err)
	}
	avmem.Own(&mem, fc)
	s := fc.NewStream(nil)
	if s == nil {
		return nil, errors.New("config record: cannot add a stream")
	}
	if err := s.CodecParameters().FromCodecContext(cc); err != nil {
		return nil, fmt.Errorf("config record: stream parameters: %w", err)
	}
	fc.SetPb(pb)
	opts := astiav.NewDictionary()
	defer opts.Free()
	_ = opts.Set("flvflags", "no_metadata", 0) // only the sequence header is wanted
	if err := fc.WriteHeader(opts); err != nil {
		return nil, fmt.Errorf("config record: FLV header for %s: %w", cc.CodecID(), err)
	}
	pb.Flush()
	return sequenceStart(out.Bytes())
}

// sequenceStart is the record in the first video tag of an FLV file, which
// must be a sequence header (legacy AVC or Enhanced RTMP SequenceStart).
func sequenceStart(file []byte) ([]byte, error) {
	r, err := flv.NewReader(bytes.NewReader(file), 0)
	if err != nil {
		return nil, fmt.Errorf("config record: %w", err)
	}
	for {
		t, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("config record: the FLV muxer wrote no video sequence header (no out-of-band headers?)")
		}
		if err != nil {
			return nil, fmt.Errorf("config record: %w", err)
		}
		if t.Type != flv.TagVideo {
			continue
		}
		v, err := flv.ParseVideoTag(t.Data)
		if err != nil {
			return nil, fmt.Errorf("config record: %w", err)
		}
		if !v.Header || len(v.Data) == 0 {
			return nil, fmt.Errorf("config record: the first video tag (%s, packet type %d) is no sequence header", v.Codec, v.PacketType)
		}
		return bytes.Clone(v.Data), nil
	}
}
