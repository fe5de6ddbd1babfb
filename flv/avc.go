// Package flv builds and parses FLV tag bodies (the payloads RTMP carries) and
// reads and writes FLV files. It covers H.264 (AVC) and AAC as in FLV 10, and the
// Enhanced RTMP video header that carries HEVC and AV1.
package flv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// H.264 NAL unit types Tally acts on.
const (
	NALSlice    = 1
	NALIDR      = 5
	NALSEI      = 6
	NALSPS      = 7
	NALPPS      = 8
	NALAUD      = 9
	NALEndSeq   = 10
	NALFiller   = 12
	NALSPSExt   = 13
	NALSubsetSP = 15
)

// SplitAnnexB calls fn for each NAL unit in an Annex-B byte stream (start codes
// 00 00 01 or 00 00 00 01), without the start codes.
func SplitAnnexB(b []byte, fn func(nal []byte)) {
	start := -1
	i := 0
	for {
		// bytes.Index scans with vector instructions: a frame's bytes are
		// searched once a frame on the send path, megabytes a second.
		j := bytes.Index(b[i:], startCode)
		if j < 0 {
			break
		}
		i += j
		if start >= 0 {
			end := i
			for end > start && b[end-1] == 0 { // a 4-byte start code's leading zero
				end--
			}
			if end > start {
				fn(b[start:end])
			}
		}
		i += len(startCode)
		start = i
	}
	if start >= 0 && start < len(b) {
		fn(b[start:])
	} else if start < 0 && len(b) > 0 {
		fn(b) // no start code at all: one bare NAL unit
	}
}

var startCode = []byte{0, 0, 1}

// AVCFrame is an access unit converted for FLV.
type AVCFrame struct {
	Data       []byte // length-prefixed NAL units (4-byte lengths)
	Keyframe   bool   // holds an IDR slice
	Disposable bool   // every slice has nal_ref_idc 0: nothing references it
	SPS, PPS   []byte // parameter sets found in the access unit, if any
}

// AppendAVCC converts an Annex-B access unit to FLV's length-prefixed form,
// appending to dst. Parameter sets and access unit delimiters are left out of
// Data (FLV carries them in the sequence header) but reported in SPS/PPS.
// Filler data stays: it is what keeps a CBR stream constant at the ingest.
func AppendAVCC(dst []byte, annexB []byte) AVCFrame {
	f := AVCFrame{Disposable: true}
	slices := 0
	SplitAnnexB(annexB, func(nal []byte) {
		typ := nal[0] & 0x1f
		switch typ {
		case NALSPS:
			f.SPS = nal
			return
		case NALPPS:
			f.PPS = nal
			return
		case NALAUD, NALEndSeq:
			return
		case NALIDR:
			f.Keyframe = true
		}
		if typ == NALSlice || typ == NALIDR {
			slices++
			if nal[0]&0x60 != 0 {
				f.Disposable = false
			}
		}
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(nal)))
		dst = append(dst, nal...)
	})
	if slices == 0 {
		f.Disposable = false
	}
	f.Data = dst
	return f
}

// AVCDecoderConfigurationRecord builds the record (ISO/IEC 14496-15, 5.2.4.1)
// that an FLV AVC sequence header carries, from one SPS and one PPS.
func AVCDecoderConfigurationRecord(sps, pps []byte) ([]byte, error) {
	if len(sps) < 4 || sps[0]&0x1f != NALSPS {
		return nil, errors.New("avc config: SPS missing or malformed")
	}
	if len(pps) < 1 || pps[0]&0x1f != NALPPS {
		return nil, errors.New("avc config: PPS missing or malformed")
	}
	b := make([]byte, 0, 11+len(sps)+len(pps))
	b = append(b, 1, sps[1], sps[2], sps[3], // version, profile, compatibility, level
		0xff, // 6 reserved bits, lengthSizeMinusOne = 3
		0xe1) // 3 reserved bits, one SPS
	b = binary.BigEndian.AppendUint16(b, uint16(len(sps)))
	b = append(b, sps...)
	b = append(b, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(pps)))
	b = append(b, pps...)
	// High profiles add chroma format and bit depths (14496-15 amendment 2).
	if p := sps[1]; p == 100 || p == 110 || p == 122 || p == 144 {
		if info, err := ParseSPS(sps); err == nil {
			b = append(b, 0xfc|byte(info.ChromaFormat), 0xf8|byte(info.BitDepthLuma-8), 0xf8|byte(info.BitDepthChroma-8), 0)
		}
	}
	return b, nil
}

// AVCConfig is a parsed AVCDecoderConfigurationRecord.
type AVCConfig struct {
	Profile, Level byte
	SPS, PPS       [][]byte
	LengthSize     int
}

// ParseAVCConfig parses an AVCDecoderConfigurationRecord.
func ParseAVCConfig(b []byte) (AVCConfig, error) {
	if len(b) < 7 || b[0] != 1 {
		return AVCConfig{}, fmt.Errorf("avc config: %d bytes, version %v", len(b), firstByte(b))
	}
	c := AVCConfig{Profile: b[1], Level: b[3], LengthSize: int(b[4]&3) + 1}
	off := 6 // after the SPS count in b[5]
	readSets := func(n int) ([][]byte, error) {
		var sets [][]byte
		for i := 0; i < n; i++ {
			if off+2 > len(b) {
				return nil, errors.New("avc config: truncated parameter set length")
			}
			l := int(binary.BigEndian.Uint16(b[off:]))
			off += 2
			if off+l > len(b) {
				return nil, errors.New("avc config: truncated parameter set")
			}
			sets = append(sets, b[off:off+l])
			off += l
		}
		return sets, nil
	}
	var err error
	if c.SPS, err = readSets(int(b[5] & 0x1f)); err != nil {
		return c, err
	}
	off = 6 + setsLen(c.SPS)
	if off >= len(b) {
		return c, errors.New("avc config: no PPS count")
	}
	n := int(b[off])
	off++
	c.PPS, err = readSets(n)
	return c, err
}

func setsLen(sets [][]byte) int {
	n := 0
	for _, s := range sets {
		n += 2 + len(s)
	}
	return n
}

func firstByte(b []byte) any {
	if len(b) == 0 {
		return "none"
	}
	return b[0]
}

// WalkAVCC calls fn for each NAL unit of a length-prefixed access unit.
func WalkAVCC(b []byte, lengthSize int, fn func(nal []byte)) error {
	for len(b) > 0 {
		if len(b) < lengthSize {
			return errors.New("avcc: truncated NAL length")
		}
		var n int
		for i := 0; i < lengthSize; i++ {
			n = n<<8 | int(b[i])
		}
		b = b[lengthSize:]
		if n > len(b) {
			return fmt.Errorf("avcc: NAL of %d bytes, %d left", n, len(b))
		}
		if n > 0 {
			fn(b[:n])
		}
		b = b[n:]
	}
	return nil
}
