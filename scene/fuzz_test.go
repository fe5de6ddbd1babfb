package scene

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParse checks that Parse survives anything, that what it refuses it
// refuses with an *Error that is ErrInvalid and names a line, and that what
// it accepts, written as Save writes it, parses back equal (and is written
// the same again). It is seeded with the examples in docs/scenes and the
// malformed files of TestLoadMalformed; run it with
//
//	go test -run '^$' -fuzz FuzzParse -fuzztime 60s ./scene/
func FuzzParse(f *testing.F) {
	dir := fixtures(f) // what base and the examples name: logo.png, font.ttf
	examples, err := filepath.Glob("../docs/scenes/*.json")
	if err != nil || len(examples) == 0 {
		f.Fatalf("no examples: %v", err)
	}
	for _, path := range examples {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(base))
	for _, tc := range malformed {
		if tc.name != "1000 layers" { // large; the fuzzer finds long lists itself
			f.Add([]byte(tc.doc()))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, dir)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("%v (%T): not an *Error that is ErrInvalid", err, err)
			}
			if e.Line < 1 && len(data) <= MaxFileSize {
				t.Fatalf("%v: no line", err)
			}
			return
		}
		out, err := c.Encode(dir)
		if err != nil {
			t.Fatalf("parsed, but cannot be written: %v\n%+v", err, c)
		}
		again, err := Parse(out, dir)
		if err != nil {
			t.Fatalf("written, but does not parse: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("parsed\n%+v\nwritten and parsed again\n%+v\nwritten as\n%s", c, again, out)
		}
		if out2, err := again.Encode(dir); err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("written differently the second time (%v):\n%s\n%s", err, out, out2)
		}
	})
}
