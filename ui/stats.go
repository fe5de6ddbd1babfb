package ui

import (
	"fmt"
	"fyne.io/fyne/v2/lang"
	"image"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/tallystudio/tally/app"
)

// statsPanel shows the numbers a streamer watches, once a second.
type statsPanel struct {
	content *fyne.Container
	values  map[string]*widget.Label
	graph   *canvas.Raster
	history []float64
}

// statNames are the panel's rows, in order.
var statNames = []string{textKey("Bitrate"), textKey("Frame rate"), textKey("Dropped (network)"), textKey("Skipped (encoding lag)"),
	textKey("Repeated (capture)"), textKey("Queue"), textKey("CPU"), textKey("Data sent")}

func newStatsPanel() *statsPanel {
	p := &statsPanel{values: map[string]*widget.Label{}}
	grid := container.NewGridWithColumns(4)
	for _, n := range statNames {
		v := widget.NewLabelWithStyle("–", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
		p.values[n] = v
		name := widget.NewLabel(lang.L(n))
		name.Importance = widget.LowImportance
		grid.Add(name)
		grid.Add(v)
	}
	p.graph = canvas.NewRaster(p.draw)
	p.graph.SetMinSize(fyne.NewSize(200, 60))
	p.content = container.NewVBox(grid, p.graph)
	return p
}

// update shows a status (UI thread).
func (p *statsPanel) update(st app.Status) {
	s := st.Stats
	sent := uint64(0)
	for _, d := range s.Destinations {
		sent += d.BytesSent
	}
	total := s.FramesSent + s.DroppedNetwork
	pct := 0.0
	if total > 0 {
		pct = float64(s.DroppedNetwork) / float64(total) * 100
	}
	p.set("Bitrate", fmt.Sprintf("%.0f kb/s", s.SentKbps))
	p.set("Frame rate", fmt.Sprintf("%.1f fps", s.FPS))
	p.set("Dropped (network)", fmt.Sprintf("%d (%.1f%%)", s.DroppedNetwork, pct))
	p.set("Skipped (encoding lag)", fmt.Sprint(s.SkippedEncoding))
	p.set("Repeated (capture)", fmt.Sprint(s.RepeatedCapture))
	p.set("Queue", fmt.Sprintf("%.0f ms", s.QueueMs))
	p.set("CPU", fmt.Sprintf("%.0f%%", s.CPUPercent))
	p.set("Data sent", bytesText(sent))
	p.history = st.History
	p.graph.Refresh()
}

func (p *statsPanel) set(name, v string) {
	if l := p.values[name]; l.Text != v {
		l.SetText(v)
	}
}

// Value is a row's text; for tests.
func (p *statsPanel) Value(name string) string { return p.values[name].Text }

func bytesText(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.0f kB", float64(n)/(1<<10))
}

// draw plots the sent bitrate of the last minutes as a filled area, scaled to
// its peak, newest at the right.
func (p *statsPanel) draw(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	bg, fill := colorOf(colorGraphBack), colorOf(colorGraphFill)
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = bg.R, bg.G, bg.B, bg.A
	}
	hist := p.history
	if len(hist) == 0 || w == 0 {
		return img
	}
	peak := 0.0
	for _, v := range hist {
		peak = math.Max(peak, v)
	}
	if peak <= 0 {
		return img
	}
	for x := 0; x < w; x++ {
		// The history spans the full five minutes; the newest second is at the right edge.
		i := len(hist) - (w-x)*historySeconds/w
		if i < 0 || i >= len(hist) {
			continue
		}
		top := h - int(hist[i]/peak*float64(h-2))
		for y := max(top, 0); y < h; y++ {
			img.Set(x, y, fill) // opaque: NRGBA and RGBA agree
		}
	}
	return img
}

// historySeconds is the span of the graph.
const historySeconds = 300
