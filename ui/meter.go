package ui

import (
	"fmt"
	"fyne.io/fyne/v2/lang"
	"math"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/widget"

	"github.com/tallystudio/tally/app"
)

// meterFloor is the bottom of the meter's scale.
const meterFloor = -60.0

// levelMeter is a horizontal audio meter: an RMS bar, a peak marker that holds
// for a second, and the figures in dBFS.
type levelMeter struct {
	widget.BaseWidget
	track, rms *canvas.Rectangle
	peak       *canvas.Rectangle
	text       *canvas.Text
	level      app.Level
	held       float64
	heldAt     time.Time
	// compact reads out only the held peak, for a mixer strip, where the
	// program meter's RMS and peak figures would leave the bar no room.
	compact bool
}

// newStripMeter is a mixer strip's meter: the program meter, compact.
func newStripMeter() *levelMeter {
	m := newLevelMeter()
	m.compact = true
	m.set(m.level)
	return m
}

func newLevelMeter() *levelMeter {
	m := &levelMeter{
		track: canvas.NewRectangle(colorOf(colorMeterTrack)),
		rms:   canvas.NewRectangle(colorOf(colorMeterRMS)),
		peak:  canvas.NewRectangle(colorOf(colorMeterPeak)),
		text:  canvas.NewText("", colorOf(colorMeterText)),
		level: app.Level{PeakDB: math.Inf(-1), RMSDB: math.Inf(-1)},
		held:  math.Inf(-1),
	}
	m.text.TextSize = 11
	m.ExtendBaseWidget(m)
	m.set(m.level)
	return m
}

// set shows a reading (UI thread).
func (m *levelMeter) set(l app.Level) {
	m.level = l
	if l.PeakDB >= m.held || time.Since(m.heldAt) > time.Second {
		m.held, m.heldAt = l.PeakDB, time.Now()
	}
	if m.compact {
		m.text.Text = lang.L("{{.Level}} peak", map[string]any{"Level": dbText(m.held)})
	} else {
		m.text.Text = lang.L("Audio  {{.RMS}} RMS  {{.Peak}} peak", map[string]any{"RMS": dbText(l.RMSDB), "Peak": dbText(l.PeakDB)})
	}
	if l.PeakDB >= -0.5 {
		m.peak.FillColor = colorOf(colorMeterClip)
	} else {
		m.peak.FillColor = colorOf(colorMeterPeak)
	}
	m.Refresh()
}

// Text is what the meter reads out; for tests.
func (m *levelMeter) Text() string { return m.text.Text }

func dbText(db float64) string {
	if math.IsInf(db, -1) || db < meterFloor {
		return "-inf dBFS"
	}
	return fmt.Sprintf("%.1f dBFS", db)
}

func fraction(db float64) float32 {
	if math.IsInf(db, -1) || db <= meterFloor {
		return 0
	}
	return float32(math.Min(1, (db-meterFloor)/-meterFloor))
}

func (m *levelMeter) CreateRenderer() fyne.WidgetRenderer {
	return &meterRenderer{m: m, objects: []fyne.CanvasObject{m.track, m.rms, m.peak, m.text}}
}

type meterRenderer struct {
	m       *levelMeter
	objects []fyne.CanvasObject
}

func (r *meterRenderer) Layout(size fyne.Size) {
	barH := float32(10)
	textW := r.m.textWidth()
	barW := size.Width - textW - 12
	r.m.track.Move(fyne.NewPos(0, (size.Height-barH)/2))
	r.m.track.Resize(fyne.NewSize(barW, barH))
	r.m.rms.Move(r.m.track.Position())
	r.m.rms.Resize(fyne.NewSize(barW*fraction(r.m.level.RMSDB), barH))
	r.m.peak.Move(fyne.NewPos(barW*fraction(r.m.held)-2, (size.Height-barH)/2))
	r.m.peak.Resize(fyne.NewSize(3, barH))
	if r.m.held <= meterFloor || math.IsInf(r.m.held, -1) { // nothing to mark: silence, or under the scale
		r.m.peak.Hide()
	} else {
		r.m.peak.Show()
	}
	r.m.text.Move(fyne.NewPos(barW+12, (size.Height-r.m.text.MinSize().Height)/2))
}

func (r *meterRenderer) MinSize() fyne.Size {
	bar := float32(200)
	if r.m.compact {
		bar = 120
	}
	return fyne.NewSize(bar+r.m.textWidth(), max(r.m.text.MinSize().Height, 18))
}

// textWidth is the room for the figures. A strip's is the widest its figure
// can be, so that the bars of a column of strips line up and keep still.
func (m *levelMeter) textWidth() float32 {
	w := m.text.MinSize().Width
	if m.compact {
		w = max(w, fyne.MeasureText("-00.0 dBFS peak", m.text.TextSize, m.text.TextStyle).Width)
	}
	return w
}
func (r *meterRenderer) Refresh() {
	r.Layout(r.m.Size())
	for _, o := range r.objects {
		o.Refresh()
	}
}
func (r *meterRenderer) Objects() []fyne.CanvasObject { return r.objects }
func (r *meterRenderer) Destroy()                     {}
