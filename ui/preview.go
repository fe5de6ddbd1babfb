package ui

import (
	"fyne.io/fyne/v2/lang"
	"image"
	"sync/atomic"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// previewView shows the program picture, or a "no signal" slate, and over
// it the scene layout's handles (layout_overlay.go).
type previewView struct {
	widget.BaseWidget
	img     *canvas.Image
	slate   *fyne.Container
	overlay *layoutOverlay
	// the area's size in pixels, read by the preview loop to size its buffers
	w, h atomic.Int32
}

func newPreviewView() *previewView {
	p := &previewView{img: canvas.NewImageFromImage(image.NewRGBA(image.Rect(0, 0, 16, 9)))}
	p.img.FillMode = canvas.ImageFillContain
	p.img.ScaleMode = canvas.ImageScaleFastest
	p.img.Hide()
	msg := canvas.NewText(lang.L("No signal"), colorOf(colorPreviewTitle))
	msg.TextSize = 28
	msg.TextStyle = fyne.TextStyle{Bold: true}
	hint := canvas.NewText(lang.L("Choose a video source to see the preview"), colorOf(colorPreviewHint))
	p.slate = container.NewCenter(container.NewVBox(container.NewCenter(msg), container.NewCenter(hint)))
	p.overlay = newLayoutOverlay()
	p.ExtendBaseWidget(p)
	return p
}

func (p *previewView) CreateRenderer() fyne.WidgetRenderer {
	bg := canvas.NewRectangle(colorOf(colorPreviewBack))
	return &previewRenderer{p: p, objects: []fyne.CanvasObject{bg, p.img, p.slate, p.overlay}}
}

// show puts a frame on screen (UI thread).
func (p *previewView) show(frame *image.RGBA) {
	p.img.Image = frame
	if !p.img.Visible() {
		p.img.Show()
		p.slate.Hide()
	}
	p.img.Refresh()
}

// noSignal brings the slate back (UI thread).
func (p *previewView) noSignal() {
	if p.img.Visible() {
		p.img.Hide()
		p.slate.Show()
	}
}

// HasSignal tells whether a picture is showing; for tests.
func (p *previewView) HasSignal() bool { return p.img.Visible() }

type previewRenderer struct {
	p       *previewView
	objects []fyne.CanvasObject
}

func (r *previewRenderer) Layout(size fyne.Size) {
	for _, o := range r.objects {
		o.Resize(size)
		o.Move(fyne.NewPos(0, 0))
	}
	scale := float32(1)
	if c := fyne.CurrentApp().Driver().CanvasForObject(r.p); c != nil {
		scale = c.Scale()
	}
	r.p.w.Store(int32(size.Width * scale))
	r.p.h.Store(int32(size.Height * scale))
}

func (r *previewRenderer) MinSize() fyne.Size           { return fyne.NewSize(320, 180) }
func (r *previewRenderer) Refresh()                     { canvas.Refresh(r.p) }
func (r *previewRenderer) Objects() []fyne.CanvasObject { return r.objects }
func (r *previewRenderer) Destroy()                     {}

// previewSize is the buffer size for a preview area: its own size, within
// 16x9 and 1280x720 pixels (more is not worth converting 30 times a second).
func previewSize(w, h int) (int, int) {
	w, h = max(w, 16), max(h, 9)
	if w > previewMaxW || h > previewMaxH {
		f := min(float64(previewMaxW)/float64(w), float64(previewMaxH)/float64(h))
		w, h = int(float64(w)*f), int(float64(h)*f)
	}
	return w, h
}

// The largest preview buffer. Beyond it the renderer scales up: converting
// and uploading more pixels 30 times a second costs more than it shows.
var previewMaxW, previewMaxH = 640, 360
