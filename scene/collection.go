// Package scene holds a scene collection: scenes made of layers over a set of
// shared, named sources, the scene on air and the transition between scenes.
// It is the model, its JSON file and the rules a collection keeps; drawing it
// is the compositor's (app/scenes.go). It is pure Go and uses only the
// standard library. docs/SCENES.md describes the file for people.
//
// Where each concept lives:
//
//   - collection.go: the model, its limits and defaults, Default, Normalise,
//     Clone and the lookups.
//   - edit.go: adding, renaming, moving and removing scenes, layers and
//     sources, each keeping the collection valid.
//   - file.go: Load, Parse, Encode and Save (atomic), and paths relative to
//     the file.
//   - index.go: where each field is written in a file, so that every error
//     names its line; it also rejects unknown fields, wrong types and lists
//     over the limits before anything is decoded.
//   - validate.go: the rules (Validate), colours and the files a source names.
//   - errors.go: Error and the sentinel errors.
//
// A collection from Load or Parse is normalised (every default filled in, see
// Normalise) and valid, and its paths are absolute. The studio edits a Clone
// and puts it on when it validates.
package scene

import "slices"

// Collection is a set of scenes over shared, named sources, and which scene
// is on.
type Collection struct {
	Version    int        `json:"version"` // 1; 0 is read as 1
	Canvas     Size       `json:"canvas"`  // the size layers are placed on, e.g. 1280x720
	Transition Transition `json:"transition"`
	Sources    []Source   `json:"sources"`
	Scenes     []Scene    `json:"scenes"`
	Active     string     `json:"active,omitempty"` // name of the scene on air; "" means the first
	Master     *Master    `json:"master,omitempty"` // the mix's bus; nil: 0 dB, limiter at DefaultCeilingDB
}

// Size is a width and height in pixels.
type Size struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

// Transition is how one scene replaces another.
type Transition struct {
	Kind       string `json:"kind"`        // TransitionCut (default when empty) or TransitionFade
	DurationMS int    `json:"duration_ms"` // fade length; DefaultFadeMS when a fade's is 0; at most MaxFadeMS; a cut keeps but ignores it
}

// Source is something layers show or play: a picture, sound or both, which
// runs while any scene uses it, however many layers show it.
type Source struct {
	Name   string `json:"name"`             // unique, non-empty, what layers refer to
	Type   string `json:"type"`             // one of the Type constants; "color" is read as "colour"
	Colour string `json:"colour,omitempty"` // colour: "#rrggbb" or "#rrggbbaa"
	Path   string `json:"path,omitempty"`   // image (PNG or JPEG) and media file; relative paths are relative to the collection file's directory
	Loop   bool   `json:"loop,omitempty"`   // media: start again at the end
	Device string `json:"device,omitempty"` // camera, screen, microphone, desktop: device id or label as `tally devices` lists; "" = the first
	Text   *Text  `json:"text,omitempty"`   // text
	// Frequency makes a tone a steady sine of this many Hz; 0 is the
	// test tone (440 Hz, a beep each second in step with the test pattern).
	Frequency float64 `json:"frequency,omitempty"`
	// ClockPPM makes a tone a stand-in for a device whose clock runs fast
	// (positive) or slow by this many parts per million: it records more
	// or fewer samples a second than its 48 kHz, for testing drift
	// correction without the cheap USB microphone that does it for real.
	ClockPPM float64 `json:"clock_ppm,omitempty"`
	Audio    *Audio  `json:"audio,omitempty"` // how its sound is mixed (sources with sound)
}

// Text is what a text source draws.
type Text struct {
	Text         string  `json:"text,omitempty"`          // the words; or
	File         string  `json:"file,omitempty"`          // read live from this file (like OBS's "read from file"); replaces Text when set; it may not exist yet
	Font         string  `json:"font,omitempty"`          // a TrueType or OpenType file; "" = the built-in Go font
	Size         float64 `json:"size,omitempty"`          // points at 72 dpi, i.e. pixels; DefaultTextSize when 0; 4..512
	Colour       string  `json:"colour,omitempty"`        // DefaultTextColour when ""
	Outline      string  `json:"outline,omitempty"`       // outline colour, "" = none
	OutlineWidth int     `json:"outline_width,omitempty"` // px, DefaultOutlineWidth when 0 and Outline is set; 0..20
	Background   string  `json:"background,omitempty"`    // box colour behind the text ("#00000080"), "" = none
	Padding      int     `json:"padding,omitempty"`       // px around the text inside the box; 0..200
}

// Scene is a picture made of layers.
type Scene struct {
	Name   string  `json:"name"`   // unique, non-empty
	Layers []Layer `json:"layers"` // bottom first
}

// Layer shows a source in a box on the canvas.
type Layer struct {
	Source string `json:"source"` // a Source's name
	// X and Y are the box's top-left corner on the canvas; they may be
	// negative, and a box partly off the canvas is fine (not wholly).
	X int `json:"x"`
	Y int `json:"y"`
	// Width and Height are the box: both > 0 (at most MaxLayerSize), or both
	// 0 for the whole canvas, which Normalise (so Load) writes in.
	Width   int      `json:"width"`
	Height  int      `json:"height"`
	Crop    Crop     `json:"crop,omitzero"`     // pixels cut from each edge of the source before it is fitted
	Opacity *float64 `json:"opacity,omitempty"` // 0..1; nil = 1
	Hidden  bool     `json:"hidden,omitempty"`
	Fit     string   `json:"fit,omitempty"` // a Fit constant; FitInside when ""
}

// Crop is pixels cut from each edge of a source, each >= 0. Validate checks
// that an image keeps at least a pixel each way; other sources' sizes are
// known only once they run, and a crop that leaves nothing of one shows
// nothing.
type Crop struct {
	Left   int `json:"left"`
	Top    int `json:"top"`
	Right  int `json:"right"`
	Bottom int `json:"bottom"`
}

// Source types.
const (
	TypeTest   = "test"   // the test pattern
	TypeColour = "colour" // a solid colour ("color" is read as this)
	TypeImage  = "image"  // a PNG or JPEG file, with its transparency
	TypeText   = "text"   // words, or a file's contents read live
	TypeMedia  = "media"  // a video file
	TypeCamera = "camera" // a camera
	TypeScreen = "screen" // a screen capture
)

// Types are the source types, in the order messages list them.
var Types = []string{TypeTest, TypeColour, TypeImage, TypeText, TypeMedia, TypeCamera, TypeScreen,
	TypeMicrophone, TypeDesktop, TypeAudioFile, TypeTone}

// How a layer's source fills its box.
const (
	FitInside  = "fit"     // the whole source inside the box, aspect kept (letterboxed); the default
	FitFill    = "fill"    // the box covered, aspect kept, the overflow cropped
	FitStretch = "stretch" // the source stretched to the box
)

// Transitions.
const (
	TransitionCut  = "cut"  // the new scene at once; the default
	TransitionFade = "fade" // a cross-fade over DurationMS
)

// Defaults and ranges.
const (
	FileVersion         = 1         // the only version of the file there is
	DefaultFadeMS       = 300       // a fade's length when the file gives none
	MaxFadeMS           = 5000      // the longest transition
	DefaultTextSize     = 48        // px
	DefaultTextColour   = "#ffffff" // white
	DefaultOutlineWidth = 2         // px, when a text has an outline colour
	MaxLayerSize        = 16384     // the widest and tallest layer box, px
	MaxFileSize         = 4 << 20   // bytes; a larger file is refused before it is parsed
)

// The limits per collection and per scene. Each layer is a scale and a blend
// of a canvas-sized picture at worst on every frame (at 1080p60 one full-canvas
// layer moves about half a gigabyte a second), and each source a decoder or a
// device that runs while any scene uses it; these keep the compositor's work
// per frame, and a file's memory, bounded, far above what a scene needs.
const (
	MaxSources = 64 // per collection
	MaxScenes  = 64 // per collection
	MaxLayers  = 64 // per scene
)

// Default is a first-run collection: one scene "Scene" showing the test
// pattern over the whole w x h canvas (w and h should make a valid canvas).
func Default(w, h int) *Collection {
	return &Collection{
		Version:    FileVersion,
		Canvas:     Size{Width: w, Height: h},
		Transition: Transition{Kind: TransitionCut},
		Sources:    []Source{{Name: "Test pattern", Type: TypeTest}},
		Scenes: []Scene{{Name: "Scene", Layers: []Layer{
			{Source: "Test pattern", Width: w, Height: h, Fit: FitInside},
		}}},
		Active: "Scene",
	}
}

// Scene returns the scene with this name. The pointer is into c.Scenes: it
// stays valid until scenes are added, removed or moved.
func (c *Collection) Scene(name string) (*Scene, bool) {
	if i := c.sceneIndex(name); i >= 0 {
		return &c.Scenes[i], true
	}
	return nil, false
}

// Source returns the source with this name. The pointer is into c.Sources:
// it stays valid until sources are added or removed.
func (c *Collection) Source(name string) (*Source, bool) {
	if i := c.sourceIndex(name); i >= 0 {
		return &c.Sources[i], true
	}
	return nil, false
}

// ActiveScene is the scene on air: Active, or the first scene when Active is
// "" (or names none). It is nil only for a collection without scenes, which is
// not valid.
func (c *Collection) ActiveScene() *Scene {
	if s, ok := c.Scene(c.Active); ok && c.Active != "" {
		return s
	}
	if len(c.Scenes) == 0 {
		return nil
	}
	return &c.Scenes[0]
}

func (c *Collection) sceneIndex(name string) int {
	return slices.IndexFunc(c.Scenes, func(s Scene) bool { return s.Name == name })
}

func (c *Collection) sourceIndex(name string) int {
	return slices.IndexFunc(c.Sources, func(s Source) bool { return s.Name == name })
}

// Clone is a deep copy: nothing in it is shared with c.
func (c *Collection) Clone() *Collection {
	out := *c
	out.Sources = slices.Clone(c.Sources)
	for i := range out.Sources {
		if t := out.Sources[i].Text; t != nil {
			tc := *t
			out.Sources[i].Text = &tc
		}
		if a := out.Sources[i].Audio; a != nil {
			ac := *a
			ac.Filters = slices.Clone(a.Filters)
			if a.Global != nil {
				g := *a.Global
				ac.Global = &g
			}
			out.Sources[i].Audio = &ac
		}
	}
	if m := c.Master; m != nil {
		mc := *m
		if m.Limiter != nil {
			l := *m.Limiter
			mc.Limiter = &l
		}
		out.Master = &mc
	}
	out.Scenes = slices.Clone(c.Scenes)
	for i := range out.Scenes {
		out.Scenes[i].Layers = slices.Clone(out.Scenes[i].Layers)
		for j := range out.Scenes[i].Layers {
			if o := out.Scenes[i].Layers[j].Opacity; o != nil {
				oc := *o
				out.Scenes[i].Layers[j].Opacity = &oc
			}
		}
	}
	return &out
}

// Normalise fills in every default, so that what the compositor reads is
// explicit: version 1, the cut transition, a fade's DefaultFadeMS, "colour"
// for "color", colours in lower case, a text's size, colour and outline
// width, FitInside, empty lists rather than none, and a 0x0 layer as the
// whole canvas. Load and Parse return normalised collections; call it after
// building or editing one by hand. It changes nothing a valid collection
// means, and leaves what is invalid for Validate to report.
func (c *Collection) Normalise() {
	if c.Version == 0 {
		c.Version = FileVersion
	}
	if c.Transition.Kind == "" {
		c.Transition.Kind = TransitionCut
	}
	if c.Transition.Kind == TransitionFade && c.Transition.DurationMS == 0 {
		c.Transition.DurationMS = DefaultFadeMS
	}
	if c.Sources == nil {
		c.Sources = []Source{}
	}
	for i := range c.Sources {
		s := &c.Sources[i]
		if s.Type == "color" {
			s.Type = TypeColour
		}
		normaliseColour(&s.Colour)
		if t := s.Text; t != nil {
			if t.Size == 0 {
				t.Size = DefaultTextSize
			}
			if t.Colour == "" {
				t.Colour = DefaultTextColour
			}
			if t.Outline != "" && t.OutlineWidth == 0 {
				t.OutlineWidth = DefaultOutlineWidth
			}
			normaliseColour(&t.Colour)
			normaliseColour(&t.Outline)
			normaliseColour(&t.Background)
		}
	}
	if c.Scenes == nil {
		c.Scenes = []Scene{}
	}
	for i := range c.Scenes {
		sc := &c.Scenes[i]
		if sc.Layers == nil {
			sc.Layers = []Layer{}
		}
		for j := range sc.Layers {
			l := &sc.Layers[j]
			if l.Width == 0 && l.Height == 0 {
				l.Width, l.Height = c.Canvas.Width, c.Canvas.Height
			}
			if l.Fit == "" {
				l.Fit = FitInside
			}
		}
	}
}
