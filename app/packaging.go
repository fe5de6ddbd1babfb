package app

import (
	"fmt"
	"strconv"
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

// metadata is a stream's onMetaData: what each encoder was opened with.
// Track 0 is described at the top level, as every player reads it; further
// tracks in videoTrackIdInfoMap (Enhanced RTMP v2).
func (s *Session) metadata(st *stream, aenc *encode.AudioEncoder) amf.ECMAArray {
	m := amf.ECMAArray{}
	if len(st.tracks) > 0 {
		m = append(m, videoMeta(st.tracks[0], 0)...)
	}
	if len(st.tracks) > 1 {
		info := amf.Object{}
		for t, o := range st.tracks[1:] {
			info = append(info, amf.Property{Key: strconv.Itoa(t + 1), Value: amf.Object(videoMeta(o, t+1))})
		}
		m = append(m, amf.Property{Key: "videoTrackIdInfoMap", Value: info})
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

// videoMeta describes one output: legacy H.264 by its FLV codec ID, the
// enhanced codecs by their FourCC read as a number, as the spec has it.
func videoMeta(o *videoOutput, track int) []amf.Property {
	c := o.enc.Config()
	id := float64(flv.CodecAVC)
	// Legacy AVC's codec id only where the tags are legacy AVC (track 0); a
	// FourCC where they carry one, H.264 on other tracks included.
	if fc, ok := flv.FourCCFor(o.codec); ok && (o.codec != "h264" || track > 0) {
		id = fc.Number()
	}
	return []amf.Property{
		{Key: "width", Value: float64(c.Width)},
		{Key: "height", Value: float64(c.Height)},
		{Key: "framerate", Value: float64(c.FPS)},
		{Key: "videodatarate", Value: float64(c.Bitrate) / 1000},
		{Key: "videocodecid", Value: id}}
}

// writeHeaders queues a stream's sequence headers: each track's codec
// configuration record, and the AAC config.
func (s *Session) writeHeaders(st *stream, aenc *encode.AudioEncoder) error {
	for t, o := range st.tracks {
		rec, err := o.enc.ConfigRecord()
		if err != nil {
			return fmt.Errorf("video sequence header: %w", err)
		}
		st.il.Push(rtmpclient.Packet{Type: rtmpclient.TypeVideo, Track: uint8(t), Header: true,
			Payload: videoTag(o.codec, t, true, tagStart, 0, rec)})
	}
	if aenc != nil {
		st.il.Push(rtmpclient.Packet{Type: rtmpclient.TypeAudio, Header: true,
			Payload: flv.AppendAACTag(nil, flv.AACSequenceHeader, aenc.Extradata())})
	}
	return nil
}

// What a video tag carries.
const (
	tagStart = iota // the codec configuration record
	tagFrames
	tagEnd
)

// videoTag builds a video tag body for track t of a stream: legacy AVC for
// H.264 on track 0, as every server reads it (and as OBS sends track 0);
// Enhanced RTMP for HEVC and AV1; the multitrack header on other tracks.
func videoTag(codec string, t int, keyframe bool, what int, cts int32, data []byte) []byte {
	dst := make([]byte, 0, 16+len(data))
	fc, _ := flv.FourCCFor(codec)
	if t == 0 && codec == "h264" {
		pt := [...]byte{tagStart: flv.AVCSequenceHeader, tagFrames: flv.AVCNALU, tagEnd: flv.AVCEndOfSequence}[what]
		return flv.AppendAVCTag(dst, keyframe, pt, cts, data)
	}
	pt := [...]byte{tagStart: flv.PacketSequenceStart, tagFrames: flv.PacketCodedFrames, tagEnd: flv.PacketSequenceEnd}[what]
	if t == 0 {
		return flv.AppendEnhancedVideoTag(dst, fc, keyframe, pt, cts, data)
	}
	return flv.AppendMultitrackVideoTag(dst, fc, uint8(t), keyframe, pt, cts, data)
}

// emitVideo sends one of an output's packets on every stream that carries
// it, and to the recording when it is the session's own encode.
func (s *Session) emitVideo(o *videoOutput, p encode.Packet) {
	p.PTS += tsOffset
	p.DTS += tsOffset
	var data []byte
	disposable := false
	switch o.codec {
	case "h264":
		f := flv.AppendAVCC(nil, p.Data)
		data, disposable = f.Data, f.Disposable
	case "hevc":
		data = flv.AppendLengthPrefixed(nil, p.Data)
	case "av1":
		var err error
		if data, err = flv.AppendAV1TemporalUnit(nil, p.Data); err != nil {
			s.log.Error("an AV1 frame from the encoder does not parse; it is left out", "err", err)
			return
		}
	}
	dts := p.DTS.Milliseconds()
	cts := int32(p.PTS.Milliseconds() - dts)
	o.lastDTS = dts
	s.counter.videoBytes.Add(uint64(len(data)))
	for _, u := range o.uses {
		u.st.il.Push(rtmpclient.Packet{Type: rtmpclient.TypeVideo, Track: uint8(u.track), DTS: dts,
			Payload: videoTag(o.codec, u.track, p.Keyframe, tagFrames, cts, data), Keyframe: p.Keyframe, Disposable: disposable})
	}
	s.recordVideo(o, p)
}

// emitAudio sends an AAC packet on every stream, and to the recording.
func (s *Session) emitAudio(p encode.Packet, offset time.Duration) {
	p.PTS += tsOffset + offset
	p.DTS += tsOffset + offset
	payload := flv.AppendAACTag(make([]byte, 0, 2+len(p.Data)), flv.AACRaw, p.Data)
	s.counter.audioBytes.Add(uint64(len(payload)))
	s.counter.audioFrames.Add(1)
	for _, st := range s.streams {
		st.il.Push(rtmpclient.Packet{Type: rtmpclient.TypeAudio, DTS: p.DTS.Milliseconds(), Payload: payload})
	}
	s.recordAudio(p)
}
