package ui

import (
	"image"
	"time"

	"github.com/tallystudio/tally/app"
)

// DefaultPreviewFPS is the preview's refresh rate unless WithPreviewFPS says
// otherwise.
const DefaultPreviewFPS = 30

// Option changes how NewStudio builds the studio.
type Option func(*Studio)

// WithPreviewFPS sets the preview's refresh rate; 0 turns the preview off
// (for measuring what it costs).
func WithPreviewFPS(fps int) Option { return func(s *Studio) { s.previewFPS = max(fps, 0) } }

// How often the level meter and the state bar are read; the stats panel is
// updated on every fourth state reading, once a second.
const (
	meterHz  = 15
	statusHz = 4
)

// uiLoop is the studio's one clock for what moves on screen: the preview, the
// level meter and the state bar. Everything a tick changes goes to the UI
// thread in one call, so it costs one repaint. Fyne repaints the whole window
// for any change, and where OpenGL is software (no GPU) each repaint is
// milliseconds of CPU: separate clocks for the three paid for up to three
// repaints where one does.
//
// The preview is converted here, off the UI thread, into one of three
// buffers: the renderer reads one while the next is drawn, and nothing is
// allocated per frame.
func (s *Studio) uiLoop() {
	defer s.loops.Done()
	rate := max(s.previewFPS, meterHz)
	meterEvery, statusEvery := max(1, rate/meterHz), max(1, rate/statusHz)
	t := time.NewTicker(time.Second / time.Duration(rate))
	defer t.Stop()
	var bufs [3]*image.RGBA
	next, showing := 0, false
	for n := 0; ; n++ {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		var (
			frame     *image.RGBA
			noSignal  bool
			level     *app.Level
			mix       *app.MixLevels
			status    *app.Status
			onAir     string
			withStats bool
		)
		if s.previewFPS > 0 {
			w, h := previewSize(int(s.preview.w.Load()), int(s.preview.h.Load()))
			b := bufs[next]
			if b == nil || b.Rect.Dx() != w || b.Rect.Dy() != h {
				b = image.NewRGBA(image.Rect(0, 0, w, h))
				bufs[next] = b
			}
			switch {
			case s.eng.PreviewFrame(b):
				frame, showing = b, true
				next = (next + 1) % len(bufs)
			case showing:
				noSignal, showing = true, false
			}
		}
		if n%meterEvery == 0 {
			l := s.eng.AudioLevel()
			level = &l
			if s.mixerOpen.Load() {
				ml := s.eng.SoundLevels()
				mix = &ml
			}
		}
		if n%statusEvery == 0 {
			st := s.eng.Status()
			status, withStats = &st, (n/statusEvery)%statusHz == 0
			onAir = s.eng.Scene()
		}
		if frame == nil && !noSignal && level == nil && status == nil {
			continue
		}
		runOnUI(func() {
			switch {
			case frame != nil:
				s.preview.show(frame)
			case noSignal:
				s.preview.noSignal()
			}
			if level != nil {
				s.meter.set(*level)
			}
			if mix != nil {
				s.mixer.setLevels(*mix)
			}
			if status != nil {
				s.showStatus(*status, withStats)
				s.showScene(onAir)
			}
		})
	}
}
