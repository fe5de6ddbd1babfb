package amf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// AMF0 type markers (Adobe AMF0 specification, section 2.1).
const (
	amf0Number      = 0x00
	amf0Boolean     = 0x01
	amf0String      = 0x02
	amf0Object      = 0x03
	amf0MovieClip   = 0x04
	amf0Null        = 0x05
	amf0Undefined   = 0x06
	amf0Reference   = 0x07
	amf0ECMAArray   = 0x08
	amf0ObjectEnd   = 0x09
	amf0StrictArray = 0x0a
	amf0Date        = 0x0b
	amf0LongString  = 0x0c
	amf0Unsupported = 0x0d
	amf0RecordSet   = 0x0e
	amf0XMLDocument = 0x0f
	amf0TypedObject = 0x10
	amf0AVMPlus     = 0x11 // the value that follows is AMF3
)

// Limits on what a peer can make the decoder build. Every AMF value comes out of an
// RTMP message that is itself bounded, so these stop pathological shapes (deep
// nesting, huge claimed counts) rather than sheer size.
const (
	maxAMFDepth = 32
	maxAMFItems = 1 << 16 // values in one message, all levels together

	// AMF3 references let a few bytes stand for a value decoded earlier, so a
	// small message can describe a huge tree (arrays of references to arrays of
	// references...), which whoever encodes or prints it would then write out
	// in full. References may stand for at most this many bytes in all; real
	// peers use them to repeat keys and class names, a few bytes at a time.
	maxAMFExpansion = 1 << 20
)

// Undefined is AMF's undefined value.
type Undefined struct{}

// Property is one key/value pair of an AMF object or ECMA array, in wire order.
type Property struct {
	Key   string
	Value any
}

// Object is an AMF anonymous object. Order is kept because some servers care
// about the order of connect properties, and because golden tests compare bytes.
type Object []Property

// ECMAArray is an AMF0 associative array (used by onMetaData).
type ECMAArray []Property

// TypedObject is an AMF object with a class name.
type TypedObject struct {
	Class string
	Props Object
}

// XMLDocument is an AMF0 XML document, kept as text.
type XMLDocument string

// Get returns the value stored under key, or nil.
func (o Object) Get(key string) any { return getProp(o, key) }

// Get returns the value stored under key, or nil.
func (a ECMAArray) Get(key string) any { return getProp(a, key) }

// String returns the string under key, or "" when it is absent or not a string.
func (o Object) String(key string) string { s, _ := o.Get(key).(string); return s }

func getProp(ps []Property, key string) any {
	for _, p := range ps {
		if p.Key == key {
			return p.Value
		}
	}
	return nil
}

// AppendAMF0 appends the AMF0 encoding of each value to dst. It accepts float64
// and the other Go number types, bool, string, nil, Undefined, Object, ECMAArray,
// TypedObject, []any, XMLDocument, Reference and time.Time: every type DecodeAMF0
// returns except AMF3's []byte, which AMF0 has no type for.
func AppendAMF0(dst []byte, values ...any) ([]byte, error) {
	var err error
	for _, v := range values {
		if dst, err = appendAMF0(dst, v, 0); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

func appendAMF0(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxAMFDepth {
		return b, errors.New("amf0 encode: nesting too deep")
	}
	switch v := v.(type) {
	case nil:
		return append(b, amf0Null), nil
	case Undefined:
		return append(b, amf0Undefined), nil
	case float64:
		return appendAMF0Number(b, v), nil
	case float32:
		return appendAMF0Number(b, float64(v)), nil
	case int:
		return appendAMF0Number(b, float64(v)), nil
	case int32:
		return appendAMF0Number(b, float64(v)), nil
	case int64:
		return appendAMF0Number(b, float64(v)), nil
	case uint32:
		return appendAMF0Number(b, float64(v)), nil
	case uint64:
		return appendAMF0Number(b, float64(v)), nil
	case bool:
		if v {
			return append(b, amf0Boolean, 1), nil
		}
		return append(b, amf0Boolean, 0), nil
	case string:
		if len(v) > math.MaxUint16 {
			b = append(b, amf0LongString)
			b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
			return append(b, v...), nil
		}
		b = append(b, amf0String)
		return appendAMF0Key(b, v), nil
	case Reference:
		b = append(b, amf0Reference)
		return binary.BigEndian.AppendUint16(b, uint16(v)), nil
	case XMLDocument:
		b = append(b, amf0XMLDocument)
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		return append(b, v...), nil
	case time.Time:
		b = append(b, amf0Date)
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(float64(v.UnixMilli())))
		return append(b, 0, 0), nil // time zone: reserved, always 0
	case Object:
		b = append(b, amf0Object)
		return appendAMF0Props(b, v, depth)
	case ECMAArray:
		b = append(b, amf0ECMAArray)
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		return appendAMF0Props(b, v, depth)
	case TypedObject:
		b = append(b, amf0TypedObject)
		b = appendAMF0Key(b, v.Class)
		return appendAMF0Props(b, v.Props, depth)
	case []any:
		b = append(b, amf0StrictArray)
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		var err error
		for _, e := range v {
			if b, err = appendAMF0(b, e, depth+1); err != nil {
				return b, err
			}
		}
		return b, nil
	}
	return b, fmt.Errorf("amf0 encode: unsupported type %T", v)
}

func appendAMF0Number(b []byte, f float64) []byte {
	b = append(b, amf0Number)
	return binary.BigEndian.AppendUint64(b, math.Float64bits(f))
}

// appendAMF0Key appends a UTF-8-short string without a marker (object keys and
// string bodies). Longer keys are cut: AMF0 cannot express them.
func appendAMF0Key(b []byte, s string) []byte {
	if len(s) > math.MaxUint16 {
		s = s[:math.MaxUint16]
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func appendAMF0Props(b []byte, ps []Property, depth int) ([]byte, error) {
	var err error
	for _, p := range ps {
		b = appendAMF0Key(b, p.Key)
		if b, err = appendAMF0(b, p.Value, depth+1); err != nil {
			return b, err
		}
	}
	return append(b, 0, 0, amf0ObjectEnd), nil
}

// DecodeAMF0 decodes every AMF0 value in b. A value that switches to AMF3 (marker
// 0x11) is decoded as AMF3. Malformed input gives an error naming the offset and
// what was wrong; the decoder never allocates more than the input can justify.
func DecodeAMF0(b []byte) ([]any, error) {
	d := amfDecoder{b: b}
	var out []any
	for d.off < len(d.b) {
		v, err := d.amf0(0)
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}

// amfDecoder reads AMF0 and AMF3 from one message body.
type amfDecoder struct {
	b     []byte
	off   int
	items int
	amf3  *amf3Tables // created on the first switch to AMF3

	// expanded counts the bytes the AMF3 references resolved so far stand for,
	// and deepest is the deepest level reached, references included: written
	// out, the decoded values must stay within the limits the input is held to.
	expanded int
	deepest  int
}

func (d *amfDecoder) errorf(format string, args ...any) error {
	return fmt.Errorf("amf at byte %d: %s", d.off, fmt.Sprintf(format, args...))
}

func (d *amfDecoder) need(n int) error {
	if n < 0 || len(d.b)-d.off < n {
		return d.errorf("truncated: need %d bytes, have %d", n, len(d.b)-d.off)
	}
	return nil
}

func (d *amfDecoder) u8() (byte, error) {
	if err := d.need(1); err != nil {
		return 0, err
	}
	d.off++
	return d.b[d.off-1], nil
}

func (d *amfDecoder) u16() (uint16, error) {
	if err := d.need(2); err != nil {
		return 0, err
	}
	d.off += 2
	return binary.BigEndian.Uint16(d.b[d.off-2:]), nil
}

func (d *amfDecoder) u32() (uint32, error) {
	if err := d.need(4); err != nil {
		return 0, err
	}
	d.off += 4
	return binary.BigEndian.Uint32(d.b[d.off-4:]), nil
}

func (d *amfDecoder) f64() (float64, error) {
	if err := d.need(8); err != nil {
		return 0, err
	}
	d.off += 8
	return math.Float64frombits(binary.BigEndian.Uint64(d.b[d.off-8:])), nil
}

func (d *amfDecoder) bytes(n int) ([]byte, error) {
	if err := d.need(n); err != nil {
		return nil, err
	}
	d.off += n
	return d.b[d.off-n : d.off], nil
}

func (d *amfDecoder) shortString() (string, error) {
	n, err := d.u16()
	if err != nil {
		return "", err
	}
	s, err := d.bytes(int(n))
	return string(s), err
}

// amf0 decodes one AMF0 value. It is one switch over the type markers, long
// because AMF0 has that many; each case is a few lines.
func (d *amfDecoder) amf0(depth int) (any, error) {
	if depth > maxAMFDepth {
		return nil, d.errorf("nesting deeper than %d", maxAMFDepth)
	}
	if d.items++; d.items > maxAMFItems {
		return nil, d.errorf("more than %d values", maxAMFItems)
	}
	marker, err := d.u8()
	if err != nil {
		return nil, err
	}
	switch marker {
	case amf0Number:
		return d.f64()
	case amf0Boolean:
		v, err := d.u8()
		return v != 0, err
	case amf0String:
		return d.shortString()
	case amf0LongString, amf0XMLDocument:
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		s, err := d.bytes(int(n))
		if marker == amf0XMLDocument {
			return XMLDocument(s), err
		}
		return string(s), err
	case amf0Null:
		return nil, nil
	case amf0Undefined, amf0Unsupported:
		return Undefined{}, nil
	case amf0Object:
		return d.amf0Props(depth)
	case amf0TypedObject:
		class, err := d.shortString()
		if err != nil {
			return nil, err
		}
		props, err := d.amf0Props(depth)
		return TypedObject{Class: class, Props: props}, err
	case amf0ECMAArray:
		// The count is advisory (servers get it wrong); the end marker decides.
		if _, err := d.u32(); err != nil {
			return nil, err
		}
		props, err := d.amf0Props(depth)
		return ECMAArray(props), err
	case amf0StrictArray:
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		// Each element takes at least one byte: a count beyond what is left is a lie.
		if int64(n) > int64(len(d.b)-d.off) {
			return nil, d.errorf("strict array claims %d elements, only %d bytes left", n, len(d.b)-d.off)
		}
		arr := make([]any, 0, n)
		for i := uint32(0); i < n; i++ {
			v, err := d.amf0(depth + 1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		return arr, nil
	case amf0Date:
		ms, err := d.f64()
		if err != nil {
			return nil, err
		}
		if _, err := d.u16(); err != nil { // time zone, ignored by every implementation
			return nil, err
		}
		return dateFromMillis(ms), nil
	case amf0Reference:
		// References point at earlier complex values; no server sends them in the
		// messages Tally reads, so keep the index rather than resolve cycles.
		idx, err := d.u16()
		return Reference(idx), err
	case amf0AVMPlus:
		if d.amf3 == nil {
			d.amf3 = &amf3Tables{}
		}
		return d.amf3Value(depth + 1)
	case amf0ObjectEnd:
		return nil, d.errorf("object end marker outside an object")
	case amf0MovieClip, amf0RecordSet:
		return nil, d.errorf("reserved type marker 0x%02x", marker)
	}
	return nil, d.errorf("unknown type marker 0x%02x", marker)
}

// maxDateMillis is the range of an ActionScript Date, in milliseconds either side
// of 1970 (ECMA-262, "Time Values and Time Range").
const maxDateMillis = 8.64e15

// dateFromMillis turns an AMF date into a time. Beyond the range of an
// ActionScript Date (NaN and the infinities included) there is no date, which
// the zero time stands for; a conversion to int64 there would differ by CPU.
func dateFromMillis(ms float64) time.Time {
	if !(ms >= -maxDateMillis && ms <= maxDateMillis) {
		return time.Time{}
	}
	return time.UnixMilli(int64(ms)).UTC()
}

// Reference is an AMF0 reference to an earlier complex value, by index.
type Reference uint16

func (d *amfDecoder) amf0Props(depth int) (Object, error) {
	var props Object
	for {
		key, err := d.shortString()
		if err != nil {
			return nil, err
		}
		if key == "" {
			// Either the end marker, or (seen from some servers) an empty key
			// followed by a value; accept the marker, reject anything else.
			m, err := d.u8()
			if err != nil {
				return nil, err
			}
			if m == amf0ObjectEnd {
				return props, nil
			}
			d.off--
		}
		v, err := d.amf0(depth + 1)
		if err != nil {
			return nil, err
		}
		props = append(props, Property{Key: key, Value: v})
	}
}
