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
	"github.com/tallystudio/tally/mix"
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
	openSource func(scene.Source, image.Point, int) (opened, error)

	mu        sync.Mutex // guards everything below; Read holds it while composing
	col       *scene.Collection
	sources   map[string]*sceneSource // by source name
	ids       [][]uint64              // a cache ID per scene and layer
	comp      *compose.Compositor
	mixer     *mix.Mixer // the sources' sound, which sound() reads
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
	key     string     // what was opened, so that an edit that keeps it reopens nothing
	feed    *videoFeed // its picture; nil for a source of sound only
	sound   *audioFeed // its sound, read into strip; nil for a picture only
	strip   *mix.Strip
	global  bool        // its sound plays in every scene
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
	open func(scene.Source, image.Point, int) (opened, error)) (*sceneReader, error) {
	if col == nil {
		return nil, fmt.Errorf("%w: no scene collection", ErrNoSource)
	}
	if err := col.Validate(); err != nil {
		return nil, err
	}
	fps = max(fps, 1)
	r := &sceneReader{log: log, fps: fps, sources: map[string]*sceneSource{}, openSource: open,
		wake: make(chan struct{}, 1), timer: time.NewTimer(time.Second / time.Duration(fps)), quit: make(chan struct{})}
	var err error
	if r.mixer, err = mix.New(); err != nil {
		r.timer.Stop()
		return nil, fmt.Errorf("scenes: %w", err)
	}
	if err := r.SetCollection(col); err != nil {
		r.timer.Stop()
		r.mixer.Close()
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
		if !used[src.Name] {
			continue
		}
		key := sourceKey(src, size, r.fps)
		if s := old[src.Name]; s != nil && s.key == key {
			next[src.Name] = s
			if s.strip != nil { // a fader moved: no need to reopen
				if err := s.strip.SetConfig(stripConfig(src.Audio)); err != nil {
					r.log.Warn("scenes: sound settings", "source", src.Name, "err", err)
				}
				s.global = src.Audio.IsGlobal(src.Type)
			}
			continue
		}
		next[src.Name] = r.open(src, key, size)
	}
	m := col.Master
	r.mixer.SetMaster(m.Gain(), m.LimiterOn(), m.Ceiling())

	r.mu.Lock()
	if r.comp == nil || col.Canvas != r.col.Canvas {
		comp, err := compose.New(col.Canvas.Width, col.Canvas.Height)
		if err != nil {
			r.mu.Unlock()
			closeSceneSources(next, old, r.mixer)
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
	closeSceneSources(old, next, r.mixer)
	return nil
}

// closeSceneSources stops the sources in gone that keep does not hold.
func closeSceneSources(gone, keep map[string]*sceneSource, mixer *mix.Mixer) {
	for name, s := range gone {
		if k := keep[name]; k == s {
			continue
		}
		// The sound first: a media file's sound reads from the file its
		// picture's Close shuts.
		if s.sound != nil {
			s.sound.stop()
			mixer.RemoveStrip(name)
		}
		if s.feed != nil {
			s.feed.stop()
		}
	}
}

// open starts a source on feeds of its own: its picture, and its sound into
// a strip of the mixer. One that cannot be opened sends its slate and
// silence, like a device lost while live, and says why in the source errors.
func (r *sceneReader) open(src scene.Source, key string, size image.Point) *sceneSource {
	o, err := r.openSource(src, size, r.fps)
	if err != nil {
		o = opened{alpha: o.alpha}
		if !scene.AudioOnly(src.Type) {
			o.video = brokenSource{err}
		}
		if scene.HasSound(src.Type) {
			o.audio = brokenSound{err}
		}
	}
	ss := &sceneSource{key: key, alpha: o.alpha, stretch: src.Type == scene.TypeColour, global: src.Audio.IsGlobal(src.Type)}
	kind := fmt.Sprintf("%q", src.Name)
	if o.audio != nil {
		strip, err := r.mixer.AddStrip(src.Name, stripConfig(src.Audio))
		if err != nil {
			r.log.Warn("scenes: no strip for the sound", "source", src.Name, "err", err)
			_ = o.audio.Close()
		} else {
			ss.strip = strip
			ss.sound = newAudioFeed(kind, nil, r.log)
			ss.sound.sink = func(pcm []int16, rate, channels int) { _ = strip.Push(pcm, rate, channels) }
			ss.sound.start(o.audio, AudioSettings{SampleRate: mix.Rate, Channels: mix.Channels})
		}
	}
	if o.video == nil {
		return ss
	}
	f := newVideoFeed(kind, nil, r.log)
	ss.feed = f
	if !o.alpha { // a moving source: its frames pace the compositor while it is on air
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
	f.start(o.video, VideoSettings{Width: 16, Height: 16, FPS: r.fps})
	return ss
}

// brokenSource stands in for a source that could not be opened: its first
// read fails, and the feed sends a slate.
type brokenSource struct{ err error }

func (b brokenSource) Read() (image.Image, func(), error) { return nil, nil, b.err }
func (brokenSource) Close() error                         { return nil }

// brokenSound is brokenSource for sound: silence goes into its strip.
type brokenSound struct{ err error }

func (b brokenSound) Read(dst []int16) ([]int16, error) { return dst, b.err }
func (brokenSound) Format() (int, int)                  { return mix.Rate, mix.Channels }
func (brokenSound) Close() error                        { return nil }

// opened is what opening a source gives: a picture, a sound, or both.
type opened struct {
	video capture.VideoReader
	audio capture.AudioReader
	alpha bool // pictures with real transparency
}

// openSceneSource opens what a collection's source names, at size (the
// canvas's) where the source has a size to choose; sound comes at the
// mixer's rate.
func openSceneSource(src scene.Source, size image.Point, fps int) (opened, error) {
	switch src.Type {
	case scene.TypeTest, scene.TypeCamera, scene.TypeScreen:
		spec := map[string]string{scene.TypeTest: "testpattern", scene.TypeCamera: "camera", scene.TypeScreen: "screen"}[src.Type]
		if src.Device != "" {
			spec += ":" + src.Device
		}
		v, err := capture.OpenVideo(spec, size.X, size.Y, float64(fps))
		if err != nil {
			return opened{}, err
		}
		return opened{video: v}, nil
	case scene.TypeMedia:
		f, err := capture.OpenFile(src.Path, src.Loop, size.X, size.Y, mix.Rate, mix.Channels)
		if err != nil {
			return opened{}, err
		}
		o := opened{}
		if v := f.Video(); v != nil {
			o.video = mediaVideo{v, f}
		}
		if a := f.Audio(); a != nil {
			// The picture closes the file; the sound stops first (see
			// closeSceneSources). A file of sound alone closes with it.
			o.audio = noCloseAudio{a}
			if o.video == nil {
				o.audio = mediaAudio{a, f}
			}
		}
		if o.video == nil && o.audio == nil {
			_ = f.Close()
			return opened{}, fmt.Errorf("%s has neither picture nor sound", src.Path)
		}
		return o, nil
	case scene.TypeImage:
		v, err := capture.OpenImage(src.Path)
		return opened{video: v, alpha: true}, err
	case scene.TypeColour:
		c, err := capture.ParseColour(src.Colour)
		if err != nil {
			return opened{alpha: true}, err
		}
		return opened{video: capture.NewColour(c), alpha: true}, nil
	case scene.TypeText:
		o, err := textOptions(src.Text)
		if err != nil {
			return opened{alpha: true}, err
		}
		v, err := capture.NewText(o)
		return opened{video: v, alpha: true}, err
	}
	a, err := openSceneSound(src)
	return opened{audio: a}, err
}

// openSceneSound opens a source of sound alone.
func openSceneSound(src scene.Source) (capture.AudioReader, error) {
	switch src.Type {
	case scene.TypeMicrophone:
		spec := "mic"
		if src.Device != "" {
			spec += ":" + src.Device
		}
		return capture.OpenAudio(spec, mix.Rate, mix.Channels)
	case scene.TypeDesktop:
		spec := "desktop"
		if src.Device != "" {
			spec += ":" + src.Device
		}
		return capture.OpenAudio(spec, mix.Rate, mix.Channels)
	case scene.TypeAudioFile:
		f, err := capture.OpenFile(src.Path, src.Loop, 0, 0, mix.Rate, mix.Channels)
		if err != nil {
			return nil, err
		}
		a := f.Audio()
		if a == nil {
			_ = f.Close()
			return nil, fmt.Errorf("%s has no sound", src.Path)
		}
		return mediaAudio{a, f}, nil
	case scene.TypeTone:
		clock := 1 + src.ClockPPM/1e6 // a stand-in for a drifting device
		if src.Frequency > 0 {
			return capture.NewDriftingSine(src.Frequency, toneLevelDB, mix.Rate, mix.Channels, clock)
		}
		if src.ClockPPM != 0 {
			return capture.NewDriftingTestTone(mix.Rate, mix.Channels, clock)
		}
		return capture.OpenAudio("tone", mix.Rate, mix.Channels)
	}
	return nil, fmt.Errorf("unknown source type %q", src.Type)
}

// toneLevelDB is a steady tone's level: loud enough to hear, well short of
// full scale, so that gains above 0 dB have room.
const toneLevelDB = -6

// mediaAudio closes the whole file with its sound.
type mediaAudio struct {
	capture.AudioReader
	file io.Closer
}

func (m mediaAudio) Close() error { return m.file.Close() }

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
	k := fmt.Sprintf("%s|%s|%v|%s|%s|%v|%d|%g|%g", src.Type, src.Path, src.Loop, src.Device, src.Colour, size, fps,
		src.Frequency, src.ClockPPM)
	if t := src.Text; t != nil {
		k += fmt.Sprintf("|%+v", *t)
	}
	return k
}

// usedSources are the sources some layer of some scene shows or plays, and
// the global sound sources.
func usedSources(col *scene.Collection) map[string]bool {
	out := map[string]bool{}
	for _, s := range col.Sources {
		if scene.HasSound(s.Type) && s.Audio.IsGlobal(s.Type) {
			out[s.Name] = true // heard in every scene, shown in none perhaps
		}
	}
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
		moving = moving || (on[name] && !src.alpha && src.feed != nil)
		if src.strip != nil {
			r.mixer.SetActive(name, src.global || on[name])
		}
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
			if l.Hidden || src == nil || src.feed == nil {
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
		src := r.sources[s.Name]
		if src == nil {
			continue
		}
		n := len(out)
		if src.feed != nil {
			out = src.feed.appendLost(out)
		}
		if src.sound != nil && len(out) == n { // one message for a file that broke
			out = src.sound.appendLost(out)
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
		closeSceneSources(sources, nil, r.mixer)
		// The compositor goes once the feed's reader has left Read, which
		// the program waits for after Close; until then Read may still hold
		// it, so it is freed under the lock Read takes.
		r.mu.Lock()
		if r.comp != nil {
			r.comp.Close()
			r.comp = nil
		}
		r.mixer.Close()
		r.mu.Unlock()
	})
	return nil
}
