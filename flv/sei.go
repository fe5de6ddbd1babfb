package flv

import (
	"bytes"
	"encoding/binary"
	"time"
)

// CaptureClockUUID marks Tally's capture-time SEI: a user-data-unregistered
// SEI whose payload is this UUID and the capture time as Unix nanoseconds
// (8 bytes, big-endian). Decoders ignore it; the ingest reads it to measure
// capture-to-receipt latency.
var CaptureClockUUID = [16]byte{0x74, 0x61, 0x6c, 0x6c, 0x79, 0x2d, 0x63, 0x6c, 0x6f, 0x63, 0x6b, 0x2d, 0x76, 0x31, 0x00, 0x01}

const seiUserDataUnregistered = 5

// AppendCaptureTime appends the SEI payload (UUID, then the time) for t.
func AppendCaptureTime(dst []byte, t time.Time) []byte {
	dst = append(dst, CaptureClockUUID[:]...)
	return binary.BigEndian.AppendUint64(dst, uint64(t.UnixNano()))
}

// CaptureTime finds Tally's capture-time SEI in an access unit of
// length-prefixed NAL units.
func CaptureTime(avcc []byte) (time.Time, bool) {
	var t time.Time
	found := false
	_ = WalkAVCC(avcc, 4, func(nal []byte) {
		if found || nal[0]&0x1f != NALSEI {
			return
		}
		rbsp := unescapeRBSP(nal[1:])
		for len(rbsp) > 2 && !found {
			typ, n := seiNumber(rbsp)
			rbsp = rbsp[n:]
			size, n := seiNumber(rbsp)
			rbsp = rbsp[n:]
			if size > len(rbsp) {
				return
			}
			payload := rbsp[:size]
			rbsp = rbsp[size:]
			if typ == seiUserDataUnregistered && len(payload) >= 24 && bytes.Equal(payload[:16], CaptureClockUUID[:]) {
				t = time.Unix(0, int64(binary.BigEndian.Uint64(payload[16:24])))
				found = true
			}
		}
	})
	return t, found
}

// seiNumber reads an SEI payload type or size: 0xff bytes add 255 each.
func seiNumber(b []byte) (v, n int) {
	for n < len(b) && b[n] == 0xff {
		v += 255
		n++
	}
	if n < len(b) {
		v += int(b[n])
		n++
	}
	return v, n
}
