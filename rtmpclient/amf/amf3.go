package amf

import "strconv"

// AMF3 type markers (Adobe AMF3 specification, section 3.1).
const (
	amf3Undefined = 0x00
	amf3Null      = 0x01
	amf3False     = 0x02
	amf3True      = 0x03
	amf3Integer   = 0x04
	amf3Double    = 0x05
	amf3String    = 0x06
	amf3XMLDoc    = 0x07
	amf3Date      = 0x08
	amf3Array     = 0x09
	amf3Object    = 0x0a
	amf3XML       = 0x0b
	amf3ByteArray = 0x0c
)

// amf3Tables are AMF3's per-message reference tables. Entries are bounded by the
// decoder's item limit, because each one comes from a decoded value.
type amf3Tables struct {
	strings []string
	objects []amf3Entry
	traits  []amf3Traits
}

// amf3Entry is a value in the object reference table, with what a reference
// to it stands for: size, its bytes after its header plus what the references
// inside it stand for; height, how many levels it nests below itself.
type amf3Entry struct {
	v      any
	size   int
	height int
}

// amf3Start marks where a value that goes into the object table begins, so
// that entry can measure it when it ends.
type amf3Start struct {
	off, expanded, depth, deepest int
}

// startEntry is called once the header of a value at depth has been read.
func (d *amfDecoder) startEntry(depth int) amf3Start {
	s := amf3Start{off: d.off, expanded: d.expanded, depth: depth, deepest: d.deepest}
	d.deepest = depth
	return s
}

// entry measures the value started at s, now fully read.
func (d *amfDecoder) entry(v any, s amf3Start) amf3Entry {
	e := amf3Entry{v: v, size: d.off - s.off + d.expanded - s.expanded, height: d.deepest - s.depth}
	d.deepest = max(d.deepest, s.deepest)
	return e
}

// resolve accounts for a reference at depth to something of the given size
// and height, refusing it when the values it makes would exceed the limits.
func (d *amfDecoder) resolve(depth, size, height int) error {
	if d.expanded += size; d.expanded > maxAMFExpansion {
		return d.errorf("amf3 references stand for more than %d bytes", maxAMFExpansion)
	}
	if depth+height > maxAMFDepth {
		return d.errorf("amf3 reference nests deeper than %d", maxAMFDepth)
	}
	d.deepest = max(d.deepest, depth+height)
	return nil
}

type amf3Traits struct {
	class   string
	dynamic bool
	members []string
}

// u29 reads AMF3's variable-length 29-bit integer.
func (d *amfDecoder) u29() (uint32, error) {
	var v uint32
	for i := 0; i < 4; i++ {
		b, err := d.u8()
		if err != nil {
			return 0, err
		}
		if i == 3 {
			return v<<8 | uint32(b), nil
		}
		v = v<<7 | uint32(b&0x7f)
		if b&0x80 == 0 {
			return v, nil
		}
	}
	return v, nil
}

func (d *amfDecoder) amf3String() (string, error) {
	ref, err := d.u29()
	if err != nil {
		return "", err
	}
	if ref&1 == 0 {
		i := int(ref >> 1)
		if i >= len(d.amf3.strings) {
			return "", d.errorf("amf3 string reference %d out of range", i)
		}
		s := d.amf3.strings[i]
		return s, d.resolve(0, len(s), 0)
	}
	b, err := d.bytes(int(ref >> 1))
	if err != nil {
		return "", err
	}
	s := string(b)
	if s != "" { // the empty string is never added to the table
		d.amf3.strings = append(d.amf3.strings, s)
	}
	return s, nil
}

// amf3Value decodes one AMF3 value (after an AMF0 0x11 marker, or in an AMF3 message).
func (d *amfDecoder) amf3Value(depth int) (any, error) {
	if depth > maxAMFDepth {
		return nil, d.errorf("nesting deeper than %d", maxAMFDepth)
	}
	if d.items++; d.items > maxAMFItems {
		return nil, d.errorf("more than %d values", maxAMFItems)
	}
	d.deepest = max(d.deepest, depth)
	marker, err := d.u8()
	if err != nil {
		return nil, err
	}
	switch marker {
	case amf3Undefined:
		return Undefined{}, nil
	case amf3Null:
		return nil, nil
	case amf3False:
		return false, nil
	case amf3True:
		return true, nil
	case amf3Integer:
		v, err := d.u29()
		if err != nil {
			return nil, err
		}
		if v&(1<<28) != 0 { // sign-extend 29 bits
			return float64(int32(v | 0xe0000000)), nil
		}
		return float64(v), nil
	case amf3Double:
		return d.f64()
	case amf3String:
		return d.amf3String()
	case amf3XMLDoc, amf3XML, amf3ByteArray:
		ref, v, inline, err := d.amf3Header(depth)
		if !inline {
			return v, err
		}
		start := d.startEntry(depth)
		b, err := d.bytes(int(ref >> 1))
		if err != nil {
			return nil, err
		}
		v = XMLDocument(b)
		if marker == amf3ByteArray {
			v = append([]byte(nil), b...)
		}
		d.amf3.objects = append(d.amf3.objects, d.entry(v, start))
		return v, nil
	case amf3Date:
		_, v, inline, err := d.amf3Header(depth)
		if !inline {
			return v, err
		}
		start := d.startEntry(depth)
		ms, err := d.f64()
		if err != nil {
			return nil, err
		}
		t := dateFromMillis(ms)
		d.amf3.objects = append(d.amf3.objects, d.entry(t, start))
		return t, nil
	case amf3Array:
		return d.amf3Array(depth)
	case amf3Object:
		return d.amf3Object(depth)
	}
	return nil, d.errorf("unsupported amf3 type marker 0x%02x", marker)
}

// amf3Ref resolves a reference, at depth, to an earlier complex value. A
// reference to a value still being read (its own ancestor) gives nil, so
// decoded values never hold cycles.
func (d *amfDecoder) amf3Ref(ref uint32, depth int) (any, error) {
	i := int(ref >> 1)
	if i >= len(d.amf3.objects) {
		return nil, d.errorf("amf3 object reference %d out of range", i)
	}
	e := d.amf3.objects[i]
	return e.v, d.resolve(depth, e.size, e.height)
}

// amf3Array returns an ECMAArray when the array has named members, else []any.
func (d *amfDecoder) amf3Array(depth int) (any, error) {
	ref, v, inline, err := d.amf3Header(depth)
	if !inline {
		return v, err
	}
	n := int(ref >> 1)
	if n > len(d.b)-d.off {
		return nil, d.errorf("amf3 array claims %d elements, only %d bytes left", n, len(d.b)-d.off)
	}
	start := d.startEntry(depth)
	slot := len(d.amf3.objects)
	d.amf3.objects = append(d.amf3.objects, amf3Entry{})
	assoc, err := d.amf3Pairs(nil, depth)
	if err != nil {
		return nil, err
	}
	dense := make([]any, 0, n)
	for i := 0; i < n; i++ {
		v, err := d.amf3Value(depth + 1)
		if err != nil {
			return nil, err
		}
		dense = append(dense, v)
	}
	if assoc == nil {
		d.amf3.objects[slot] = d.entry(dense, start)
		return dense, nil
	}
	for i, v := range dense {
		assoc = append(assoc, Property{Key: strconv.Itoa(i), Value: v})
	}
	d.amf3.objects[slot] = d.entry(ECMAArray(assoc), start)
	return ECMAArray(assoc), nil
}

func (d *amfDecoder) amf3Object(depth int) (any, error) {
	ref, v, inline, err := d.amf3Header(depth)
	if !inline {
		return v, err
	}
	start := d.startEntry(depth)
	var traits amf3Traits
	switch {
	case ref&2 == 0: // traits by reference
		i := int(ref >> 2)
		if i >= len(d.amf3.traits) {
			return nil, d.errorf("amf3 traits reference %d out of range", i)
		}
		traits = d.amf3.traits[i]
		// The object repeats the class name and member names, in full.
		size := len(traits.class)
		for _, m := range traits.members {
			size += len(m)
		}
		if err := d.resolve(0, size, 0); err != nil {
			return nil, err
		}
	case ref&4 != 0:
		return nil, d.errorf("amf3 externalizable objects are not supported")
	default:
		traits.dynamic = ref&8 != 0
		n := int(ref >> 4)
		if n > len(d.b)-d.off {
			return nil, d.errorf("amf3 traits claim %d members, only %d bytes left", n, len(d.b)-d.off)
		}
		if traits.class, err = d.amf3String(); err != nil {
			return nil, err
		}
		for i := 0; i < n; i++ {
			m, err := d.amf3String()
			if err != nil {
				return nil, err
			}
			traits.members = append(traits.members, m)
		}
		d.amf3.traits = append(d.amf3.traits, traits)
	}
	slot := len(d.amf3.objects)
	d.amf3.objects = append(d.amf3.objects, amf3Entry{})
	var props Object
	for _, m := range traits.members {
		v, err := d.amf3Value(depth + 1)
		if err != nil {
			return nil, err
		}
		props = append(props, Property{Key: m, Value: v})
	}
	if traits.dynamic {
		if props, err = d.amf3Pairs(props, depth); err != nil {
			return nil, err
		}
	}
	v = props
	if traits.class != "" {
		v = TypedObject{Class: traits.class, Props: props}
	}
	d.amf3.objects[slot] = d.entry(v, start)
	return v, nil
}

// DecodeAMF3Command decodes the body of an AMF3 command or data message (RTMP
// types 17 and 15): a format byte (0), then AMF0 values that may switch to AMF3.
func DecodeAMF3Command(b []byte) ([]any, error) {
	if len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	return DecodeAMF0(b)
}

// amf3Pairs reads name-value pairs up to the empty name that ends them (an
// array's associative part, an object's dynamic members), appending to ps.
func (d *amfDecoder) amf3Pairs(ps []Property, depth int) ([]Property, error) {
	for {
		key, err := d.amf3String()
		if err != nil {
			return nil, err
		}
		if key == "" {
			return ps, nil
		}
		v, err := d.amf3Value(depth + 1)
		if err != nil {
			return nil, err
		}
		ps = append(ps, Property{Key: key, Value: v})
	}
}

// amf3Header reads the U29 that starts a value kept in the object table. A
// reference (low bit clear) is resolved at once and returned with inline
// false; otherwise the U29 comes back for the inline value's length or flags.
func (d *amfDecoder) amf3Header(depth int) (u29 uint32, v any, inline bool, err error) {
	ref, err := d.u29()
	if err != nil {
		return 0, nil, false, err
	}
	if ref&1 == 0 {
		v, err := d.amf3Ref(ref, depth)
		return 0, v, false, err
	}
	return ref, nil, true, nil
}
