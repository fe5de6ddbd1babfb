package flv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// FLV video frame types and codec IDs (FLV 10.1 specification, E.4.3.1).
const (
	FrameKey   = 1
	FrameInter = 2
	// FrameDisposable is a disposable inter frame (H.263 only in the spec; Tally
	// marks it in its own queue instead of on the wire).
	FrameDisposable = 3

	CodecAVC = 7

	AVCSequenceHeader = 0
	AVCNALU           = 1
	AVCEndOfSequence  = 2
)

// Enhanced RTMP video packet types and FourCCs (Enhanced RTMP v2
// specification, Enhanced Video).
const (
	PacketSequenceStart = 0
	PacketCodedFrames   = 1
	PacketSequenceEnd   = 2
	PacketCodedFramesX  = 3 // coded frames with composition time 0, saving 3 bytes
	PacketMetadata      = 4
	// PacketMPEG2TSSequenceStart starts a sequence with an MPEG-2 TS
	// descriptor (AV1's) instead of a configuration record.
	PacketMPEG2TSSequenceStart = 5
	// PacketMultitrack turns on multitrack mode: a byte of AvMultitrackType
	// and the tracks' own packet type follow (multitrack.go).
	PacketMultitrack = 6
	// PacketModEx prefixes modifiers (a nanosecond timestamp offset, say)
	// before the real packet type.
	PacketModEx = 7

	enhancedFlag = 0x80
)

// FrameCommand is the video frame type of a command (start or end of a
// client-side seek) that carries no video.
const FrameCommand = 5

// FourCC names an Enhanced RTMP codec.
type FourCC [4]byte

var (
	FourCCAVC  = FourCC{'a', 'v', 'c', '1'}
	FourCCHEVC = FourCC{'h', 'v', 'c', '1'}
	FourCCAV1  = FourCC{'a', 'v', '0', '1'}
	fourCCVVC  = FourCC{'v', 'v', 'c', '1'}
)

func (f FourCC) String() string { return string(f[:]) }

// Number is the FourCC read as a big-endian 32-bit number, as onMetaData's
// videocodecid carries an enhanced codec ("hvc1" is 1752589105).
func (f FourCC) Number() float64 { return float64(binary.BigEndian.Uint32(f[:])) }

// FourCCFor is the FourCC of a codec named as encode names them: "h264",
// "hevc" or "av1".
func FourCCFor(codec string) (FourCC, bool) {
	switch codec {
	case "h264":
		return FourCCAVC, true
	case "hevc":
		return FourCCHEVC, true
	case "av1":
		return FourCCAV1, true
	}
	return FourCC{}, false
}

// codecOf names a FourCC's codec as FourCCFor takes it.
func codecOf(f FourCC) string {
	switch f {
	case FourCCAVC:
		return "h264"
	case FourCCHEVC:
		return "hevc"
	case FourCCAV1:
		return "av1"
	}
	return "fourcc " + strconv.Quote(f.String())
}

// carriesCTS tells whether a codec's CodedFrames carry a composition time:
// those of NAL units (AVC, HEVC, VVC) do, AV1's and VP8/9's never reorder.
func carriesCTS(f FourCC) bool { return f == FourCCAVC || f == FourCCHEVC || f == fourCCVVC }

// AppendAVCTag appends a legacy FLV AVC video tag body: the 5-byte header
// (frame type, codec, packet type, composition time) and the data.
func AppendAVCTag(dst []byte, keyframe bool, packetType byte, cts int32, data []byte) []byte {
	ft := byte(FrameInter)
	if keyframe || packetType == AVCSequenceHeader {
		ft = FrameKey
	}
	dst = append(dst, ft<<4|CodecAVC, packetType)
	dst = appendSI24(dst, cts)
	return append(dst, data...)
}

// AppendEnhancedVideoTag appends an Enhanced RTMP video tag body. CodedFrames
// of a codec with composition times (AVC, HEVC, VVC) and cts 0 are sent as
// CodedFramesX, which omits it; AV1's CodedFrames carry none.
func AppendEnhancedVideoTag(dst []byte, fourcc FourCC, keyframe bool, packetType byte, cts int32, data []byte) []byte {
	ft := byte(FrameInter)
	if keyframe || packetType == PacketSequenceStart {
		ft = FrameKey
	}
	// CodedFramesX is defined for the codecs with composition times alone;
	// AV1 goes as CodedFrames, without one (OvenMediaEngine drops an AV1
	// CodedFramesX).
	if packetType == PacketCodedFrames && carriesCTS(fourcc) && cts == 0 {
		packetType = PacketCodedFramesX
	}
	dst = append(dst, enhancedFlag|ft<<4|packetType)
	dst = append(dst, fourcc[:]...)
	if packetType == PacketCodedFrames && carriesCTS(fourcc) {
		dst = appendSI24(dst, cts)
	}
	return append(dst, data...)
}

func appendSI24(b []byte, v int32) []byte {
	return append(b, byte(v>>16), byte(v>>8), byte(v))
}

func si24(b []byte) int32 {
	v := int32(b[0])<<16 | int32(b[1])<<8 | int32(b[2])
	return v << 8 >> 8 // sign-extend
}

// VideoTag is a parsed video tag body, or one track of a multitrack one.
type VideoTag struct {
	Enhanced   bool
	FrameType  byte
	Codec      string // "h264", "hevc", "av1", "codec N" or "fourcc \"....\""
	PacketType byte   // legacy AVCPacketType or Enhanced packet type (the track's, in multitrack)
	Header     bool   // a sequence header / SequenceStart
	CTS        int32  // composition time offset, ms
	Data       []byte
	// Multitrack marks a track of an Enhanced RTMP multitrack tag, and
	// TrackID is its videoTrackId.
	Multitrack bool
	TrackID    uint8
}

// ErrManyTracks is ParseVideoTag's answer to a multitrack tag of more than
// one track: ParseVideoTracks reads them all.
var ErrManyTracks = errors.New("flv video: a tag of several tracks")

// ParseVideoTag parses a video tag body of one track: legacy, enhanced, or an
// enhanced multitrack tag of one track.
func ParseVideoTag(b []byte) (VideoTag, error) {
	var v VideoTag
	n := 0
	err := walkVideoTracks(b, func(t VideoTag) {
		if n == 0 {
			v = t
		}
		n++
	})
	if err != nil {
		return VideoTag{}, err
	}
	if n > 1 {
		return VideoTag{}, fmt.Errorf("%w (%d): use ParseVideoTracks", ErrManyTracks, n)
	}
	return v, nil
}

// ParseVideoTracks parses a video tag body into its tracks: every track of a
// multitrack tag, or the one a legacy or single-track tag holds.
func ParseVideoTracks(b []byte) ([]VideoTag, error) {
	var tracks []VideoTag
	if err := walkVideoTracks(b, func(t VideoTag) { tracks = append(tracks, t) }); err != nil {
		return nil, err
	}
	return tracks, nil
}

// parseLegacyVideo parses a video tag body of FLV 10's own header.
func parseLegacyVideo(b []byte) (VideoTag, error) {
	v := VideoTag{FrameType: b[0] >> 4, Codec: fmt.Sprintf("codec %d", b[0]&0x0f)}
	if b[0]&0x0f != CodecAVC {
		v.Data = b[1:]
		return v, nil
	}
	v.Codec = "h264"
	if len(b) < 5 {
		return v, fmt.Errorf("flv video: AVC header of %d bytes", len(b))
	}
	v.PacketType = b[1]
	v.Header = v.PacketType == AVCSequenceHeader
	v.CTS = si24(b[2:5])
	v.Data = b[5:]
	return v, nil
}

// FLV sound format for AAC, and the header byte every AAC tag uses: the rate,
// size and channel bits are fixed for AAC (the AudioSpecificConfig is what counts).
const (
	SoundAAC      = 10
	AACHeaderByte = SoundAAC<<4 | 3<<2 | 1<<1 | 1

	AACSequenceHeader = 0
	AACRaw            = 1
)

// AppendAACTag appends an AAC audio tag body.
func AppendAACTag(dst []byte, packetType byte, data []byte) []byte {
	dst = append(dst, AACHeaderByte, packetType)
	return append(dst, data...)
}

var aacRates = [...]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// AudioSpecificConfig builds the 2-byte AAC config for an object type (2 is
// AAC-LC), sample rate and channel count.
func AudioSpecificConfig(objectType, sampleRate, channels int) ([]byte, error) {
	idx := -1
	for i, r := range aacRates {
		if r == sampleRate {
			idx = i
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("aac: sample rate %d has no AudioSpecificConfig index", sampleRate)
	}
	if channels < 1 || channels > 7 || objectType < 1 || objectType > 30 {
		return nil, fmt.Errorf("aac: object type %d with %d channels is not supported", objectType, channels)
	}
	v := uint16(objectType)<<11 | uint16(idx)<<7 | uint16(channels)<<3
	return binary.BigEndian.AppendUint16(nil, v), nil
}

// AACConfig is a parsed AudioSpecificConfig.
type AACConfig struct {
	ObjectType int
	SampleRate int
	Channels   int
}

// ParseAudioSpecificConfig parses the start of an AudioSpecificConfig.
func ParseAudioSpecificConfig(b []byte) (AACConfig, error) {
	if len(b) < 2 {
		return AACConfig{}, fmt.Errorf("aac config: %d bytes", len(b))
	}
	v := binary.BigEndian.Uint16(b)
	c := AACConfig{ObjectType: int(v >> 11), Channels: int(v >> 3 & 0x0f)}
	idx := int(v >> 7 & 0x0f)
	if idx == 15 {
		if len(b) < 5 {
			return c, errors.New("aac config: explicit sample rate truncated")
		}
		c.SampleRate = int(binary.BigEndian.Uint32(b[1:]) >> 7 & 0xffffff)
		c.Channels = int(b[4] >> 3 & 0x0f)
	} else if idx < len(aacRates) {
		c.SampleRate = aacRates[idx]
	} else {
		return c, fmt.Errorf("aac config: reserved sample rate index %d", idx)
	}
	return c, nil
}

// AudioTag is a parsed audio tag body.
type AudioTag struct {
	Format     byte // FLV SoundFormat, 10 for AAC
	PacketType byte // AAC only
	Header     bool
	Data       []byte
}

// ParseAudioTag parses an audio tag body.
func ParseAudioTag(b []byte) (AudioTag, error) {
	if len(b) < 1 {
		return AudioTag{}, errors.New("flv audio: empty tag")
	}
	a := AudioTag{Format: b[0] >> 4, Data: b[1:]}
	if a.Format == SoundAAC {
		if len(b) < 2 {
			return a, errors.New("flv audio: AAC tag without packet type")
		}
		a.PacketType, a.Header, a.Data = b[1], b[1] == AACSequenceHeader, b[2:]
	}
	return a, nil
}

// Role says what part a tag plays in a stream.
type Role struct {
	Media    bool // an audio or video frame, or a sequence header
	Header   bool // a sequence header (AVC/AAC config, Enhanced SequenceStart)
	Keyframe bool // a video frame that starts a GOP
}

// RoleOf classifies a tag. Script tags, end-of-sequence markers and video
// commands are not media: streams carry their own metadata, and a muxer's
// end marker is no frame. A multitrack tag is a header when any of its tracks
// is one (it must not be dropped), and a keyframe when every track is a
// coded keyframe (every rendition can start there).
func RoleOf(t Tag) (Role, error) {
	switch t.Type {
	case TagVideo:
		var r Role
		keys, frames := 0, 0
		err := walkVideoTracks(t.Data, func(v VideoTag) {
			switch {
			case v.FrameType == FrameCommand && v.PacketType != PacketMetadata,
				!v.Enhanced && v.Codec == "h264" && v.PacketType == AVCEndOfSequence,
				v.Enhanced && v.PacketType == PacketSequenceEnd:
				return
			}
			r.Media = true
			r.Header = r.Header || v.Header
			if v.Header || v.Enhanced && v.PacketType == PacketMetadata {
				return
			}
			frames++
			if v.FrameType == FrameKey {
				keys++
			}
		})
		if err != nil {
			return Role{}, err
		}
		r.Keyframe = !r.Header && frames > 0 && keys == frames
		return r, nil
	case TagAudio:
		a, err := ParseAudioTag(t.Data)
		if err != nil {
			return Role{}, err
		}
		return Role{Media: true, Header: a.Header}, nil
	}
	return Role{}, nil
}
