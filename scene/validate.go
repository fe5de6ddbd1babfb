package scene

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Ranges Validate holds fields to (docs/SCENES.md lists them all).
const (
	MinCanvasSize                   = 16
	MaxCanvasWidth, MaxCanvasHeight = 7680, 4320
	MinTextSize, MaxTextSize        = 4, 512
	MaxOutlineWidth                 = 20   // px
	MaxPadding                      = 200  // px
	MaxNameLength                   = 200  // bytes, in a scene's or source's name
	MaxImageSide                    = 8192 // px, the widest and tallest image a source opens
)

// Validate checks the collection against the rules in docs/SCENES.md and
// returns the first problem, an *Error that wraps ErrInvalid. It also checks
// the files sources name: an image must be a PNG or JPEG file that opens, a
// media file and a font must exist (a missing one wraps fs.ErrNotExist too);
// a text's file may not exist yet, since it is read live.
//
// It accepts what Normalise fills in (0 for a default, "color", a 0x0 layer)
// as well as the values filled in. The error has no File or Line: Load and
// Parse add them.
func (c *Collection) Validate() error {
	if e := c.check(true); e != nil {
		return e
	}
	return nil
}

// check is Validate; files says whether to look at the files sources name
// (Save does not: a file that went missing must not stop a save).
func (c *Collection) check(files bool) *Error {
	if c.Version != 0 && c.Version != FileVersion {
		return invalid("version", "%d is not a version this Tally reads (it reads %d)", c.Version, FileVersion)
	}
	if e := checkRange("canvas.width", c.Canvas.Width, MinCanvasSize, MaxCanvasWidth, ""); e != nil {
		return e
	}
	if c.Canvas.Width%2 != 0 {
		return invalid("canvas.width", "must be even (got %d)", c.Canvas.Width)
	}
	if e := checkRange("canvas.height", c.Canvas.Height, MinCanvasSize, MaxCanvasHeight, ""); e != nil {
		return e
	}
	if c.Canvas.Height%2 != 0 {
		return invalid("canvas.height", "must be even (got %d)", c.Canvas.Height)
	}
	switch c.Transition.Kind {
	case "", TransitionCut, TransitionFade:
	default:
		return invalid("transition.kind", "unknown transition %q (known: %s, %s)", c.Transition.Kind, TransitionCut, TransitionFade)
	}
	if e := checkRange("transition.duration_ms", c.Transition.DurationMS, 0, MaxFadeMS, " ms"); e != nil {
		return e
	}

	if len(c.Sources) > MaxSources {
		return invalid("sources", "has %d sources; a collection may have at most %d", len(c.Sources), MaxSources)
	}
	images := map[string]Size{} // the images' sizes, for their layers' crops
	for i := range c.Sources {
		s := &c.Sources[i]
		field := fmt.Sprintf("sources[%d]", i)
		if e := checkName(field+".name", s.Name); e != nil {
			return e
		}
		if j := c.sourceIndex(s.Name); j < i {
			return invalid(field+".name", "%q is the name of sources[%d] already", s.Name, j)
		}
		size, e := checkSource(field, s, files)
		if e != nil {
			return e
		}
		if size != (Size{}) {
			images[s.Name] = size
		}
	}

	if len(c.Scenes) == 0 {
		return invalid("scenes", "a collection needs at least one scene")
	}
	if len(c.Scenes) > MaxScenes {
		return invalid("scenes", "has %d scenes; a collection may have at most %d", len(c.Scenes), MaxScenes)
	}
	for i := range c.Scenes {
		sc := &c.Scenes[i]
		field := fmt.Sprintf("scenes[%d]", i)
		if e := checkName(field+".name", sc.Name); e != nil {
			return e
		}
		if j := c.sceneIndex(sc.Name); j < i {
			return invalid(field+".name", "%q is the name of scenes[%d] already", sc.Name, j)
		}
		if len(sc.Layers) > MaxLayers {
			return invalid(field+".layers", "has %d layers; a scene may have at most %d", len(sc.Layers), MaxLayers)
		}
		for j := range sc.Layers {
			if e := c.checkLayer(fmt.Sprintf("%s.layers[%d]", field, j), &sc.Layers[j], images); e != nil {
				return e
			}
		}
	}
	if e := checkMaster(c.Master); e != nil {
		return e
	}
	if c.Active != "" && c.sceneIndex(c.Active) < 0 {
		return invalid("active", "no scene is named %q (scenes: %s)", c.Active, nameList(c.Scenes, func(s Scene) string { return s.Name }))
	}
	return nil
}

// checkRange is a whole number in lo..hi.
func checkRange(field string, v, lo, hi int, unit string) *Error {
	if v < lo || v > hi {
		return invalid(field, "must be %d..%d%s (got %d)", lo, hi, unit, v)
	}
	return nil
}

// checkName is a scene's or source's name: something a person can read, and
// type after `scene ` on a running `tally stream`'s standard input.
func checkName(field, name string) *Error {
	switch {
	case name == "":
		return invalid(field, "must not be empty")
	case len(name) > MaxNameLength:
		return invalid(field, "is %d bytes long; a name may be at most %d", len(name), MaxNameLength)
	case !utf8.ValidString(name):
		return invalid(field, "%q is not UTF-8 text", name)
	case strings.TrimSpace(name) != name:
		return invalid(field, "%q begins or ends with a space", name)
	case strings.ContainsFunc(name, unicode.IsControl):
		return invalid(field, "%q has a control character (a tab, a line break…) in it", name)
	}
	return nil
}

// checkSource checks one source, at field ("sources[3]"). For an image whose
// file it read, it returns the image's size.
func checkSource(field string, s *Source, files bool) (Size, *Error) {
	typ := s.Type
	if typ == "color" {
		typ = TypeColour
	}
	if !slices.Contains(Types, typ) {
		if typ == "" {
			return Size{}, invalid(field+".type", "must be given, one of %s", strings.Join(Types, ", "))
		}
		return Size{}, invalid(field+".type", "unknown source type %q (known: %s)", s.Type, strings.Join(Types, ", "))
	}
	// A field another type uses is a mistake, not a setting: saying so beats
	// ignoring it (a text source's "colour" was meant for its text).
	for _, f := range []struct {
		name  string
		set   bool
		types []string
	}{
		{"colour", s.Colour != "", []string{TypeColour}},
		{"path", s.Path != "", []string{TypeImage, TypeMedia, TypeAudioFile}},
		{"loop", s.Loop, []string{TypeMedia, TypeAudioFile}},
		{"device", s.Device != "", []string{TypeCamera, TypeScreen, TypeMicrophone, TypeDesktop}},
		{"text", s.Text != nil, []string{TypeText}},
		{"frequency", s.Frequency != 0, []string{TypeTone}},
		{"clock_ppm", s.ClockPPM != 0, []string{TypeTone}},
	} {
		if f.set && !slices.Contains(f.types, typ) {
			hint := ""
			if typ == TypeText && f.name == "colour" {
				hint = "; the words' colour is text.colour"
			}
			return Size{}, invalid(field+"."+f.name, "a %s source has no %s%s", typ, f.name, hint)
		}
	}
	if e := checkAudio(field+".audio", typ, s.Audio); e != nil {
		return Size{}, e
	}
	switch typ {
	case TypeColour:
		if s.Colour == "" {
			return Size{}, invalid(field+".colour", `a colour source needs a colour, "#rrggbb" or "#rrggbbaa"`)
		}
		return Size{}, checkColour(field+".colour", s.Colour)
	case TypeImage:
		if s.Path == "" {
			return Size{}, invalid(field+".path", "an image source needs the path of a PNG or JPEG file")
		}
		if !files {
			return Size{}, nil
		}
		return checkImage(field+".path", s.Path)
	case TypeMedia:
		return Size{}, checkPlayable(field+".path", "a media source needs the path of a video file", "media file", s.Path, files)
	case TypeText:
		return Size{}, checkText(field+".text", s.Text, files)
	case TypeAudioFile:
		return Size{}, checkPlayable(field+".path", "an audio source needs the path of a sound file", "audio file", s.Path, files)
	case TypeTone:
		if s.Frequency != 0 {
			if e := checkDB(field+".frequency", s.Frequency, 20, MaxFrequency); e != nil {
				return Size{}, e
			}
		}
		if e := checkDB(field+".clock_ppm", s.ClockPPM, -MaxClockPPM, MaxClockPPM); e != nil {
			return Size{}, e
		}
	}
	return Size{}, nil
}

// checkPlayable checks the path of a file a source plays (media, audio):
// given, and, when files says to look, there.
func checkPlayable(field, missing, what, path string, files bool) *Error {
	if path == "" {
		return invalid(field, "%s", missing)
	}
	if files {
		if _, e := statFile(field, what, path); e != nil {
			return e
		}
	}
	return nil
}

// checkText checks a text source's text, at field ("sources[3].text").
func checkText(field string, t *Text, files bool) *Error {
	if t == nil {
		return invalid(field, `a text source needs "text": {"text": "the words"} (or "file")`)
	}
	if t.Text == "" && t.File == "" {
		return invalid(field, "needs text (the words) or file (a file to read them from)")
	}
	if files && t.File != "" {
		// It may not exist yet, but it must not be something else.
		if fi, err := os.Stat(t.File); err == nil && !fi.Mode().IsRegular() {
			return invalid(field+".file", "%q is not a file", t.File)
		}
	}
	if files && t.Font != "" {
		if e := checkFont(field+".font", t.Font); e != nil {
			return e
		}
	}
	if t.Size != 0 && !(t.Size >= MinTextSize && t.Size <= MaxTextSize) {
		return invalid(field+".size", "must be %d..%d (got %s)", MinTextSize, MaxTextSize, strconv.FormatFloat(t.Size, 'g', -1, 64))
	}
	for _, c := range []struct{ name, v string }{{"colour", t.Colour}, {"outline", t.Outline}} {
		if c.v != "" {
			if e := checkColour(field+"."+c.name, c.v); e != nil {
				return e
			}
		}
	}
	if e := checkRange(field+".outline_width", t.OutlineWidth, 0, MaxOutlineWidth, " px"); e != nil {
		return e
	}
	if t.Background != "" {
		if e := checkColour(field+".background", t.Background); e != nil {
			return e
		}
	}
	return checkRange(field+".padding", t.Padding, 0, MaxPadding, " px")
}

// checkLayer checks one layer, at field ("scenes[0].layers[2]"), against the
// collection's sources and canvas; images holds the images' sizes.
func (c *Collection) checkLayer(field string, l *Layer, images map[string]Size) *Error {
	if e := checkLayerShape(field, l); e != nil {
		return e
	}
	if c.sourceIndex(l.Source) < 0 {
		return invalid(field+".source", "no source is named %q (sources: %s)", l.Source, nameList(c.Sources, func(s Source) string { return s.Name }))
	}
	if size, ok := images[l.Source]; ok {
		cr := l.Crop
		if cr.Left >= size.Width-cr.Right || cr.Top >= size.Height-cr.Bottom {
			return invalid(field+".crop", "left %d, top %d, right %d and bottom %d leave nothing of the %dx%d image %q",
				cr.Left, cr.Top, cr.Right, cr.Bottom, size.Width, size.Height, l.Source)
		}
	}
	w, h := l.Width, l.Height
	if w == 0 && h == 0 {
		w, h = c.Canvas.Width, c.Canvas.Height
	}
	if l.X >= c.Canvas.Width || l.Y >= c.Canvas.Height || l.X+w <= 0 || l.Y+h <= 0 {
		return invalid(field, "is entirely off the canvas (canvas %dx%d, layer at x=%d y=%d w=%d h=%d)",
			c.Canvas.Width, c.Canvas.Height, l.X, l.Y, w, h)
	}
	return nil
}

// checkLayerShape checks what a layer says about itself, without the
// collection: a source named, its box, crop, opacity and fit.
func checkLayerShape(field string, l *Layer) *Error {
	if l.Source == "" {
		return invalid(field+".source", "must name a source")
	}
	if l.Width != 0 || l.Height != 0 {
		for _, d := range []struct {
			name string
			v    int
		}{{"width", l.Width}, {"height", l.Height}} {
			switch {
			case d.v == 0:
				return invalid(field+"."+d.name, "must be greater than 0 (got 0); 0 for both width and height is the whole canvas")
			case d.v < 0:
				return invalid(field+"."+d.name, "must be greater than 0 (got %d)", d.v)
			case d.v > MaxLayerSize:
				return invalid(field+"."+d.name, "must be at most %d (got %d)", MaxLayerSize, d.v)
			}
		}
	}
	for _, d := range []struct {
		name string
		v    int
	}{{"left", l.Crop.Left}, {"top", l.Crop.Top}, {"right", l.Crop.Right}, {"bottom", l.Crop.Bottom}} {
		if d.v < 0 {
			return invalid(field+".crop."+d.name, "must not be negative (got %d)", d.v)
		}
	}
	if o := l.Opacity; o != nil && !(*o >= 0 && *o <= 1) {
		return invalid(field+".opacity", "must be 0..1 (got %s)", strconv.FormatFloat(*o, 'g', -1, 64))
	}
	switch l.Fit {
	case "", FitInside, FitFill, FitStretch:
	default:
		return invalid(field+".fit", "unknown fit %q (known: %s, %s, %s)", l.Fit, FitInside, FitFill, FitStretch)
	}
	return nil
}

// ParseColour reads "#rrggbb" or "#rrggbbaa" (hex digits in either case; aa is
// the opacity, ff when absent). Its error wraps ErrInvalid.
func ParseColour(s string) (color.NRGBA, error) {
	if (len(s) != 7 && len(s) != 9) || s[0] != '#' {
		return color.NRGBA{}, badColour(s)
	}
	b, err := hex.DecodeString(s[1:])
	if err != nil {
		return color.NRGBA{}, badColour(s)
	}
	c := color.NRGBA{R: b[0], G: b[1], B: b[2], A: 0xff}
	if len(b) == 4 {
		c.A = b[3]
	}
	return c, nil
}

func badColour(s string) error {
	return &problem{msg: fmt.Sprintf(`%q is not a colour: use "#rrggbb" or "#rrggbbaa" (hex; aa is the opacity)`, s)}
}

func checkColour(field, s string) *Error {
	if _, err := ParseColour(s); err != nil {
		return &Error{Field: field, Err: err}
	}
	return nil
}

// normaliseColour writes a valid colour in lower case.
func normaliseColour(s *string) {
	if _, err := ParseColour(*s); err == nil {
		*s = strings.ToLower(*s)
	}
}

// statFile checks that path is a file that is there: missing, it is an
// error that wraps fs.ErrNotExist as well as ErrInvalid.
func statFile(field, what, path string) (fs.FileInfo, *Error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, invalidCause(field, err, "%s %q does not exist", what, path)
	case err != nil:
		return nil, invalidCause(field, err, "%s %q: %v", what, path, pathErr(err))
	case fi.IsDir():
		return nil, invalid(field, "%s %q is a directory, not a file", what, path)
	case !fi.Mode().IsRegular():
		return nil, invalid(field, "%s %q is not a file", what, path)
	}
	return fi, nil
}

// openFile opens a file statFile accepts (never a pipe, which could block).
func openFile(field, what, path string) (*os.File, *Error) {
	if _, e := statFile(field, what, path); e != nil {
		return nil, e
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, invalidCause(field, err, "%s %q cannot be read: %v", what, path, pathErr(err))
	}
	return f, nil
}

// pathErr is what went wrong, without the *PathError's repeat of the path.
func pathErr(err error) error {
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkImage checks that path is a PNG or JPEG file that can be read, and
// returns its size.
func checkImage(field, path string) (Size, *Error) {
	f, e := openFile(field, "image", path)
	if e != nil {
		return Size{}, e
	}
	defer f.Close()
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png", ".jpg", ".jpeg":
	default:
		return Size{}, invalid(field, "image %q: use a PNG or JPEG file (.png, .jpg or .jpeg)", path)
	}
	r := bufio.NewReader(f)
	head, _ := r.Peek(8)
	var cfg image.Config
	var err error
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		cfg, err = png.DecodeConfig(r)
	case bytes.HasPrefix(head, []byte{0xff, 0xd8}):
		cfg, err = jpeg.DecodeConfig(r)
	default:
		return Size{}, invalid(field, "image %q is not a PNG or JPEG picture", path)
	}
	switch {
	case err != nil:
		return Size{}, invalidCause(field, err, "image %q cannot be read: %v", path, err)
	case cfg.Width < 1 || cfg.Height < 1:
		return Size{}, invalid(field, "image %q has no pixels (%dx%d)", path, cfg.Width, cfg.Height)
	case cfg.Width > MaxImageSide || cfg.Height > MaxImageSide:
		return Size{}, invalid(field, "image %q is %dx%d; an image may be at most %dx%d", path, cfg.Width, cfg.Height, MaxImageSide, MaxImageSide)
	}
	return Size{Width: cfg.Width, Height: cfg.Height}, nil
}

// checkFont checks that path is a TrueType or OpenType font (or a collection
// of them), by its first bytes.
func checkFont(field, path string) *Error {
	f, e := openFile(field, "font", path)
	if e != nil {
		return e
	}
	defer f.Close()
	var head [4]byte
	if _, err := io.ReadFull(f, head[:]); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return invalidCause(field, err, "font %q cannot be read: %v", path, pathErr(err))
	}
	switch string(head[:]) {
	case "\x00\x01\x00\x00", "OTTO", "true", "ttcf":
		return nil
	}
	return invalid(field, "font %q is not a TrueType or OpenType font", path)
}

// nameList is names for a message: quoted, the first few.
func nameList[T any](items []T, name func(T) string) string {
	const most = 8
	var b strings.Builder
	for i, it := range items {
		if i == most {
			fmt.Fprintf(&b, ", … (%d more)", len(items)-most)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(name(it)))
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}
