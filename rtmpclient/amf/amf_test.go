package rtmpclient

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestAMF0EncodesGoldenBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		hex  string
	}{
		{"number", 1.0, "00 3ff0000000000000"},
		{"int as number", 1935, "00 409e3c0000000000"},
		{"true", true, "01 01"},
		{"false", false, "01 00"},
		{"string", "app", "02 0003 617070"},
		{"null", nil, "05"},
		{"undefined", Undefined{}, "06"},
		{"object", Object{{Key: "app", Value: "live"}}, "03 0003 617070 02 0004 6c697665 000009"},
		{"ecma array", ECMAArray{{Key: "w", Value: 2.0}}, "08 00000001 0001 77 00 4000000000000000 000009"},
		{"strict array", []any{1.0, nil}, "0a 00000002 00 3ff0000000000000 05"},
		{"date", time.UnixMilli(1000).UTC(), "0b 408f400000000000 0000"},
		{"typed object", TypedObject{Class: "C", Props: Object{}}, "10 0001 43 000009"},
	} {
		got, err := AppendAMF0(nil, tc.v)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if want := mustHex(tc.hex); !bytes.Equal(got, want) {
			t.Errorf("%s: got %x want %x", tc.name, got, want)
		}
		back, err := DecodeAMF0(got)
		if err != nil || len(back) != 1 {
			t.Fatalf("%s: decode: %v %v", tc.name, back, err)
		}
		want := tc.v
		switch v := tc.v.(type) {
		case int:
			want = float64(v)
		case Object:
			if len(v) == 0 {
				want = Object(nil)
			}
		case TypedObject:
			want = TypedObject{Class: v.Class}
		}
		if !reflect.DeepEqual(back[0], want) {
			t.Errorf("%s: decoded %#v, want %#v", tc.name, back[0], want)
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

// A connect _result as nginx-rtmp sends it, captured from the wire.
func TestAMF0DecodesNginxConnectResult(t *testing.T) {
	b := mustHex(`02 0007 5f726573756c74 00 3ff0000000000000
		03 0006 666d73566572 02 000d 464d532f332c302c312c313233 000c 6361706162696c6974696573 00 403f000000000000 000009
		03 0005 6c6576656c 02 0006 737461747573 0004 636f6465 02 001d 4e6574436f6e6e656374696f6e2e436f6e6e6563742e53756363657373
		   000b 6465736372697074696f6e 02 0015 436f6e6e656374696f6e207375636365656465642e 000e 6f626a656374456e636f64696e67 00 0000000000000000 000009`)
	c, err := parseCommand(Message{Type: TypeCommandAMF0, Payload: b})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "_result" || c.Transaction != 1 || c.Info().String("code") != "NetConnection.Connect.Success" {
		t.Fatalf("got %+v", c)
	}
}

func TestAMF0RejectsMalformedInputWithPosition(t *testing.T) {
	for _, tc := range []struct{ name, hex, want string }{
		{"truncated number", "00 3ff0", "truncated"},
		{"string longer than input", "02 ffff 41", "truncated"},
		{"unknown marker", "42", "unknown type marker 0x42"},
		{"reserved movieclip", "04", "reserved type marker"},
		{"strict array count lies", "0a 7fffffff 05", "claims 2147483647 elements"},
		{"lone object end", "09", "object end marker outside an object"},
		{"unterminated object", "03 0001 61 05", "truncated"},
	} {
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
	for _, tc := range []struct {
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
	} {
		got, err := DecodeAMF0(mustHex(tc.hex))
		if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], tc.want) {
			t.Errorf("%s: got %#v, %v; want %#v", tc.name, got, err, tc.want)
		}
	}
}

func TestAMF3StringReferencesResolve(t *testing.T) {
	// An array of two strings, the second a reference to the first.
	got, err := DecodeAMF0(mustHex("11 09 05 01 06 07 616263 06 00"))
	if err != nil || !reflect.DeepEqual(got[0], []any{"abc", "abc"}) {
		t.Fatalf("got %#v, %v", got, err)
	}
	if _, err := DecodeAMF0(mustHex("11 06 02")); err == nil {
		t.Fatal("dangling string reference accepted")
	}
}

func TestAMF3CommandMessageDecodes(t *testing.T) {
	// Type 17: a format byte 0, then AMF0 values.
	body := append([]byte{0}, mustHex("02 0007 5f726573756c74 00 4000000000000000 05 00 3ff0000000000000")...)
	c, err := parseCommand(Message{Type: TypeCommandAMF3, Payload: body})
	if err != nil || c.Name != "_result" || c.Transaction != 2 || c.Arg(0) != 1.0 {
		t.Fatalf("got %+v, %v", c, err)
	}
}
