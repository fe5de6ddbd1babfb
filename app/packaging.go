package app

import (
	"fmt"
	"time"

	"github.com/tallystudio/tally/encode"
	"github.com/tallystudio/tally/flv"
	"github.com/tallystudio/tally/rtmpclient"
	"github.com/tallystudio/tally/rtmpclient/amf"
)

// FLV packaging: what the encoders give becomes FLV tag bodies for the
// publishers (through the interleaver) and packets for the recording.

// tsOffset shifts every stream timestamp forward so that the first B-frames'
// decode times and the AAC encoder's priming (both before zero) stay positive,
// as FLV requires, without moving audio against video.
const tsOffset = 200 * time.Millisecond

// metadata is the stream's onMetaData: what each encoder was opened with.
func (s *Session) metadata(venc *encode.VideoEncoder, aenc *encode.AudioEncoder) amf.ECMAArray {
	m := amf.ECMAArray{}
	if venc != nil {
		c := venc.Config()
		m = append(m,
			amf.Property{Key: "width", Value: float64(c.Width)},
			amf.Property{Key: "height", Value: float64(c.Height)},
			amf.Property{Key: "framerate", Value: float64(c.FPS)},
			amf.Property{Key: "videodatarate", Value: float64(c.Bitrate) / 1000},
			amf.Property{Key: "videocodecid", Value: float64(flv.CodecAVC)})
	}
	if aenc != nil {
		c := aenc.Config()
		m = append(m,
			amf.Property{Key: "audiodatarate", Value: float64(c.Bitrate) / 1000},
			amf.Property{Key: "audiosamplerate", Value: float64(c.SampleRate)},
			amf.Property{Key: "audiosamplesize", Value: 16.0},
			amf.Property{Key: "audiochannels", Value: float64(c.Channels)},
			amf.Property{Key: "stereo", Value: c.Channels == 2},
			amf.Property{Key: "audiocodecid", Value: float64(flv.SoundAAC)})
	}
	return append(m, amf.Property{Key: "encoder", Value: "Tally " + Version})
}

// writeHeaders sends the sequence headers built from the encoders' extradata.
func (s *Session) writeHeaders(venc *encode.VideoEncoder, aenc *encode.AudioEncoder) error {
	if venc != nil {
		var sps, pps []byte
		flv.SplitAnnexB(venc.Extradata(), func(n []byte) {
			switch n[0] & 0x1f {
			case flv.NALSPS:
				sps = n
			case flv.NALPPS:
				pps = n
			}
		})
		rec, err := flv.AVCDecoderConfigurationRecord(sps, pps)
		if err != nil {
			return fmt.Errorf("video sequence header: %w", err)
		}
		s.il.Push(rtmpclient.Packet{Type: rtmpclient.TypeVideo, Header: true,
			Payload: flv.AppendAVCTag(nil, true, flv.AVCSequenceHeader, 0, rec)})
	}
	if aenc != nil {
		s.il.Push(rtmpclient.Packet{Type: rtmpclient.TypeAudio, Header: true,
			Payload: flv.AppendAACTag(nil, flv.AACSequenceHeader, aenc.Extradata())})
	}
	return nil
}

func (s *Session) emitVideo(p encode.Packet) {
	p.PTS += tsOffset
	p.DTS += tsOffset
	frame := flv.AppendAVCC(nil, p.Data)
	dts := p.DTS.Milliseconds()
	cts := int32(p.PTS.Milliseconds() - dts)
	payload := flv.AppendAVCTag(make([]byte, 0, 5+len(frame.Data)), p.Keyframe, flv.AVCNALU, cts, frame.Data)
	s.counter.videoBytes.Add(uint64(len(payload)))
	s.il.Push(rtmpclient.Packet{Type: rtmpclient.TypeVideo, DTS: dts, Payload: payload,
		Keyframe: p.Keyframe, Disposable: frame.Disposable})
	s.record(func(r *encode.Recorder) error { return r.WriteVideo(p) })
}

func (s *Session) emitAudio(p encode.Packet, offset time.Duration) {
	p.PTS += tsOffset + offset
	p.DTS += tsOffset + offset
	payload := flv.AppendAACTag(make([]byte, 0, 2+len(p.Data)), flv.AACRaw, p.Data)
	s.counter.audioBytes.Add(uint64(len(payload)))
	s.counter.audioFrames.Add(1)
	s.il.Push(rtmpclient.Packet{Type: rtmpclient.TypeAudio, DTS: p.DTS.Milliseconds(), Payload: payload})
	s.record(func(r *encode.Recorder) error { return r.WriteAudio(p) })
}
