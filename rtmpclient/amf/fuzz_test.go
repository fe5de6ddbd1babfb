package amf

import (
	"fmt"
	"math"
	"reflect"
	"testing"
)

// Fuzz targets for the AMF a peer sends. Every golden table and every input
// built for a test in amf_test.go seeds them; found inputs live in
// testdata/fuzz; `make fuzz` runs each a while.

// addGoldenAMF0 seeds f with every AMF0 byte string the tests know, prefixed
// with prefix.
func addGoldenAMF0(f *testing.F, prefix ...byte) {
	for _, tc := range amf0Golden {
		f.Add(append(prefix, mustHex(tc.hex)...))
	}
	for _, tc := range amf0DecodeGolden {
		f.Add(append(prefix, mustHex(tc.hex)...))
	}
	for _, tc := range amf0Malformed {
		f.Add(append(prefix, mustHex(tc.hex)...))
	}
	for _, tc := range amf3Golden {
		f.Add(append(prefix, mustHex(tc.hex)...))
	}
	for _, b := range [][]byte{amf3ReferenceBomb(), amf3TraitsBomb(), amf3DeepReference(5), amf3DeepReference(15)} {
		f.Add(append(prefix, b...))
	}
}

// FuzzAMF0 checks that the decoder survives anything, and that whatever it
// accepts encodes and decodes back to the same values.
func FuzzAMF0(f *testing.F) {
	addGoldenAMF0(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		vals, err := DecodeAMF0(b)
		if err != nil {
			return
		}
		checkRoundTrip(t, vals)
	})
}

// FuzzAMF3Command is FuzzAMF0 for the body of an AMF3 command or data message.
func FuzzAMF3Command(f *testing.F) {
	addGoldenAMF0(f, 0)
	f.Fuzz(func(t *testing.T, b []byte) {
		vals, err := DecodeAMF3Command(b)
		if err != nil {
			return
		}
		checkRoundTrip(t, vals)
	})
}

// checkRoundTrip encodes decoded values as AMF0 and decodes them again: the
// server relays a publisher's metadata this way, so nothing may change on the
// way. AMF3 byte arrays are the exception: AMF0 has no type for them, and the
// encoder must say so rather than write something else.
func checkRoundTrip(t *testing.T, vals []any) {
	t.Helper()
	again, err := AppendAMF0(nil, vals...)
	if err != nil {
		if hasByteArray(vals) {
			return
		}
		t.Fatalf("decoded %#v but cannot encode it: %v", vals, err)
	}
	back, err := DecodeAMF0(again)
	if err != nil {
		t.Fatalf("decoded %#v, encoded %x, which does not decode: %v", vals, again, err)
	}
	if !equalValues(vals, back) {
		t.Fatalf("decoded %#v, encoded %x, decoded again %#v", vals, again, back)
	}
}

func hasByteArray(v any) bool {
	switch v := v.(type) {
	case []byte:
		return true
	case []any:
		for _, e := range v {
			if hasByteArray(e) {
				return true
			}
		}
	case Object:
		return hasByteArray([]Property(v))
	case ECMAArray:
		return hasByteArray([]Property(v))
	case TypedObject:
		return hasByteArray([]Property(v.Props))
	case []Property:
		for _, p := range v {
			if hasByteArray(p.Value) {
				return true
			}
		}
	}
	return false
}

// equalValues is reflect.DeepEqual, except that a number is compared by its bits,
// so NaN equals the same NaN and 0 differs from -0: AMF0 carries the bits as they are.
func equalValues(a, b any) bool {
	switch a := a.(type) {
	case float64:
		b, ok := b.(float64)
		return ok && math.Float64bits(a) == math.Float64bits(b)
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) || (a == nil) != (b == nil) {
			return false
		}
		for i := range a {
			if !equalValues(a[i], b[i]) {
				return false
			}
		}
		return true
	case Object:
		b, ok := b.(Object)
		return ok && equalProps(a, b)
	case ECMAArray:
		b, ok := b.(ECMAArray)
		return ok && equalProps(a, b)
	case TypedObject:
		b, ok := b.(TypedObject)
		return ok && a.Class == b.Class && equalProps(a.Props, b.Props)
	}
	return reflect.DeepEqual(a, b)
}

func equalProps(a, b []Property) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || !equalValues(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

// The comparison itself must hold for the cases it exists for.
func TestEqualValuesTreatsNaNAsItself(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		a, b any
		want bool
	}{
		{nan, nan, true},
		{[]any{Object{{Key: "x", Value: nan}}}, []any{Object{{Key: "x", Value: nan}}}, true},
		{0.0, math.Copysign(0, -1), false},
		{Object(nil), Object{}, false},
		{1.0, "1", false},
	} {
		if got := equalValues(tc.a, tc.b); got != tc.want {
			t.Errorf("equalValues(%s, %s) = %v, want %v", fmt.Sprint(tc.a), fmt.Sprint(tc.b), got, tc.want)
		}
	}
}
