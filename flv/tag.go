package flv

import (
	"encoding/binary"
	"errors"
	"fmt"
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

// Enhanced RTMP video packet types and FourCCs (Enhanced RTMP v1 specification).
const (
	PacketSequenceStart = 0
	PacketCodedFrames   = 1
	PacketSequenceEnd   = 2
	PacketCodedFramesX  = 3 // coded frames with composition time 0, saving 3 bytes
	PacketMetadata      = 4

	enhancedFlag = 0x80
)

// FourCC names an Enhanced RTMP codec.
type FourCC [4]byte

var (
	FourCCAVC  = FourCC{'a', 'v', 'c', '1'}
	FourCCHEVC = FourCC{'h', 'v', 'c', '1'}
	FourCCAV1  = FourCC{'a', 'v', '0', '1'}
)

func (f FourCC) String() string { return string(f[:]) }

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
// with cts 0 are sent as CodedFramesX, which omits the composition time.
func AppendEnhancedVideoTag(dst []byte, fourcc FourCC, keyframe bool, packetType byte, cts int32, data []byte) []byte {
	ft := byte(FrameInter)
	if keyframe || packetType == PacketSequenceStart {
		ft = FrameKey
	}
	if packetType == PacketCodedFrames && (cts == 0 || fourcc == FourCCAV1) {
		packetType = PacketCodedFramesX
	}
	dst = append(dst, enhancedFlag|ft<<4|packetType)
	dst = append(dst, fourcc[:]...)
	if packetType == PacketCodedFrames {
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

// VideoTag is a parsed video tag body.
type VideoTag struct {
	Enhanced   bool
	FrameType  byte
	Codec      string // "h264", "hevc", "av1", or "codec N"
	PacketType byte   // legacy AVCPacketType or Enhanced packet type
	Header     bool   // a sequence header / SequenceStart
	CTS        int32  // composition time offset, ms
	Data       []byte
}

// ParseVideoTag parses a video tag body, legacy or enhanced.
func ParseVideoTag(b []byte) (VideoTag, error) {
	if len(b) < 1 {
		return VideoTag{}, errors.New("flv video: empty tag")
	}
	if b[0]&enhancedFlag != 0 {
		if len(b) < 5 {
			return VideoTag{}, fmt.Errorf("flv video: enhanced header of %d bytes", len(b))
		}
		v := VideoTag{Enhanced: true, FrameType: b[0] >> 4 & 7, PacketType: b[0] & 0x0f}
		fc := FourCC(b[1:5])
		switch fc {
		case FourCCAVC:
			v.Codec = "h264"
		case FourCCHEVC:
			v.Codec = "hevc"
		case FourCCAV1:
			v.Codec = "av1"
		default:
			v.Codec = "fourcc " + fc.String()
		}
		v.Header = v.PacketType == PacketSequenceStart
		rest := b[5:]
		if v.PacketType == PacketCodedFrames && fc != FourCCAV1 {
			if len(rest) < 3 {
				return v, errors.New("flv video: coded frames without composition time")
			}
			v.CTS, rest = si24(rest), rest[3:]
		}
		v.Data = rest
		return v, nil
	}
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

// RoleOf classifies a tag. Script tags and AVC end-of-sequence markers are not
// media: streams carry their own metadata, and a muxer's end marker is no frame.
func RoleOf(t Tag) (Role, error) {
	switch t.Type {
	case TagVideo:
		v, err := ParseVideoTag(t.Data)
		if err != nil {
			return Role{}, err
		}
		if !v.Enhanced && v.Codec == "h264" && v.PacketType == AVCEndOfSequence {
			return Role{}, nil
		}
		return Role{Media: true, Header: v.Header, Keyframe: v.FrameType == FrameKey && !v.Header}, nil
	case TagAudio:
		a, err := ParseAudioTag(t.Data)
		if err != nil {
			return Role{}, err
		}
		return Role{Media: true, Header: a.Header}, nil
	}
	return Role{}, nil
}
