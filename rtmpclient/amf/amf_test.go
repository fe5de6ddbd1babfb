package amf

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The tables below are package variables because they serve twice: the tests
// check them, and FuzzAMF0 and FuzzAMF3Command start from every one of them, so a
// golden case added here also seeds the fuzzers.

// amf0Golden holds values and their exact AMF0 bytes, from the specification's
// layouts. decoded is what DecodeAMF0 gives back when that differs from v: an int
// comes back as float64, an empty object as nil properties.
var amf0Golden = []struct {
	name    string
	v       any
	hex     string
	decoded any
}{
	{"number", 1.0, "00 3ff0000000000000", nil},
	{"int as number", 1935, "00 409e3c0000000000", 1935.0},
	{"true", true, "01 01", nil},
	{"false", false, "01 00", nil},
	{"string", "app", "02 0003 617070", nil},
	{"null", nil, "05", nil},
	{"undefined", Undefined{}, "06", nil},
	{"object", Object{{Key: "app", Value: "live"}}, "03 0003 617070 02 0004 6c697665 000009", nil},
	{"ecma array", ECMAArray{{Key: "w", Value: 2.0}}, "08 00000001 0001 77 00 4000000000000000 000009", nil},
	{"strict array", []any{1.0, nil}, "0a 00000002 00 3ff0000000000000 05", nil},
	{"date", time.UnixMilli(1000).UTC(), "0b 408f400000000000 0000", nil},
	{"typed object", TypedObject{Class: "C", Props: Object{}}, "10 0001 43 000009", TypedObject{Class: "C"}},
	{"reference", Reference(3), "07 0003", nil},
	{"xml document", XMLDocument("<a/>"), "0f 00000004 3c612f3e", nil},
}

// amf0DecodeGolden holds bytes real peers send and the values they mean.
var amf0DecodeGolden = []struct {
	name string
	hex  string
	want []any
}{
	{"nginx-rtmp connect _result, captured from the wire", `02 0007 5f726573756c74 00 3ff0000000000000
		03 0006 666d73566572 02 000d 464d532f332c302c312c313233 000c 6361706162696c6974696573 00 403f000000000000 000009
		03 0005 6c6576656c 02 0006 737461747573 0004 636f6465 02 001d 4e6574436f6e6e656374696f6e2e436f6e6e6563742e53756363657373
		   000b 6465736372697074696f6e 02 0015 436f6e6e656374696f6e207375636365656465642e 000e 6f626a656374456e636f64696e67 00 0000000000000000 000009`,
		[]any{"_result", 1.0,
			Object{{Key: "fmsVer", Value: "FMS/3,0,1,123"}, {Key: "capabilities", Value: 31.0}},
			Object{{Key: "level", Value: "status"}, {Key: "code", Value: "NetConnection.Connect.Success"},
				{Key: "description", Value: "Connection succeeded."}, {Key: "objectEncoding", Value: 0.0}}}},
	{"unsupported reads as undefined", "0d", []any{Undefined{}}},
	{"long string", "0c 00000002 6869", []any{"hi"}},
	{"ecma array whose count is wrong: the end marker decides", "08 00000005 0001 61 05 000009", []any{ECMAArray{{Key: "a", Value: nil}}}},
	{"object with an empty key before a value", "03 0000 05 000009", []any{Object{{Key: "", Value: nil}}}},
	{"the last date ActionScript has", "0b 433eb208c2dc0000 0000", []any{time.Date(275760, 9, 13, 0, 0, 0, 0, time.UTC)}},
	{"a date beyond ActionScript's range is no date, on every CPU", "0b 43e158e460913d00 0000", []any{time.Time{}}},
}

// amf0Malformed holds inputs the decoder must refuse, and what the error says.
var amf0Malformed = []struct{ name, hex, want string }{
	{"truncated number", "00 3ff0", "truncated"},
	{"string longer than input", "02 ffff 41", "truncated"},
	{"unknown marker", "42", "unknown type marker 0x42"},
	{"reserved movieclip", "04", "reserved type marker"},
	{"strict array count lies", "0a 7fffffff 05", "claims 2147483647 elements"},
	{"lone object end", "09", "object end marker outside an object"},
	{"unterminated object", "03 0001 61 05", "truncated"},
}

// amf3Golden holds AMF3 values as they follow an AMF0 switch marker (0x11).
var amf3Golden = []struct {
	name string
	hex  string
	want any
}{
	{"integer", "11 04 7f", 127.0},
	{"two-byte integer", "11 04 8100", 128.0},
	{"negative integer", "11 04 ffffffff", -1.0},
	{"double", "11 05 3ff8000000000000", 1.5},
	{"string", "11 06 07 616263", "abc"},
	{"true", "11 03", true},
	{"null", "11 01", nil},
	{"dynamic object", "11 0a 0b 01 03 61 04 05 01", Object{{Key: "a", Value: 5.0}}},
	{"dense array", "11 09 05 01 04 01 04 02", []any{1.0, 2.0}},
	{"sealed typed object", "11 0a 13 03 43 03 78 04 07", TypedObject{Class: "C", Props: Object{{Key: "x", Value: 7.0}}}},
	{"array of two strings, the second a reference to the first", "11 09 05 01 06 07 616263 06 00", []any{"abc", "abc"}},
	{"associative array with a dense part", "11 09 03 03 6b 06 03 76 01 04 09", ECMAArray{{Key: "k", Value: "v"}, {Key: "0", Value: 9.0}}},
	{"an array repeated by reference", "11 09 05 01  09 03 01 04 07  09 02", []any{[]any{7.0}, []any{7.0}}},
	{"an array that refers to itself holds nil there", "11 09 03 01 09 00", []any{nil}},
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestAMF0EncodesGoldenBytes(t *testing.T) {
	for _, tc := range amf0Golden {
		got, err := AppendAMF0(nil, tc.v)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if want := mustHex(tc.hex); !bytes.Equal(got, want) {
			t.Errorf("%s: got %x want %x", tc.name, got, want)
		}
	}
}

func TestAMF0DecodesGoldenBytesToTheirValues(t *testing.T) {
	for _, tc := range amf0Golden {
		back, err := DecodeAMF0(mustHex(tc.hex))
		if err != nil || len(back) != 1 {
			t.Fatalf("%s: decode: %v %v", tc.name, back, err)
		}
		want := tc.v
		if tc.decoded != nil {
			want = tc.decoded
		}
		if !reflect.DeepEqual(back[0], want) {
			t.Errorf("%s: decoded %#v, want %#v", tc.name, back[0], want)
		}
	}
	for _, tc := range amf0DecodeGolden {
		got, err := DecodeAMF0(mustHex(tc.hex))
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %#v, %v; want %#v", tc.name, got, err, tc.want)
		}
	}
}

func TestAMF0LongStringAboveSixtyFourKiB(t *testing.T) {
	s := strings.Repeat("x", 70000)
	b, _ := AppendAMF0(nil, s)
	if b[0] != amf0LongString {
		t.Fatalf("marker %#x, want long string", b[0])
	}
	back, err := DecodeAMF0(b)
	if err != nil || back[0] != s {
		t.Fatalf("round trip failed: %v", err)
	}
}

func TestAMF0RejectsMalformedInputWithPosition(t *testing.T) {
	for _, tc := range amf0Malformed {
		_, err := DecodeAMF0(mustHex(tc.hex))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestAMF0RejectsDeepNesting(t *testing.T) {
	var b []byte
	for i := 0; i < 100; i++ {
		b = append(b, amf0StrictArray, 0, 0, 0, 1)
	}
	b = append(b, amf0Null)
	if _, err := DecodeAMF0(b); err == nil || !strings.Contains(err.Error(), "nesting deeper") {
		t.Fatalf("got %v", err)
	}
}

func TestAMF3DecodesValuesAfterSwitchMarker(t *testing.T) {
	for _, tc := range amf3Golden {
		got, err := DecodeAMF0(mustHex(tc.hex))
		if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], tc.want) {
			t.Errorf("%s: got %#v, %v; want %#v", tc.name, got, err, tc.want)
		}
	}
}

func TestAMF3DanglingStringReferenceIsRefused(t *testing.T) {
	if _, err := DecodeAMF0(mustHex("11 06 02")); err == nil {
		t.Fatal("dangling string reference accepted")
	}
}

func TestAMF3CommandSkipsTheFormatByte(t *testing.T) {
	// Types 15 and 17: a format byte 0, then AMF0 values.
	got, err := DecodeAMF3Command(mustHex("00 02 0007 5f726573756c74 00 4000000000000000 05 00 3ff0000000000000"))
	if want := []any{"_result", 2.0, nil, 1.0}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, %v; want %#v", got, err, want)
	}
}

// amf3ArrayOfRefs is an AMF3 dense array of n references to object index i.
func amf3ArrayOfRefs(n, i int) []byte {
	b := append([]byte{0x09}, u29(uint32(2*n+1))...)
	b = append(b, 0x01)
	for range n {
		b = append(b, 0x09)
		b = append(b, u29(uint32(2*i))...)
	}
	return b
}

// u29 encodes AMF3's variable-length integer, for values below 2^21.
func u29(v uint32) []byte {
	switch {
	case v < 1<<7:
		return []byte{byte(v)}
	case v < 1<<14:
		return []byte{0x80 | byte(v>>7), byte(v & 0x7f)}
	}
	return []byte{0x80 | byte(v>>14), 0x80 | byte(v>>7), byte(v & 0x7f)}
}

// amf3ReferenceBomb is eight AMF3 values, each an array of 50 references to
// the one before: 700 bytes that stand for 50^7 values, which the server's
// metadata relay and the ingest report would write out in full.
func amf3ReferenceBomb() []byte {
	b := []byte{0x11, 0x09, 0x05, 0x01, 0x01, 0x01} // level 0: [null, null]
	for level := 1; level < 8; level++ {
		b = append(b, 0x11)
		b = append(b, amf3ArrayOfRefs(50, level-1)...)
	}
	return b
}

// The decoder must refuse a reference bomb, and quickly.
func TestAMF3ReferencesCannotStandForAHugeTree(t *testing.T) {
	start := time.Now()
	_, err := DecodeAMF0(amf3ReferenceBomb())
	if err == nil || !strings.Contains(err.Error(), "references stand for more than") {
		t.Fatalf("got %v, want the expansion refused", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("refusing took %v", took)
	}
}

// amf3TraitsBomb is an array of 1200 objects whose traits name one member of
// 1000 bytes: the first object defines them, the others refer to them.
func amf3TraitsBomb() []byte {
	name := strings.Repeat("k", 1000)
	b := []byte{0x11, 0x09}
	b = append(b, u29(2*1200+1)...)
	b = append(b, 0x01)
	// The first object defines traits with one member of 1000 bytes.
	b = append(b, 0x0a, 0x13, 0x01) // inline object, inline sealed traits with 1 member, no class
	b = append(b, u29(uint32(2*len(name)+1))...)
	b = append(b, name...)
	b = append(b, 0x01) // its value: null
	for range 1199 {
		b = append(b, 0x0a, 0x01, 0x01) // an object by traits reference 0, value null
	}
	return b
}

// A sealed object by traits reference repeats every member name in full, so
// those names count as what references stand for.
func TestAMF3TraitsReferencesCountTheNamesTheyRepeat(t *testing.T) {
	b := amf3TraitsBomb()
	if _, err := DecodeAMF0(b); err == nil || !strings.Contains(err.Error(), "references stand for more than") {
		t.Fatalf("1200 objects repeating a 1000-byte name in %d bytes: got %v, want refused", len(b), err)
	}
}

// amf3DeepReference is an array nested 20 deep, then a reference to it from
// under above levels of arrays.
func amf3DeepReference(above int) []byte {
	b := []byte{0x11}
	for range 20 {
		b = append(b, 0x09, 0x03, 0x01) // an array of one element
	}
	b = append(b, 0x01, 0x11) // null at the bottom, then the second value
	for range above {
		b = append(b, 0x09, 0x03, 0x01)
	}
	return append(b, 0x09, 0x00) // a reference to the first array
}

// A reference places a whole earlier value where it stands: nested 20 deep, it
// fits at depth 6 but not at depth 16, as if written out there.
func TestAMF3ReferenceCannotNestDeeperThanTheLimit(t *testing.T) {
	for _, tc := range []struct {
		above int
		ok    bool
	}{{5, true}, {15, false}} {
		vals, err := DecodeAMF0(amf3DeepReference(tc.above))
		if !tc.ok {
			if err == nil || !strings.Contains(err.Error(), "nests deeper than") {
				t.Errorf("reference under %d levels: got %v, want refused", tc.above, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("reference under %d levels: %v", tc.above, err)
		}
		if _, err := AppendAMF0(nil, vals...); err != nil {
			t.Errorf("reference under %d levels decoded, but does not encode: %v", tc.above, err)
		}
	}
}
