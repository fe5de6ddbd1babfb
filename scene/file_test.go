package scene

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// base is a valid collection; each malformed case edits one thing in it. It
// names the files fixtures makes.
const base = `{
  "version": 1,
  "canvas": {"width": 1280, "height": 720},
  "transition": {"kind": "cut"},
  "sources": [
    {"name": "bg", "type": "colour", "colour": "#102030"},
    {"name": "logo", "type": "image", "path": "logo.png"},
    {"name": "title", "type": "text", "text": {"text": "Hello", "font": "font.ttf"}}
  ],
  "scenes": [
    {"name": "Main", "layers": [
      {"source": "bg"},
      {"source": "logo", "x": 10, "y": 10, "width": 200, "height": 200},
      {"source": "title", "x": 10, "y": 600, "width": 600, "height": 80}
    ]}
  ]
}
`

// fixtures makes a directory with the files base names: logo.png (200x200),
// font.ttf (a font's first bytes), notes.gif and bad-font.ttf (neither what
// its name says).
func fixtures(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	var pic bytes.Buffer
	if err := png.Encode(&pic, image.NewNRGBA(image.Rect(0, 0, 200, 200))); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"logo.png":     pic.Bytes(),
		"font.ttf":     []byte("\x00\x01\x00\x00 and the rest of a font"),
		"notes.gif":    []byte("GIF89a"),
		"bad-font.ttf": []byte("<html>not a font</html>"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// malformedCase is a collection file with one thing wrong, and where Load
// must say it is.
type malformedCase struct {
	name     string
	old, new string // base with old replaced by new; or
	raw      string // this file
	field    string // Error.Field
	at       string // the line with the first occurrence of this is Error.Line
	line     int    // or this line
	msg      string // in the message
	is       error  // errors.Is holds too
}

func (tc malformedCase) doc() string {
	if tc.raw != "" || tc.old == "" {
		return tc.raw
	}
	if !strings.Contains(base, tc.old) {
		panic(tc.name + ": base has no " + tc.old)
	}
	return strings.Replace(base, tc.old, tc.new, 1)
}

func (tc malformedCase) wantLine(t *testing.T) int {
	if tc.line != 0 {
		return tc.line
	}
	doc := tc.doc()
	i := strings.Index(doc, tc.at)
	if tc.at == "" || i < 0 {
		t.Fatalf("the file has no %q to find the line by", tc.at)
	}
	return 1 + strings.Count(doc[:i], "\n")
}

var thousandLayers = strings.Repeat("      {\"source\": \"bg\"},\n", 1000)

var malformed = []malformedCase{
	// files
	{name: "missing image", old: `"path": "logo.png"`, new: `"path": "missing.png"`,
		field: "sources[1].path", at: `"missing.png"`, msg: `missing.png" does not exist`, is: fs.ErrNotExist},
	{name: "missing font", old: `"font": "font.ttf"`, new: `"font": "nofont.ttf"`,
		field: "sources[2].text.font", at: `"nofont.ttf"`, msg: `nofont.ttf" does not exist`, is: fs.ErrNotExist},
	{name: "image not png or jpeg", old: `"path": "logo.png"`, new: `"path": "notes.gif"`,
		field: "sources[1].path", at: `"notes.gif"`, msg: "use a PNG or JPEG file"},
	{name: "font not a font", old: `"font": "font.ttf"`, new: `"font": "bad-font.ttf"`,
		field: "sources[2].text.font", at: `"bad-font.ttf"`, msg: "is not a TrueType or OpenType font"},

	// sources
	{name: "unknown source type", old: `"type": "image"`, new: `"type": "webcam"`,
		field: "sources[1].type", at: `"webcam"`, msg: `unknown source type "webcam" (known: test, colour, image, text, media, camera, screen, microphone, desktop, audio, tone)`},
	{name: "duplicate source names", old: `{"name": "logo"`, new: `{"name": "bg"`,
		field: "sources[1].name", at: `{"name": "bg", "type": "image"`, msg: `"bg" is the name of sources[0] already`},
	{name: "bad colour", old: `"#102030"`, new: `"#10203"`,
		field: "sources[0].colour", at: `"#10203"`, msg: `"#10203" is not a colour`},
	{name: "colour source without colour", old: `, "colour": "#102030"`, new: ``,
		field: "sources[0].colour", at: `{"name": "bg"`, msg: "a colour source needs a colour"},
	{name: "field of another type", old: `{"name": "title", "type": "text",`, new: `{"name": "title", "type": "text", "colour": "#ff0000",`,
		field: "sources[2].colour", at: `"#ff0000"`, msg: "a text source has no colour; the words' colour is text.colour"},
	{name: "text without words or file", old: `{"text": "Hello", "font": "font.ttf"}`, new: `{"font": "font.ttf"}`,
		field: "sources[2].text", at: `{"font": "font.ttf"}`, msg: "needs text (the words) or file"},
	{name: "text size out of range", old: `"text": "Hello",`, new: `"text": "Hello", "size": 1000,`,
		field: "sources[2].text.size", at: `"size": 1000`, msg: "must be 4..512 (got 1000)"},

	// sound
	{name: "sound on a picture", old: `"path": "logo.png"}`, new: `"path": "logo.png", "audio": {"gain_db": -6}}`,
		field: "sources[1].audio", at: `"gain_db": -6`, msg: "a source of type image has no sound"},
	{name: "gain out of range", old: `{"name": "bg", "type": "colour", "colour": "#102030"}`,
		new:   `{"name": "bg", "type": "colour", "colour": "#102030"}, {"name": "mic", "type": "microphone", "audio": {"gain_db": 40}}`,
		field: "sources[1].audio.gain_db", at: `"gain_db": 40`, msg: "must be -100..20 (got 40)"},
	{name: "unknown filter", old: `{"name": "bg", "type": "colour", "colour": "#102030"}`,
		new:   `{"name": "bg", "type": "colour", "colour": "#102030"}, {"name": "mic", "type": "microphone", "audio": {"filters": [{"kind": "reverb"}]}}`,
		field: "sources[1].audio.filters[0].kind", at: `"reverb"`, msg: `unknown filter "reverb" (known: noise_gate, compressor, limiter, noise_suppression)`},
	{name: "setting of another filter", old: `{"name": "bg", "type": "colour", "colour": "#102030"}`,
		new:   `{"name": "bg", "type": "colour", "colour": "#102030"}, {"name": "mic", "type": "microphone", "audio": {"filters": [{"kind": "limiter", "ratio": 4}]}}`,
		field: "sources[1].audio.filters[0].ratio", at: `"ratio": 4`, msg: "a limiter filter has no ratio"},
	{name: "clock of a device that is not a stand-in", old: `{"name": "bg", "type": "colour", "colour": "#102030"}`,
		new:   `{"name": "bg", "type": "colour", "colour": "#102030"}, {"name": "mic", "type": "microphone", "clock_ppm": 1000}`,
		field: "sources[1].clock_ppm", at: `"clock_ppm": 1000`, msg: "a microphone source has no clock_ppm"},
	{name: "tone clock out of range", old: `{"name": "bg", "type": "colour", "colour": "#102030"}`,
		new:   `{"name": "bg", "type": "colour", "colour": "#102030"}, {"name": "usb", "type": "tone", "clock_ppm": -6000}`,
		field: "sources[1].clock_ppm", at: `"clock_ppm": -6000`, msg: "must be -5000..5000 (got -6000)"},
	{name: "push to talk on a tone", old: `{"name": "bg", "type": "colour", "colour": "#102030"}`,
		new:   `{"name": "bg", "type": "colour", "colour": "#102030"}, {"name": "t", "type": "tone", "audio": {"push": "talk", "push_key": "F9"}}`,
		field: "sources[1].audio.push", at: `"talk"`, msg: "push to talk or mute is for microphones, not a tone source"},
	{name: "push without a key", old: `{"name": "bg", "type": "colour", "colour": "#102030"}`,
		new:   `{"name": "bg", "type": "colour", "colour": "#102030"}, {"name": "mic", "type": "microphone", "audio": {"push": "talk"}}`,
		field: "sources[1].audio.push_key", at: `{"push": "talk"}`, msg: "push talk needs a key"},
	{name: "unknown push mode", old: `{"name": "bg", "type": "colour", "colour": "#102030"}`,
		new:   `{"name": "bg", "type": "colour", "colour": "#102030"}, {"name": "mic", "type": "microphone", "audio": {"push": "hold", "push_key": "F9"}}`,
		field: "sources[1].audio.push", at: `"hold"`, msg: `must be "talk" or "mute" (got "hold")`},
	{name: "unknown push key", old: `{"name": "bg", "type": "colour", "colour": "#102030"}`,
		new:   `{"name": "bg", "type": "colour", "colour": "#102030"}, {"name": "mic", "type": "microphone", "audio": {"push": "mute", "push_key": "LeftControl"}}`,
		field: "sources[1].audio.push_key", at: `"LeftControl"`, msg: `unknown key "LeftControl"`},
	{name: "push key without push", old: `{"name": "bg", "type": "colour", "colour": "#102030"}`,
		new:   `{"name": "bg", "type": "colour", "colour": "#102030"}, {"name": "mic", "type": "microphone", "audio": {"push_key": "F9"}}`,
		field: "sources[1].audio.push_key", at: `"F9"`, msg: "a key without push"},
	{name: "compressor threshold the mixer refuses", old: `{"name": "bg", "type": "colour", "colour": "#102030"}`,
		new:   `{"name": "bg", "type": "colour", "colour": "#102030"}, {"name": "mic", "type": "microphone", "audio": {"filters": [{"kind": "compressor", "threshold_db": -70}]}}`,
		field: "sources[1].audio.filters[0].threshold_db", at: `"threshold_db": -70`, msg: "must be -60..0 (got -70)"},
	{name: "limiter ceiling the mixer refuses", old: `{"name": "bg", "type": "colour", "colour": "#102030"}`,
		new:   `{"name": "bg", "type": "colour", "colour": "#102030"}, {"name": "mic", "type": "microphone", "audio": {"filters": [{"kind": "limiter", "ceiling_db": -28}]}}`,
		field: "sources[1].audio.filters[0].ceiling_db", at: `"ceiling_db": -28`, msg: "must be -24..0 (got -28)"},
	{name: "missing audio file", old: `{"name": "bg", "type": "colour", "colour": "#102030"}`,
		new:   `{"name": "bg", "type": "colour", "colour": "#102030"}, {"name": "music", "type": "audio", "path": "gone.mp3"}`,
		field: "sources[1].path", at: `"gone.mp3"`, msg: `gone.mp3" does not exist`, is: fs.ErrNotExist},

	// scenes and layers
	{name: "negative size", old: `"width": 200, "height": 200`, new: `"width": -5, "height": 200`,
		field: "scenes[0].layers[1].width", at: `"width": -5`, msg: "must be greater than 0 (got -5)"},
	{name: "layer off the canvas", old: `"x": 10, "y": 600`, new: `"x": 1300, "y": 600`,
		field: "scenes[0].layers[2]", at: `"x": 1300`, msg: "is entirely off the canvas (canvas 1280x720, layer at x=1300 y=600 w=600 h=80)"},
	{name: "1000 layers", old: "      {\"source\": \"bg\"},\n", new: thousandLayers,
		field: "scenes[0].layers", at: `"layers": [`, msg: "has more than 64 layers; a scene may have at most 64"},
	{name: "duplicate scene names", old: `{"name": "Main", "layers": [`, new: "{\"name\": \"Main\", \"layers\": []},\n    {\"name\": \"Main\", \"layers\": [",
		field: "scenes[1].name", at: "\"Main\", \"layers\": [\n", msg: `"Main" is the name of scenes[0] already`},
	{name: "scene name with a space", old: `"name": "Main"`, new: `"name": "Main "`,
		field: "scenes[0].name", at: `"Main "`, msg: "begins or ends with a space"},
	{name: "layer of no source", old: `{"source": "bg"}`, new: `{"source": "nothing"}`,
		field: "scenes[0].layers[0].source", at: `"nothing"`, msg: `no source is named "nothing" (sources: "bg", "logo", "title")`},
	{name: "negative crop", old: `"width": 200, "height": 200}`, new: "\"width\": 200, \"height\": 200,\n        \"crop\": {\"left\": -1}}",
		field: "scenes[0].layers[1].crop.left", at: `"left": -1`, msg: "must not be negative (got -1)"},
	{name: "crop leaves nothing of an image", old: `"width": 200, "height": 200}`, new: "\"width\": 200, \"height\": 200,\n        \"crop\": {\"left\": 150, \"right\": 50}}",
		field: "scenes[0].layers[1].crop", at: `"crop"`, msg: `leave nothing of the 200x200 image "logo"`},
	{name: "opacity above 1", old: `{"source": "bg"}`, new: `{"source": "bg", "opacity": 1.5}`,
		field: "scenes[0].layers[0].opacity", at: `"opacity": 1.5`, msg: "must be 0..1 (got 1.5)"},
	{name: "unknown fit", old: `{"source": "bg"}`, new: `{"source": "bg", "fit": "zoom"}`,
		field: "scenes[0].layers[0].fit", at: `"zoom"`, msg: `unknown fit "zoom" (known: fit, fill, stretch)`},
	{name: "no scenes", raw: "{\n  \"canvas\": {\"width\": 640, \"height\": 360},\n  \"scenes\": []\n}\n",
		field: "scenes", line: 3, msg: "a collection needs at least one scene"},
	{name: "active names no scene", old: `"version": 1,`, new: "\"version\": 1,\n  \"active\": \"Nope\",",
		field: "active", at: `"Nope"`, msg: `no scene is named "Nope" (scenes: "Main")`},

	// the collection
	{name: "version 2", old: `"version": 1`, new: `"version": 2`,
		field: "version", at: `"version"`, msg: "2 is not a version this Tally reads (it reads 1)"},
	{name: "odd canvas", old: `"width": 1280`, new: `"width": 1281`,
		field: "canvas.width", at: `1281`, msg: "must be even (got 1281)"},
	{name: "unknown transition", old: `"kind": "cut"`, new: `"kind": "wipe"`,
		field: "transition.kind", at: `"wipe"`, msg: `unknown transition "wipe" (known: cut, fade)`},
	{name: "transition too long", old: `"kind": "cut"`, new: `"kind": "fade", "duration_ms": 9000`,
		field: "transition.duration_ms", at: `9000`, msg: "must be 0..5000 ms (got 9000)"},

	// JSON
	{name: "syntax error", old: `"version": 1,`, new: `"version": 1`,
		field: "", at: `"canvas"`, msg: `invalid character '"' after object key:value pair`},
	{name: "comma after the last element", old: "\"height\": 80}\n", new: "\"height\": 80},\n",
		field: "scenes[0].layers[3]", at: "]}", msg: "(a comma after the last element?)"},
	{name: "cut short", raw: base[:strings.Index(base, `"scenes"`)],
		field: "", line: 10, msg: "unexpected end of JSON input"},
	{name: "empty file", raw: " \n",
		field: "", line: 1, msg: "the file is empty"},
	{name: "null", raw: "null\n",
		field: "", line: 1, msg: "must hold an object"},
	{name: "more after the end", raw: base + "{}\n",
		field: "", line: 18, msg: "more follows the end of the collection: an object"},
	{name: "wrong type", old: `"width": 1280`, new: `"width": "1280"`,
		field: "canvas.width", at: `"1280"`, msg: `must be a whole number, not the string "1280"`},
	{name: "fraction for a whole number", old: `"x": 10, "y": 10`, new: `"x": 10.5, "y": 10`,
		field: "scenes[0].layers[1].x", at: `10.5`, msg: "must be a whole number, not the number 10.5"},
	{name: "number out of range", old: `"x": 10, "y": 10`, new: `"x": 99999999999999999999, "y": 10`,
		field: "scenes[0].layers[1].x", at: `99999999999999999999`, msg: "99999999999999999999 is out of range"},
	{name: "list for an object", old: `{"width": 1280, "height": 720}`, new: `[1280, 720]`,
		field: "canvas", at: `[1280, 720]`, msg: "must be an object ({…}), not a list"},
	{name: "unknown field", old: `"colour": "#102030"`, new: `"color": "#102030"`,
		field: "sources[0].color", at: `"color"`, msg: `unknown field "color" (did you mean "colour"?)`},
	{name: "field in the wrong case", old: `"width": 200`, new: `"Width": 200`,
		field: "scenes[0].layers[1].Width", at: `"Width"`, msg: `unknown field "Width" (did you mean "width"?)`},
	{name: "unknown field far from any", old: `"version": 1,`, new: "\"version\": 1,\n  \"background\": \"#000000\",",
		field: "background", at: `"background"`, msg: `unknown field "background" (known: active, canvas, master, scenes, sources, transition, version)`},
	{name: "field given twice", old: `"kind": "cut"`, new: `"kind": "cut", "kind": "fade"`,
		field: "transition.kind", at: `"kind": "fade"`, msg: "is given twice"},
}

// TestLoadMalformed checks that each malformed file is refused with an error
// that is ErrInvalid and names the file, the line and the field.
func TestLoadMalformed(t *testing.T) {
	dir := fixtures(t)
	for _, tc := range malformed {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "scenes.json")
			if err := os.WriteFile(path, []byte(tc.doc()), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path)
			if err == nil {
				t.Fatalf("loaded: %+v", c)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v: not ErrInvalid", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("%v: not %v", err, tc.is)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%v (%T) is not an *Error", err, err)
			}
			line := tc.wantLine(t)
			if e.File != path || e.Line != line || e.Field != tc.field {
				t.Errorf("%v: file %q line %d field %q, want %q line %d field %q", err, e.File, e.Line, e.Field, path, line, tc.field)
			}
			msg := err.Error()
			prefix := fmt.Sprintf("%s:%d: ", path, line)
			if tc.field != "" {
				prefix += tc.field + ": "
			}
			if !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tc.msg) {
				t.Errorf("message\n\t%s\nwant it to start %q and say %q", msg, prefix, tc.msg)
			}
		})
	}
}

// TestParseErrorsNameTheLine: without a file, the message starts "line N:".
func TestParseErrorsNameTheLine(t *testing.T) {
	_, err := Parse([]byte(strings.Replace(base, `"width": 200`, `"width": -5`, 1)), fixtures(t))
	want := "line 13: scenes[0].layers[1].width: must be greater than 0 (got -5)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// TestSyntaxErrorIsTheDecoders: a syntax error is a *json.SyntaxError too.
func TestSyntaxErrorIsTheDecoders(t *testing.T) {
	_, err := Parse([]byte(`{"version": 1,}`), "")
	var se *json.SyntaxError
	if !errors.As(err, &se) || !errors.Is(err, ErrInvalid) {
		t.Errorf("%v: want a *json.SyntaxError and ErrInvalid", err)
	}
}

// TestLoadRefusesLargeFiles: over MaxFileSize, before parsing anything.
func TestLoadRefusesLargeFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scenes.json")
	big := base[:len(base)-2] + strings.Repeat(" ", MaxFileSize) + "}\n"
	if err := os.WriteFile(path, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "larger than 4 MiB") {
		t.Errorf("got %v, want the file refused for its size", err)
	}
	if _, err := Parse([]byte(big), ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("Parse: got %v", err)
	}
}

// TestLoadMissingFileIsNotExist: no file is fs.ErrNotExist, and not
// ErrInvalid, so the studio can tell it from a broken one.
func TestLoadMissingFileIsNotExist(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "scenes.json"))
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrInvalid) {
		t.Errorf("got %v, want fs.ErrNotExist and not ErrInvalid", err)
	}
}

// TestLoadNormalisesAndResolves: defaults filled in, "color" read as
// "colour", colours in lower case, paths absolute against the file's
// directory, a 0x0 layer the whole canvas.
func TestLoadNormalisesAndResolves(t *testing.T) {
	dir := fixtures(t)
	doc := `{
  "canvas": {"width": 640, "height": 360},
  "transition": {"kind": "fade"},
  "sources": [
    {"name": "bg", "type": "color", "colour": "#A0B0C0"},
    {"name": "logo", "type": "image", "path": "./sub/../logo.png"},
    {"name": "title", "type": "text", "text": {"file": "now-playing.txt", "outline": "#000000"}}
  ],
  "scenes": [{"name": "Main", "layers": [{"source": "bg"}, {"source": "logo", "width": 100, "height": 100}]}]
}`
	c, err := Parse([]byte(doc), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := &Collection{
		Version:    1,
		Canvas:     Size{640, 360},
		Transition: Transition{Kind: "fade", DurationMS: 300},
		Sources: []Source{
			{Name: "bg", Type: "colour", Colour: "#a0b0c0"},
			{Name: "logo", Type: "image", Path: filepath.Join(dir, "logo.png")},
			{Name: "title", Type: "text", Text: &Text{File: filepath.Join(dir, "now-playing.txt"),
				Size: 48, Colour: "#ffffff", Outline: "#000000", OutlineWidth: 2}},
		},
		Scenes: []Scene{{Name: "Main", Layers: []Layer{
			{Source: "bg", Width: 640, Height: 360, Fit: "fit"},
			{Source: "logo", Width: 100, Height: 100, Fit: "fit"},
		}}},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got\n%#v\nwant\n%#v", c, want)
	}
	if c.ActiveScene().Name != "Main" {
		t.Errorf("active scene %q, want the first", c.ActiveScene().Name)
	}
}

// TestExamplesLoad loads every example in docs/scenes, which must use only
// sources every machine has.
func TestExamplesLoad(t *testing.T) {
	paths, err := filepath.Glob("../docs/scenes/*.json")
	if err != nil || len(paths) < 3 {
		t.Fatalf("examples: %v %v", paths, err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			c, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range c.Sources {
				switch s.Type {
				case TypeTest, TypeColour, TypeText, TypeImage, TypeTone:
				default:
					t.Errorf("source %q is a %s, which not every machine has", s.Name, s.Type)
				}
			}
			// They are written as Save writes, so they show the real format.
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			out, err := c.Encode(filepath.Dir(path))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, data) {
				t.Errorf("Save would write it differently:\n%s", out)
			}
		})
	}
}

// TestLoadSaveLoad: what Save writes loads back equal, saved beside its
// pictures (paths relative) or elsewhere (absolute).
func TestLoadSaveLoad(t *testing.T) {
	dir := fixtures(t)
	path := filepath.Join(dir, "scenes.json")
	if err := os.WriteFile(path, []byte(base), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{filepath.Join(dir, "saved.json"), filepath.Join(t.TempDir(), "elsewhere", "saved.json")} {
		if err := c.Save(to); err != nil {
			t.Fatal(err)
		}
		again, err := Load(to)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(c, again) {
			t.Errorf("%s: loaded\n%+v\nsaved and loaded again\n%+v", to, c, again)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "saved.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(`"path": "logo.png"`)) || !bytes.Contains(data, []byte(`"font": "font.ttf"`)) {
		t.Errorf("paths beside the file are not written relative:\n%s", data)
	}
	if !bytes.HasPrefix(data, []byte("{\n  \"version\": 1,\n")) || !bytes.HasSuffix(data, []byte("}\n")) {
		t.Errorf("not two-space indented JSON with a newline at the end:\n%s", data)
	}
}

// TestDefaultIsValid: the first-run collection validates and survives a
// round trip.
func TestDefaultIsValid(t *testing.T) {
	c := Default(1280, 720)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	data, err := c.Encode("")
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(data, "")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, again) {
		t.Errorf("got %+v, want %+v", again, c)
	}
	if s := c.ActiveScene(); s == nil || s.Name != "Scene" || len(s.Layers) != 1 || s.Layers[0].Source != "Test pattern" {
		t.Errorf("active scene %+v", s)
	}
}

// TestErrorMessage: file and line are left out when unknown.
func TestErrorMessage(t *testing.T) {
	err := &problem{msg: "must be greater than 0 (got -5)"}
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{File: "scenes.json", Line: 14, Field: "scenes[0].layers[2].width", Err: err}, "scenes.json:14: scenes[0].layers[2].width: must be greater than 0 (got -5)"},
		{Error{File: "scenes.json", Field: "scenes[0].layers[2].width", Err: err}, "scenes.json: scenes[0].layers[2].width: must be greater than 0 (got -5)"},
		{Error{Line: 14, Field: "scenes[0].layers[2].width", Err: err}, "line 14: scenes[0].layers[2].width: must be greater than 0 (got -5)"},
		{Error{Field: "scenes[0].layers[2].width", Err: err}, "scenes[0].layers[2].width: must be greater than 0 (got -5)"},
		{Error{File: "scenes.json", Line: 1, Err: err}, "scenes.json:1: must be greater than 0 (got -5)"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
		if !errors.Is(&tc.e, ErrInvalid) {
			t.Errorf("%v is not ErrInvalid", &tc.e)
		}
	}
}

// TestParseColour: both lengths, either case, and what is not a colour.
func TestParseColour(t *testing.T) {
	for s, want := range map[string][4]uint8{
		"#102030":   {0x10, 0x20, 0x30, 0xff},
		"#A0b0C080": {0xa0, 0xb0, 0xc0, 0x80},
	} {
		c, err := ParseColour(s)
		if err != nil || [4]uint8{c.R, c.G, c.B, c.A} != want {
			t.Errorf("%s: got %v %v", s, c, err)
		}
	}
	for _, s := range []string{"", "#", "102030", "#10203", "#1020304", "#10203g", "#fff", "#+1020304", "red"} {
		if _, err := ParseColour(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: got %v, want ErrInvalid", s, err)
		}
	}
}
