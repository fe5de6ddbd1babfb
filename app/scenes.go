package app

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tallystudio/tally/capture"
	"github.com/tallystudio/tally/compose"
	"github.com/tallystudio/tally/scene"
)

// ErrNoScene is a scene switch to a name the collection does not have.
var ErrNoScene = errors.New("no such scene")

// sceneReader composes the collection's scene on air at the program's frame
// rate. The program reads it like any other video source, through a
// videoFeed, so the preview, the taps and a session see the composed picture
// and nothing downstream knows about scenes.
//
// Each source the collection uses is opened once, however many layers and
// scenes show it, and runs on a feed of its own: a device that fails sends
// its slate into its own layers while the rest of the scene stays live.
type sceneReader struct {
	log *slog.Logger
	fps int
	// openSource opens a collection's source: openSceneSource, unless a
	// test stands in a device.
	openSource func(scene.Source, image.Point, int) (capture.VideoReader, bool, error)

	mu        sync.Mutex // guards everything below; Read holds it while composing
	col       *scene.Collection
	sources   map[string]*sceneSource // by source name
	ids       [][]uint64              // a cache ID per scene and layer
	comp      *compose.Compositor
	active    string
	from      string // the scene fading out; "" when no fade is running
	fadeStart time.Time
	fade      time.Duration

	// reused from frame to frame, so composing allocates nothing
	layers, fromLayers []compose.Layer
	held               []*sharedFrame
	mixA, mixB         *image.YCbCr
	pool               chan *image.YCbCr
	composeErr         bool        // an error was logged; the next one is not
	newest             time.Time   // the capture time of the newest frame composed
	moving             atomic.Bool // a moving source is on air: see due

	// Composing follows the moving sources on air: a new frame from one
	// wakes the compositor at once (within the frame rate), so a scene adds
	// no wait for a tick to a camera's latency. timer composes when none
	// delivers: at the frame rate for stills, later for a late camera.
	wake  chan struct{}
	timer *time.Timer
	last  time.Time // the last composition
	quit  chan struct{}
	once  sync.Once
}

// sceneSource is one open source of the collection.
type sceneSource struct {
	key     string // what was opened, so that an edit that keeps it reopens nothing
	feed    *videoFeed
	alpha   bool        // pictures with real transparency (images, text, colours)
	stretch bool        // always fills its layer's box (colours)
	onAir   atomic.Bool // shown by a visible layer of the scene on air (or fading)
}

// sceneFramePool bounds the composed frames kept for reuse: the feed's
// newest, a session's pending and last frames, and the preview's.
const sceneFramePool = 6

func newSceneReader(col *scene.Collection, fps int, log *slog.Logger) (*sceneReader, error) {
	return newSceneReaderWith(col, fps, log, openSceneSource)
}

// newSceneReaderWith opens the collection's sources with open.
func newSceneReaderWith(col *scene.Collection, fps int, log *slog.Logger,
	open func(scene.Source, image.Point, int) (capture.VideoReader, bool, error)) (*sceneReader, error) {
	if col == nil {
		return nil, fmt.Errorf("%w: no scene collection", ErrNoSource)
	}
	if err := col.Validate(); err != nil {
		return nil, err
	}
	fps = max(fps, 1)
	r := &sceneReader{log: log, fps: fps, sources: map[string]*sceneSource{}, openSource: open,
		wake: make(chan struct{}, 1), timer: time.NewTimer(time.Second / time.Duration(fps)), quit: make(chan struct{})}
	if err := r.SetCollection(col); err != nil {
		r.timer.Stop()
		return nil, err
	}
	return r, nil
}

// SetCollection puts a new version of the collection on: sources it no
// longer uses close, new ones open, and those it keeps carry on untouched.
// The scene on air stays on when the new version still has it.
func (r *sceneReader) SetCollection(col *scene.Collection) error {
	if err := col.Validate(); err != nil {
		return err
	}
	col = col.Clone()
	r.mu.Lock()
	old := r.sources
	r.mu.Unlock()

	// Open outside the lock: a camera can take a second to start, and the
	// program keeps going meanwhile.
	next := make(map[string]*sceneSource, len(col.Sources))
	used := usedSources(col)
	// Sources open at the canvas size, whatever their boxes: a box the user
	// drags bigger must not restart a camera or a media file.
	size := image.Pt(col.Canvas.Width, col.Canvas.Height)
	for _, src := range col.Sources {
		if !used[src.Name] || scene.AudioOnly(src.Type) {
			continue
		}
		key := sourceKey(src, size, r.fps)
		if s := old[src.Name]; s != nil && s.key == key {
			next[src.Name] = s
			continue
		}
		next[src.Name] = r.open(src, key, size)
	}

	r.mu.Lock()
	if r.comp == nil || col.Canvas != r.col.Canvas {
		comp, err := compose.New(col.Canvas.Width, col.Canvas.Height)
		if err != nil {
			r.mu.Unlock()
			closeSceneSources(next, old)
			return fmt.Errorf("scenes: %w", err)
		}
		if r.comp != nil {
			r.comp.Close()
		}
		r.comp, r.mixA, r.mixB = comp, nil, nil
		r.pool = make(chan *image.YCbCr, sceneFramePool)
	}
	r.col, r.sources, r.ids = col, next, layerIDs(col)
	if _, ok := col.Scene(r.active); !ok {
		r.active, r.from = col.ActiveScene().Name, ""
	}
	if _, ok := col.Scene(r.from); !ok {
		r.from = ""
	}
	r.fade = 0
	if col.Transition.Kind == scene.TransitionFade {
		r.fade = time.Duration(col.Transition.DurationMS) * time.Millisecond
	}
	r.markOnAir()
	r.mu.Unlock()
	closeSceneSources(old, next)
	return nil
}

// closeSceneSources stops the sources in gone that keep does not hold.
func closeSceneSources(gone, keep map[string]*sceneSource) {
	for name, s := range gone {
		if k := keep[name]; k != s {
			s.feed.stop()
		}
	}
}

// open starts a source on its own feed. One that cannot be opened sends its
// slate, like a device lost while live, and says why in the source errors.
func (r *sceneReader) open(src scene.Source, key string, size image.Point) *sceneSource {
	rd, alpha, err := r.openSource(src, size, r.fps)
	if err != nil {
		rd = brokenSource{err}
	}
	f := newVideoFeed(fmt.Sprintf("%q", src.Name), nil, r.log)
	ss := &sceneSource{key: key, feed: f, alpha: alpha, stretch: src.Type == scene.TypeColour}
	if !alpha { // a moving source: its frames pace the compositor while it is on air
		f.notify = func() {
			if ss.onAir.Load() {
				select {
				case r.wake <- struct{}{}:
				default:
				}
			}
		}
	}
	// The slate is small: the layer scales it to its box.
	f.start(rd, VideoSettings{Width: 16, Height: 16, FPS: r.fps})
	return ss
}

// brokenSource stands in for a source that could not be opened: its first
// read fails, and the feed sends a slate.
type brokenSource struct{ err error }

func (b brokenSource) Read() (image.Image, func(), error) { return nil, nil, b.err }
func (brokenSource) Close() error                         { return nil }

// openSceneSource opens what a collection's source names, at size (the
// canvas's) where the source has a size to choose.
func openSceneSource(src scene.Source, size image.Point, fps int) (capture.VideoReader, bool, error) {
	switch src.Type {
	case "test":
		v, err := capture.OpenVideo("testpattern", size.X, size.Y, float64(fps))
		return v, false, err
	case "camera", "screen":
		spec := src.Type
		if src.Device != "" {
			spec += ":" + src.Device
		}
		v, err := capture.OpenVideo(spec, size.X, size.Y, float64(fps))
		return v, false, err
	case "media":
		f, err := capture.OpenFile(src.Path, src.Loop, size.X, size.Y, 0, 0)
		if err != nil {
			return nil, false, err
		}
		v := f.Video()
		if v == nil {
			_ = f.Close()
			return nil, false, fmt.Errorf("%s has no video", src.Path)
		}
		return mediaVideo{v, f}, false, nil
	case "image":
		v, err := capture.OpenImage(src.Path)
		return v, true, err
	case "colour":
		c, err := capture.ParseColour(src.Colour)
		if err != nil {
			return nil, true, err
		}
		return capture.NewColour(c), true, nil
	case "text":
		o, err := textOptions(src.Text)
		if err != nil {
			return nil, true, err
		}
		v, err := capture.NewText(o)
		return v, true, err
	}
	return nil, false, fmt.Errorf("unknown source type %q", src.Type)
}

// mediaVideo closes the whole file with its picture.
type mediaVideo struct {
	capture.VideoReader
	file io.Closer
}

func (m mediaVideo) Close() error { return m.file.Close() }

func textOptions(t *scene.Text) (capture.TextOptions, error) {
	if t == nil {
		return capture.TextOptions{}, errors.New("text source without text")
	}
	o := capture.TextOptions{Text: t.Text, File: t.File, Font: t.Font, Size: t.Size,
		OutlineWidth: t.OutlineWidth, Padding: t.Padding}
	for _, c := range []struct {
		s   string
		dst *color.NRGBA
	}{{t.Colour, &o.Colour}, {t.Outline, &o.Outline}, {t.Background, &o.Background}} {
		if c.s == "" {
			continue
		}
		v, err := capture.ParseColour(c.s)
		if err != nil {
			return o, err
		}
		*c.dst = v
	}
	return o, nil
}

// sourceKey names everything that opening src depends on.
func sourceKey(src scene.Source, size image.Point, fps int) string {
	k := fmt.Sprintf("%s|%s|%v|%s|%s|%v|%d", src.Type, src.Path, src.Loop, src.Device, src.Colour, size, fps)
	if t := src.Text; t != nil {
		k += fmt.Sprintf("|%+v", *t)
	}
	return k
}

// usedSources are the sources some layer of some scene shows.
func usedSources(col *scene.Collection) map[string]bool {
	out := map[string]bool{}
	for _, sc := range col.Scenes {
		for _, l := range sc.Layers {
			out[l.Source] = true
		}
	}
	return out
}

// layerIDs gives each layer a cache ID from its scene, place and source: an
// edit that moves a layer keeps its ID, one that swaps its source does not.
func layerIDs(col *scene.Collection) [][]uint64 {
	ids := make([][]uint64, len(col.Scenes))
	for i, sc := range col.Scenes {
		ids[i] = make([]uint64, len(sc.Layers))
		for j, l := range sc.Layers {
			ids[i][j] = hashID(fmt.Sprintf("%s\x00%d\x00%s", sc.Name, j, l.Source))
		}
	}
	return ids
}

// hashID is FNV-1a.
func hashID(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// Switch puts a scene on air, with the collection's transition.
func (r *sceneReader) Switch(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.col.Scene(name); !ok {
		return fmt.Errorf("%w: %q", ErrNoScene, name)
	}
	if name == r.active {
		return nil
	}
	if r.fade > 0 {
		r.from, r.fadeStart = r.active, time.Now()
	}
	r.active = name
	r.markOnAir()
	return nil
}

// markOnAir notes which sources the scenes on air show, and whether one of
// them moves; the caller holds mu.
func (r *sceneReader) markOnAir() {
	on := map[string]bool{}
	for _, sc := range r.col.Scenes {
		if sc.Name != r.active && sc.Name != r.from {
			continue
		}
		for _, l := range sc.Layers {
			if !l.Hidden {
				on[l.Source] = true
			}
		}
	}
	moving := false
	for name, src := range r.sources {
		src.onAir.Store(on[name])
		moving = moving || (on[name] && !src.alpha)
	}
	r.moving.Store(moving)
}

// Active is the name of the scene on air.
func (r *sceneReader) Active() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.active
}

// Read composes the next frame when it is due.
func (r *sceneReader) Read() (image.Image, func(), error) {
	img, release, _, err := r.readCaptured()
	return img, release, err
}

// readCaptured is Read with the capture time of the newest source frame in
// the picture (or now, for a scene of still pictures only).
func (r *sceneReader) readCaptured() (image.Image, func(), time.Time, error) {
	if !r.due() {
		return nil, nil, time.Time{}, io.EOF
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.comp == nil { // closed while this read waited
		return nil, nil, time.Time{}, io.EOF
	}
	r.newest = time.Time{}
	out := r.frame()
	if err := r.composeFrame(out); err != nil && !r.composeErr {
		// A failing layer must not take the program down: log it once and
		// send what could be drawn.
		r.composeErr = true
		r.log.Warn("scenes: composing failed", "err", err)
	}
	pool := r.pool
	captured := r.newest
	if captured.IsZero() {
		captured = time.Now()
	}
	return out, func() {
		select {
		case pool <- out:
		default:
		}
	}, captured, nil
}

// due waits until the next frame should be composed: a moving source on
// air delivered one, or the timer ran out. A frame from a second moving
// source right after a composition waits for the next one, which keeps the
// program at its frame rate. It returns false once the reader is closed.
func (r *sceneReader) due() bool {
	interval := time.Second / time.Duration(r.fps)
	for {
		select {
		case <-r.quit:
			return false
		case <-r.wake:
			if time.Since(r.last) < interval/2 {
				continue
			}
		case <-r.timer.C:
		}
		r.last = time.Now()
		fallback := interval
		if r.moving.Load() {
			fallback = interval * 3 / 2
		}
		r.timer.Reset(fallback)
		return true
	}
}

// frame is a canvas-size picture to compose into, reused when one is free.
func (r *sceneReader) frame() *image.YCbCr {
	select {
	case f := <-r.pool:
		return f
	default:
		return compose.NewFrame(r.col.Canvas.Width, r.col.Canvas.Height)
	}
}

// composeFrame draws the scene on air into out, cross-fading from the last
// one while a fade runs. The caller holds mu.
func (r *sceneReader) composeFrame(out *image.YCbCr) error {
	defer r.release()
	if r.from != "" {
		t := float64(time.Since(r.fadeStart)) / float64(r.fade)
		if t < 1 {
			if r.mixA == nil {
				r.mixA = compose.NewFrame(r.col.Canvas.Width, r.col.Canvas.Height)
				r.mixB = compose.NewFrame(r.col.Canvas.Width, r.col.Canvas.Height)
			}
			var err error
			if r.fromLayers, err = r.composeScene(r.mixA, r.from, r.fromLayers); err != nil {
				return err
			}
			if r.layers, err = r.composeScene(r.mixB, r.active, r.layers); err != nil {
				return err
			}
			r.comp.Mix(out, r.mixA, r.mixB, t)
			return nil
		}
		r.from = ""
		r.markOnAir()
	}
	var err error
	r.layers, err = r.composeScene(out, r.active, r.layers)
	return err
}

// composeScene draws one scene into dst from each layer's newest frame.
func (r *sceneReader) composeScene(dst *image.YCbCr, name string, layers []compose.Layer) ([]compose.Layer, error) {
	layers = layers[:0]
	for i, sc := range r.col.Scenes {
		if sc.Name != name {
			continue
		}
		for j, l := range sc.Layers {
			src := r.sources[l.Source]
			if l.Hidden || src == nil {
				continue
			}
			fr := src.feed.current()
			if fr == nil {
				continue
			}
			r.held = append(r.held, fr)
			if !src.alpha && fr.captured.After(r.newest) {
				r.newest = fr.captured // a moving source; stills are as old as their file
			}
			img := fr.img
			if cf, ok := img.(*capture.Frame); ok {
				img = cf.YCbCr // a decoder's frame, read in place: the compositor scales YCbCr directly
			}
			opacity := 1.0
			if l.Opacity != nil {
				opacity = *l.Opacity
			}
			layers = append(layers, compose.Layer{ID: r.ids[i][j], Frame: img, Seq: fr.seq, Alpha: src.alpha,
				Rect:    image.Rect(l.X, l.Y, l.X+l.Width, l.Y+l.Height),
				Crop:    compose.Insets{Left: l.Crop.Left, Top: l.Crop.Top, Right: l.Crop.Right, Bottom: l.Crop.Bottom},
				Fit:     src.fit(l.Fit),
				Opacity: opacity})
		}
	}
	return layers, r.comp.Compose(dst, layers)
}

// release gives back the frames a composition held.
func (r *sceneReader) release() {
	for i, f := range r.held {
		f.unref()
		r.held[i] = nil
	}
	r.held = r.held[:0]
}

// fit is how the layer fits its source into its box. A colour has no shape
// of its own: it always fills the box.
func (s *sceneSource) fit(mode string) compose.Fit {
	if s.stretch {
		return compose.FitStretch
	}
	switch mode {
	case scene.FitFill:
		return compose.FitFill
	case scene.FitStretch:
		return compose.FitStretch
	}
	return compose.FitInside
}

// sourceErrors names the sources that failed and send their slate.
func (r *sceneReader) sourceErrors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, s := range r.col.Sources {
		if src := r.sources[s.Name]; src != nil {
			out = src.feed.appendLost(out)
		}
	}
	return out
}

// Close stops every source and the compositor; a pending Read returns io.EOF.
func (r *sceneReader) Close() error {
	r.once.Do(func() {
		close(r.quit)
		r.timer.Stop()
		r.mu.Lock()
		sources := r.sources
		r.sources = nil
		r.mu.Unlock()
		closeSceneSources(sources, nil)
		// The compositor goes once the feed's reader has left Read, which
		// the program waits for after Close; until then Read may still hold
		// it, so it is freed under the lock Read takes.
		r.mu.Lock()
		if r.comp != nil {
			r.comp.Close()
			r.comp = nil
		}
		r.mu.Unlock()
	})
	return nil
}
