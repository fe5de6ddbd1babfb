package scene

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// index is where each field of a collection file is written: the byte offset
// just after its key, or after the first token of a list's element, which
// is on the line the field is. Paths are those of Error.Field:
// "scenes[0].layers[2].width".
type index struct {
	data    []byte
	offsets map[string]int64
}

// line is the line field is written on, or, for a field the file leaves out,
// the line of the nearest enclosing object or list that it has.
func (ix *index) line(field string) int {
	for {
		if off, ok := ix.offsets[field]; ok {
			return lineAt(ix.data, off)
		}
		if field == "" {
			return 0
		}
		field = parentField(field)
	}
}

// parentField drops a path's last step: "a[0].b" → "a[0]" → "a" → "".
func parentField(field string) string {
	if i := strings.LastIndexAny(field, ".["); i >= 0 {
		return field[:i]
	}
	return ""
}

// lineAt is the line of the byte before offset: the last byte of the token
// a decoder's InputOffset follows, or the offending byte of a syntax error.
func lineAt(data []byte, offset int64) int {
	end := min(max(offset-1, 0), int64(len(data)))
	return 1 + bytes.Count(data[:end], []byte{'\n'})
}

// indexFile walks a collection file token by token, against the types it
// decodes into, and records where each field is. It stops at the first
// thing that is not a collection, with its line: a syntax error, a value of
// the wrong type, an unknown or repeated field, a list longer than its
// limit. What it accepts decodes without error into a Collection, and no
// larger than the limits allow: it bounds the memory decoding takes.
func indexFile(data []byte) (*index, *Error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	w := &walker{dec: dec, ix: &index{data: data, offsets: map[string]int64{}}, fields: map[reflect.Type]map[string]reflect.Type{}}
	if e := w.value("", reflect.TypeFor[Collection]()); e != nil {
		return nil, e
	}
	switch tok, err := dec.Token(); {
	case err == io.EOF:
		return w.ix, nil
	case err != nil:
		return nil, w.tokenError(err, "")
	default:
		return nil, w.at("", dec.InputOffset(), "more follows the end of the collection: %s", describe(tok))
	}
}

type walker struct {
	dec    *json.Decoder
	ix     *index
	fields map[reflect.Type]map[string]reflect.Type // JSON field names of each struct type
}

// at is a problem at path, on the line of offset.
func (w *walker) at(path string, offset int64, format string, args ...any) *Error {
	e := invalid(path, format, args...)
	e.Line = lineAt(w.ix.data, offset)
	return e
}

// value reads the value at path, which decodes into t.
func (w *walker) value(path string, t reflect.Type) *Error {
	tok, err := w.dec.Token()
	if err != nil {
		return w.tokenError(err, path)
	}
	off := w.dec.InputOffset()
	if _, ok := w.ix.offsets[path]; !ok { // a list's element, or the whole file
		w.ix.offsets[path] = off
	}
	if tok == nil {
		if path == "" {
			return w.at(path, off, "the file must hold an object ({…}), not null")
		}
		return nil // null leaves the field's zero value, as encoding/json does
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if tok != json.Delim('{') {
			return w.wrongType(path, off, tok, "an object ({…})")
		}
		return w.object(path, t)
	case reflect.Slice:
		if tok != json.Delim('[') {
			return w.wrongType(path, off, tok, "a list ([…])")
		}
		return w.list(path, t, off)
	case reflect.String:
		if _, ok := tok.(string); !ok {
			return w.wrongType(path, off, tok, "a string")
		}
	case reflect.Bool:
		if _, ok := tok.(bool); !ok {
			return w.wrongType(path, off, tok, "true or false")
		}
	case reflect.Int:
		n, ok := tok.(json.Number)
		if !ok {
			return w.wrongType(path, off, tok, "a whole number")
		}
		if _, err := strconv.ParseInt(string(n), 10, strconv.IntSize); err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return w.at(path, off, "%s is out of range", n)
			}
			return w.wrongType(path, off, tok, "a whole number")
		}
	case reflect.Float64:
		n, ok := tok.(json.Number)
		if !ok {
			return w.wrongType(path, off, tok, "a number")
		}
		if _, err := strconv.ParseFloat(string(n), 64); err != nil {
			return w.at(path, off, "%s is out of range", n)
		}
	default:
		panic("scene: no JSON rule for " + t.String()) // a field type this walk does not know
	}
	return nil
}

// object reads an object's fields after its '{'.
func (w *walker) object(path string, t reflect.Type) *Error {
	fields := w.fieldsOf(t)
	seen := map[string]bool{}
	for {
		tok, err := w.dec.Token()
		if err != nil {
			return w.tokenError(err, path)
		}
		if tok == json.Delim('}') {
			return nil
		}
		key, _ := tok.(string) // the decoder gives an object only string keys
		off := w.dec.InputOffset()
		child := key
		if path != "" {
			child = path + "." + key
		}
		ft, ok := fields[key]
		if !ok {
			return w.at(child, off, "unknown field %q%s", key, suggest(key, fields))
		}
		if seen[key] {
			return w.at(child, off, "is given twice")
		}
		seen[key] = true
		w.ix.offsets[child] = off
		if e := w.value(child, ft); e != nil {
			return e
		}
	}
}

// list reads a list's elements after its '[', which ends at offset start.
func (w *walker) list(path string, t reflect.Type, start int64) *Error {
	limit, noun, holder := listLimit(t.Elem())
	for i := 0; ; i++ {
		if !w.dec.More() {
			tok, err := w.dec.Token()
			if err != nil {
				return w.tokenError(err, path)
			}
			if tok != json.Delim(']') { // More reports false on an error too
				return w.at(path, w.dec.InputOffset(), "unexpected %s in a list", describe(tok))
			}
			return nil
		}
		if i == limit {
			return w.at(path, start, "has more than %d %s; %s may have at most %d", limit, noun, holder, limit)
		}
		if e := w.value(path+"["+strconv.Itoa(i)+"]", t.Elem()); e != nil {
			return e
		}
	}
}

// listLimit is how many elements a list of this type may hold.
func listLimit(elem reflect.Type) (limit int, noun, holder string) {
	switch elem {
	case reflect.TypeFor[Source]():
		return MaxSources, "sources", "a collection"
	case reflect.TypeFor[Scene]():
		return MaxScenes, "scenes", "a collection"
	case reflect.TypeFor[Layer]():
		return MaxLayers, "layers", "a scene"
	case reflect.TypeFor[Filter]():
		return MaxFilters, "filters", "a source"
	}
	panic("scene: no limit for a list of " + elem.String())
}

// fieldsOf is the JSON names of a struct's fields and the types they decode
// into, from the same tags encoding/json reads.
func (w *walker) fieldsOf(t reflect.Type) map[string]reflect.Type {
	if m, ok := w.fields[t]; ok {
		return m
	}
	m := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	w.fields[t] = m
	return m
}

// wrongType is a value that does not decode into its field. The walk ends
// here, so an object or list in the wrong place is never read into.
func (w *walker) wrongType(path string, off int64, tok any, want string) *Error {
	return w.at(path, off, "must be %s, not %s", want, describe(tok))
}

// describe names a token for a message.
func describe(tok any) string {
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			return "an object"
		case '[':
			return "a list"
		}
		return fmt.Sprintf("%q", string(v))
	case string:
		if r := []rune(v); len(r) > 40 {
			v = string(r[:37]) + "..."
		}
		return "the string " + strconv.Quote(v)
	case json.Number:
		return "the number " + string(v)
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return "null"
	}
	return fmt.Sprint(tok)
}

// tokenError is a failure to read the next token at path: a syntax error, or
// the end of the file before the collection's end.
func (w *walker) tokenError(err error, path string) *Error {
	data := w.ix.data
	if errors.Is(err, io.EOF) && path == "" && len(bytes.TrimSpace(data)) == 0 {
		e := invalid("", "the file is empty; a collection is an object ({…})")
		e.Line = 1
		return e
	}
	// The decoder's token errors point at the offending byte, or just after
	// it, and it reports an end of file in the middle as io.EOF. Decoding
	// the whole file again (it is known to be bad, so decoding stops at the
	// check of its syntax, before it allocates anything) gives the first
	// syntax error with the one convention, an offset just after the byte at
	// fault, and says "unexpected end of JSON input" for a truncated file.
	var se *json.SyntaxError
	if err2 := json.Unmarshal(data, &struct{}{}); errors.As(err2, &se) {
		e := invalidCause(path, se, "%s%s", se.Error(), syntaxHint(data, se.Offset))
		e.Line = lineAt(data, se.Offset)
		return e
	}
	if errors.As(err, &se) {
		e := invalidCause(path, se, "%s", se.Error())
		e.Line = lineAt(data, se.Offset+1)
		return e
	}
	e := invalidCause(path, err, "%v", err)
	e.Line = lineAt(data, w.dec.InputOffset())
	return e
}

// syntaxHint explains the commonest slip in a file written by hand: a comma
// after the last element of an object or list.
func syntaxHint(data []byte, offset int64) string {
	if offset < 1 || offset > int64(len(data)) {
		return ""
	}
	if c := data[offset-1]; c == '}' || c == ']' {
		if before := bytes.TrimRight(data[:offset-1], " \t\r\n"); bytes.HasSuffix(before, []byte(",")) {
			return " (a comma after the last element?)"
		}
	}
	return ""
}

// suggest is a hint for an unknown field: the known one it is closest to,
// or the list of known ones.
func suggest(key string, fields map[string]reflect.Type) string {
	limit := 2 // edits a slip makes; fewer for a short name
	if len(key) <= 4 {
		limit = 1
	}
	best, bestDist := "", limit+1
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
		if d := editDistance(strings.ToLower(key), name); d < bestDist || (d == bestDist && name < best) {
			best, bestDist = name, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	slices.Sort(names)
	return " (known: " + strings.Join(names, ", ") + ")"
}

// editDistance is the Levenshtein distance between two short strings.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64 // too long to be a slip of a field name
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
