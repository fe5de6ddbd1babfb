package flv

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The frame layouts HEVC and AV1 travel in over Enhanced RTMP and in FLV:
// those of ISO/IEC 14496-15 (HEVC) and AV1-ISOBMFF (AV1).

// HEVC NAL unit types Tally acts on.
const (
	HEVCNALVPS = 32
	HEVCNALSPS = 33
	HEVCNALPPS = 34
	HEVCNALAUD = 35
)

// AppendLengthPrefixed appends an Annex-B access unit (HEVC, as libx265
// gives it) as the 4-byte length-prefixed NAL units FLV carries, leaving out
// access unit delimiters (HEVC NAL type 35), which FLV's framing replaces.
func AppendLengthPrefixed(dst, annexB []byte) []byte {
	SplitAnnexB(annexB, func(nal []byte) {
		if nal[0]>>1&0x3f == HEVCNALAUD {
			return
		}
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(nal)))
		dst = append(dst, nal...)
	})
	return dst
}

// AV1 OBU types (AV1 specification, 6.2.2).
const (
	OBUSequenceHeader    = 1
	OBUTemporalDelimiter = 2
)

// AppendAV1TemporalUnit appends an AV1 temporal unit in the low-overhead
// bitstream format (every OBU with its size field) without its temporal
// delimiter OBUs, as a sample of AV1 in FLV and ISOBMFF is carried. An OBU
// whose header or size is malformed or runs past the end is an error, and
// dst then holds what was appended before it.
func AppendAV1TemporalUnit(dst, tu []byte) ([]byte, error) {
	for len(tu) > 0 {
		h := tu[0]
		if h&0x80 != 0 {
			return dst, errors.New("av1: OBU with its forbidden bit set")
		}
		if h&0x02 == 0 {
			return dst, errors.New("av1: OBU without its size field (not the low-overhead format)")
		}
		n := 1
		if h&0x04 != 0 { // obu_extension_flag: temporal and spatial ids follow
			n++
		}
		if len(tu) <= n {
			return dst, errors.New("av1: OBU header cut short")
		}
		size, m, err := leb128(tu[n:])
		if err != nil {
			return dst, fmt.Errorf("av1: OBU type %d: %w", h>>3&0x0f, err)
		}
		n += m
		if size > uint64(len(tu)-n) {
			return dst, fmt.Errorf("av1: OBU type %d of %d bytes, %d left", h>>3&0x0f, size, len(tu)-n)
		}
		end := n + int(size)
		if h>>3&0x0f != OBUTemporalDelimiter {
			dst = append(dst, tu[:end]...)
		}
		tu = tu[end:]
	}
	return dst, nil
}

// leb128 reads an unsigned LEB128 number as AV1 codes sizes: at most 8 bytes,
// a value below 2³².
func leb128(b []byte) (v uint64, n int, err error) {
	for n < 8 {
		if n >= len(b) {
			return 0, 0, errors.New("size cut short")
		}
		c := b[n]
		v |= uint64(c&0x7f) << (7 * n)
		n++
		if c&0x80 == 0 {
			if v > 1<<32-1 {
				return 0, 0, fmt.Errorf("size %d above 2³²-1", v)
			}
			return v, n, nil
		}
	}
	return 0, 0, errors.New("size longer than 8 bytes")
}
