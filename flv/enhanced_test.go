package flv

import (
	"bytes"
	"strings"
	"testing"
)

// An HEVC access unit becomes 4-byte length-prefixed NAL units; its access
// unit delimiter is dropped, everything else (SEI, slices) kept in order.
func TestAppendLengthPrefixedDropsHEVCAccessUnitDelimiters(t *testing.T) {
	annexB := unhex("00000001 4601 50   000001 4e01 0501aa80   00000001 2601 af09 00   000001 0201 d0")
	got := AppendLengthPrefixed(unhex("ee"), annexB)
	want := unhex("ee  00000006 4e01 0501aa80  00000004 2601 af09  00000003 0201 d0")
	if !bytes.Equal(got, want) {
		t.Fatalf("got % x\nwant % x", got, want)
	}
	if got := AppendLengthPrefixed(nil, unhex("00000001 4601 10")); len(got) != 0 {
		t.Errorf("an access unit of only a delimiter gives % x", got)
	}
}

// A temporal unit loses its temporal delimiters and keeps every other OBU
// byte for byte, extension headers and multi-byte sizes included.
func TestAppendAV1TemporalUnitDropsTemporalDelimiters(t *testing.T) {
	seqHeader := "0a 0e 00000004 3cfecc02 f8101010 1040"
	frame := "32 03 aabbcc"
	withExt := "36 28 01 dd"                      // OBU_FRAME with an extension header (temporal id 1)
	long := "32 8301" + strings.Repeat("5a", 131) // a size of two LEB128 bytes
	tu := unhex("12 00 " + seqHeader + frame + "12 00" + withExt + long)
	got, err := AppendAV1TemporalUnit(unhex("ff"), tu)
	want := unhex("ff" + seqHeader + frame + withExt + long)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("got % x, %v\nwant % x", got, err, want)
	}
	if got, err := AppendAV1TemporalUnit(nil, unhex("12 00")); err != nil || len(got) != 0 {
		t.Errorf("a lone temporal delimiter gives % x, %v", got, err)
	}
}

// Malformed OBUs are errors that say what is wrong, never a panic or a read
// past the end.
func TestAppendAV1TemporalUnitRefusesMalformedOBUs(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"92 00", "forbidden bit"},
		{"30 aa", "without its size field"},
		{"36", "header cut short"},
		{"32", "header cut short"},
		{"32 80", "size cut short"},
		{"32 05 aabb", "5 bytes, 2 left"},
		{"32 8080808080808080 01", "longer than 8 bytes"},
		{"32 8080808010", "above"},
		{"12 00 32 02 aa", "2 bytes, 1 left"},
	} {
		if _, err := AppendAV1TemporalUnit(nil, unhex(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("% x: got %v, want an error about %q", unhex(tc.in), err, tc.want)
		}
	}
}

// Whatever AppendAV1TemporalUnit makes of a temporal unit is itself a valid
// temporal unit without temporal delimiters, which it copies unchanged, and
// never longer than what went in.
func FuzzAppendAV1TemporalUnit(f *testing.F) {
	f.Add(unhex("12 00 0a 0e 00000004 3cfecc02 f8101010 1040 32 03 aabbcc"))
	f.Add(unhex("12 00 36 28 01 dd 32 8301" + strings.Repeat("5a", 131)))
	f.Add(unhex("32 8080808010"))
	f.Fuzz(func(t *testing.T, tu []byte) {
		out, err := AppendAV1TemporalUnit(nil, tu)
		if len(out) > len(tu) {
			t.Fatalf("%d bytes out of %d", len(out), len(tu))
		}
		if err != nil {
			return
		}
		again, err := AppendAV1TemporalUnit(nil, out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("its own output % x gives % x, %v", out, again, err)
		}
	})
}

// AppendLengthPrefixed keeps exactly the NAL units SplitAnnexB finds, less the
// access unit delimiters, each behind its length.
func FuzzAppendLengthPrefixed(f *testing.F) {
	f.Add(unhex("00000001 4601 50   000001 4e01 0501aa80   00000001 2601 af09 00"))
	f.Add(unhex("000001 4001 0c01 000001 4201 01"))
	f.Fuzz(func(t *testing.T, annexB []byte) {
		var want [][]byte
		SplitAnnexB(annexB, func(nal []byte) {
			if nal[0]>>1&0x3f != HEVCNALAUD {
				want = append(want, nal)
			}
		})
		var got [][]byte
		if err := WalkAVCC(AppendLengthPrefixed(nil, annexB), 4, func(nal []byte) { got = append(got, nal) }); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d NAL units, want %d", len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("NAL unit %d is % x, want % x", i, got[i], want[i])
			}
		}
	})
}
