package flv

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Enhanced RTMP's AvMultitrackType: how the tracks of a multitrack tag are
// laid out.
const (
	// MultitrackOneTrack is one track, with its FourCC and trackId.
	MultitrackOneTrack = 0
	// MultitrackManyTracks is several tracks of one codec, each with its
	// trackId and size.
	MultitrackManyTracks = 1
	// MultitrackManyTracksManyCodecs is several tracks, each with its own
	// FourCC, trackId and size.
	MultitrackManyTracksManyCodecs = 2
)

// AppendMultitrackVideoTag appends an Enhanced RTMP multitrack video tag body
// of one track (OneTrack): the header byte (packet type Multitrack), the
// multitrack type and the track's packet type, the FourCC, the trackId, then
// the body as AppendEnhancedVideoTag writes it (CodedFrames of a codec with
// composition times and cts 0 as CodedFramesX).
func AppendMultitrackVideoTag(dst []byte, fourcc FourCC, trackID uint8, keyframe bool, packetType byte, cts int32, data []byte) []byte {
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
	dst = append(dst, enhancedFlag|ft<<4|PacketMultitrack, MultitrackOneTrack<<4|packetType&0x0f)
	dst = append(dst, fourcc[:]...)
	dst = append(dst, trackID)
	if packetType == PacketCodedFrames && carriesCTS(fourcc) {
		dst = appendSI24(dst, cts)
	}
	return append(dst, data...)
}

// walkVideoTracks parses a video tag body and calls fn with each track it
// holds, in order: one for a legacy or single-track tag. It follows the
// ExVideoTagHeader of the Enhanced RTMP v2 specification: ModEx prefixes
// skipped, a command frame's command byte as its Data, then the multitrack
// header and each track's FourCC, trackId and size.
func walkVideoTracks(b []byte, fn func(VideoTag)) error {
	if len(b) < 1 {
		return errors.New("flv video: empty tag")
	}
	if b[0]&enhancedFlag == 0 {
		v, err := parseLegacyVideo(b)
		if err != nil {
			return err
		}
		fn(v)
		return nil
	}
	ft, pt, rest := b[0]>>4&7, b[0]&0x0f, b[1:]
	for pt == PacketModEx {
		var err error
		if pt, rest, err = skipModEx(rest); err != nil {
			return err
		}
	}
	if ft == FrameCommand && pt != PacketMetadata {
		if len(rest) < 1 {
			return errors.New("flv video: command frame without its command")
		}
		fn(VideoTag{Enhanced: true, FrameType: ft, PacketType: pt, Data: rest[:1]})
		return nil
	}
	if pt != PacketMultitrack {
		if len(rest) < 4 {
			return fmt.Errorf("flv video: enhanced header of %d bytes, without its FourCC", len(b))
		}
		v, err := parseExBody(FourCC(rest[:4]), ft, pt, rest[4:])
		if err != nil {
			return err
		}
		fn(v)
		return nil
	}
	if len(rest) < 1 {
		return errors.New("flv video: multitrack tag without its multitrack type")
	}
	mt, pt := rest[0]>>4, rest[0]&0x0f
	rest = rest[1:]
	if mt > MultitrackManyTracksManyCodecs {
		return fmt.Errorf("flv video: reserved multitrack type %d", mt)
	}
	if pt == PacketMultitrack || pt == PacketModEx {
		return fmt.Errorf("flv video: multitrack tracks of packet type %d", pt)
	}
	var fc FourCC
	if mt != MultitrackManyTracksManyCodecs {
		if len(rest) < 4 {
			return errors.New("flv video: multitrack tag without its FourCC")
		}
		fc, rest = FourCC(rest[:4]), rest[4:]
	}
	for first := true; first || len(rest) > 0; first = false {
		if mt == MultitrackManyTracksManyCodecs {
			if len(rest) < 4 {
				return errors.New("flv video: track without its FourCC")
			}
			fc, rest = FourCC(rest[:4]), rest[4:]
		}
		if len(rest) < 1 {
			return errors.New("flv video: track without its trackId")
		}
		id, body := rest[0], rest[1:]
		rest = nil
		if mt != MultitrackOneTrack {
			if len(body) < 3 {
				return fmt.Errorf("flv video: track %d without its size", id)
			}
			size := int(body[0])<<16 | int(body[1])<<8 | int(body[2])
			if size > len(body)-3 {
				return fmt.Errorf("flv video: track %d of %d bytes, %d left", id, size, len(body)-3)
			}
			body, rest = body[3:3+size], body[3+size:]
		}
		v, err := parseExBody(fc, ft, pt, body)
		if err != nil {
			return fmt.Errorf("track %d: %w", id, err)
		}
		v.Multitrack, v.TrackID = true, id
		fn(v)
	}
	return nil
}

// skipModEx skips one ModEx prefix (its data, one to 65 536 bytes) and
// returns the packet type it leads to. Its only type so far, a nanosecond
// offset to the timestamp, is finer than anything Tally times.
func skipModEx(b []byte) (byte, []byte, error) {
	if len(b) < 1 {
		return 0, nil, errors.New("flv video: ModEx without its size")
	}
	size, b := int(b[0])+1, b[1:]
	if size == 256 {
		if len(b) < 2 {
			return 0, nil, errors.New("flv video: ModEx without its 16-bit size")
		}
		size, b = int(binary.BigEndian.Uint16(b))+1, b[2:]
	}
	if len(b) < size+1 {
		return 0, nil, fmt.Errorf("flv video: ModEx of %d bytes, %d left", size, len(b))
	}
	b = b[size:]
	return b[0] & 0x0f, b[1:], nil
}

// parseExBody parses what follows an enhanced header's FourCC (and, in
// multitrack, the trackId and size) for packet type pt.
func parseExBody(fc FourCC, ft, pt byte, b []byte) (VideoTag, error) {
	v := VideoTag{Enhanced: true, FrameType: ft, PacketType: pt, Codec: codecOf(fc),
		Header: pt == PacketSequenceStart || pt == PacketMPEG2TSSequenceStart}
	if pt == PacketCodedFrames && carriesCTS(fc) {
		if len(b) < 3 {
			return v, errors.New("flv video: coded frames without composition time")
		}
		v.CTS, b = si24(b), b[3:]
	}
	v.Data = b
	return v, nil
}
