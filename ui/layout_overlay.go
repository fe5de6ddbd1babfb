package ui

import (
	"image"
	"image/color"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/tallystudio/tally/scene"
)

// layoutTarget is what the preview's overlay draws and changes: the scenes
// panel (layers.go).
type layoutTarget interface {
	// layout is the canvas size, the selected scene's layer boxes bottom
	// first, the selected layer (-1 for none), and whether the overlay is on
	// at all.
	layout() (canvasSize image.Point, boxes []layerBox, selected int, on bool)
	selectLayer(i int)
	// setLayerBox moves and sizes a layer; live says more follow at once.
	setLayerBox(i int, r image.Rectangle, live bool)
}

type layerBox struct {
	rect   image.Rectangle
	hidden bool
}

// snapDistance is how close, in canvas pixels, an edge or centre has to come
// to a canvas edge, a centre line or another layer's edge to snap to it.
const snapDistance = 8

// minLayerSide is the smallest box a resize leaves, in canvas pixels: a box
// much smaller could not be grabbed again.
const minLayerSide = 4

// handleGrab is how near a corner, in screen units, a drag resizes rather
// than moves; handleSide is the drawn handle's side.
const (
	handleGrab = 9
	handleSide = 8
)

type dragMode int

const (
	dragMove dragMode = iota
	dragTopLeft
	dragTopRight
	dragBottomLeft
	dragBottomRight
)

// layoutOverlay lies over the preview picture. While a scene's layers can be
// edited there, it draws the selected layer's box with its corner handles;
// a drag inside the box moves the layer, a drag on a handle resizes it (with
// Shift, keeping its shape), and a click selects the top-most layer under
// the pointer. Edges snap to the canvas's edges and centre lines and to the
// other layers' edges, and a guide shows where.
type layoutOverlay struct {
	widget.BaseWidget
	target layoutTarget
	// keepAspect tells whether a resize keeps the box's shape: Shift held.
	keepAspect func() bool

	pressed *fyne.Position // where the button went down, which is where a drag starts
	drag    *layoutDrag
	guideX  int // canvas x of the vertical guide shown; -1 for none
	guideY  int
}

// layoutDrag is one drag, from its start.
type layoutDrag struct {
	layer int // -1: the drag started on nothing it can move
	mode  dragMode
	start image.Rectangle // the box when the drag started
	moved fyne.Delta      // how far the pointer went, in screen units
	last  image.Rectangle // the box last set
}

func newLayoutOverlay() *layoutOverlay {
	o := &layoutOverlay{guideX: -1, guideY: -1, keepAspect: shiftHeld}
	o.ExtendBaseWidget(o)
	return o
}

func shiftHeld() bool {
	if d, ok := fyne.CurrentApp().Driver().(desktop.Driver); ok {
		return d.CurrentKeyModifiers()&fyne.KeyModifierShift != 0
	}
	return false
}

// state reads the target; off when there is none.
func (o *layoutOverlay) state() (image.Point, []layerBox, int, bool) {
	if o.target == nil {
		return image.Point{}, nil, -1, false
	}
	cv, boxes, sel, on := o.target.layout()
	if !on || cv.X <= 0 || cv.Y <= 0 {
		return cv, nil, -1, false
	}
	if sel >= len(boxes) {
		sel = -1
	}
	return cv, boxes, sel, true
}

// fitted is where a canvas of size cv shows in an area: fitted inside and
// centred, as the preview draws the program. k is screen units per canvas
// pixel.
func fitted(area fyne.Size, cv image.Point) (origin fyne.Position, k float32) {
	k = min(area.Width/float32(cv.X), area.Height/float32(cv.Y))
	return fyne.NewPos((area.Width-float32(cv.X)*k)/2, (area.Height-float32(cv.Y)*k)/2), k
}

// toCanvas is the canvas point under a screen position.
func toCanvas(p, origin fyne.Position, k float32) image.Point {
	return image.Pt(int(math.Floor(float64((p.X-origin.X)/k))), int(math.Floor(float64((p.Y-origin.Y)/k))))
}

// topmostAt is the top-most visible layer whose box holds the canvas point,
// -1 for none.
func topmostAt(boxes []layerBox, pt image.Point) int {
	for i := len(boxes) - 1; i >= 0; i-- {
		if !boxes[i].hidden && pt.In(boxes[i].rect) {
			return i
		}
	}
	return -1
}

// Tapped selects the top-most layer under the pointer, or none.
func (o *layoutOverlay) Tapped(ev *fyne.PointEvent) {
	cv, boxes, _, on := o.state()
	if !on {
		return
	}
	origin, k := fitted(o.Size(), cv)
	o.target.selectLayer(topmostAt(boxes, toCanvas(ev.Position, origin, k)))
}

// MouseDown keeps where the button went down: the drivers report a drag
// from where the pointer has got to by then.
func (o *layoutOverlay) MouseDown(ev *desktop.MouseEvent) {
	if ev.Button == desktop.MouseButtonPrimary {
		pos := ev.Position
		o.pressed = &pos
	}
}

func (o *layoutOverlay) MouseUp(*desktop.MouseEvent) { o.pressed = nil }

// Dragged moves or resizes the layer the drag started on.
func (o *layoutOverlay) Dragged(ev *fyne.DragEvent) {
	if o.drag == nil {
		grab := ev.Position
		if o.pressed != nil {
			grab = *o.pressed
		}
		o.pressed = nil
		o.drag = o.begin(grab)
	}
	d := o.drag
	if d.layer < 0 {
		return
	}
	cv, boxes, _, on := o.state()
	if !on || d.layer >= len(boxes) {
		o.drag.layer = -1
		return
	}
	d.moved.DX += ev.Dragged.DX
	d.moved.DY += ev.Dragged.DY
	_, k := fitted(o.Size(), cv)
	dx, dy := int(math.Round(float64(d.moved.DX/k))), int(math.Round(float64(d.moved.DY/k)))
	r, gx, gy := dragBox(d.mode, d.start, dx, dy, cv, others(boxes, d.layer), o.keepAspect())
	o.guideX, o.guideY = gx, gy
	if r != d.last {
		d.last = r
		o.target.setLayerBox(d.layer, r, true)
	}
	o.Refresh()
}

// DragEnd applies the box where the drag left it, at once.
func (o *layoutOverlay) DragEnd() {
	d := o.drag
	o.drag, o.guideX, o.guideY = nil, -1, -1
	if d != nil && d.layer >= 0 && d.last != d.start {
		o.target.setLayerBox(d.layer, d.last, false)
	}
	o.Refresh()
}

// begin starts a drag at a screen position: on a handle of the selected
// layer it resizes, inside the selected layer it moves it, elsewhere it
// selects the top-most layer there and moves that.
func (o *layoutOverlay) begin(grab fyne.Position) *layoutDrag {
	cv, boxes, sel, on := o.state()
	if !on {
		return &layoutDrag{layer: -1}
	}
	origin, k := fitted(o.Size(), cv)
	if sel >= 0 {
		r := boxes[sel].rect
		corners := []struct {
			mode dragMode
			at   image.Point
		}{{dragTopLeft, r.Min}, {dragTopRight, image.Pt(r.Max.X, r.Min.Y)},
			{dragBottomLeft, image.Pt(r.Min.X, r.Max.Y)}, {dragBottomRight, r.Max}}
		for _, c := range corners {
			x, y := origin.X+float32(c.at.X)*k, origin.Y+float32(c.at.Y)*k
			if abs32(grab.X-x) <= handleGrab && abs32(grab.Y-y) <= handleGrab {
				return &layoutDrag{layer: sel, mode: c.mode, start: r, last: r}
			}
		}
	}
	pt := toCanvas(grab, origin, k)
	if sel < 0 || !pt.In(boxes[sel].rect) {
		sel = topmostAt(boxes, pt)
		if sel < 0 {
			return &layoutDrag{layer: -1}
		}
		o.target.selectLayer(sel)
	}
	r := boxes[sel].rect
	return &layoutDrag{layer: sel, mode: dragMove, start: r, last: r}
}

func abs32(v float32) float32 { return float32(math.Abs(float64(v))) }

// others are the visible boxes but one, which the dragged box snaps to.
func others(boxes []layerBox, but int) []image.Rectangle {
	var out []image.Rectangle
	for i, b := range boxes {
		if i != but && !b.hidden {
			out = append(out, b.rect)
		}
	}
	return out
}

// dragBox is the box a drag of (dx, dy) canvas pixels makes of start, snapped
// and kept on the canvas, and the canvas lines it snapped to (-1 for none).
func dragBox(mode dragMode, start image.Rectangle, dx, dy int, cv image.Point, others []image.Rectangle, keepAspect bool) (image.Rectangle, int, int) {
	xs, ys := []int{0, cv.X / 2, cv.X}, []int{0, cv.Y / 2, cv.Y}
	for _, r := range others {
		xs, ys = append(xs, r.Min.X, r.Max.X), append(ys, r.Min.Y, r.Max.Y)
	}
	if mode == dragMove {
		r := start.Add(image.Pt(dx, dy))
		sx, gx := snapLines([]int{r.Min.X, r.Min.X + r.Dx()/2, r.Max.X}, xs)
		sy, gy := snapLines([]int{r.Min.Y, r.Min.Y + r.Dy()/2, r.Max.Y}, ys)
		return keepOnCanvas(r.Add(image.Pt(sx, sy)), cv), gx, gy
	}
	left, top := mode == dragTopLeft || mode == dragBottomLeft, mode == dragTopLeft || mode == dragTopRight
	x0, y0, x1, y1 := start.Min.X, start.Min.Y, start.Max.X, start.Max.Y
	ex, ey := &x1, &y1 // the edges the corner moves
	if left {
		ex = &x0
	}
	if top {
		ey = &y0
	}
	*ex += dx
	*ey += dy
	sx, gx := snapLines([]int{*ex}, xs)
	*ex += sx
	gy := -1
	if keepAspect && start.Dx() > 0 {
		// The width leads; the height follows the start's shape.
		h := int(math.Round(float64(abs(x1-x0)) * float64(start.Dy()) / float64(start.Dx())))
		if top {
			y0 = y1 - h
		} else {
			y1 = y0 + h
		}
	} else {
		var sy int
		sy, gy = snapLines([]int{*ey}, ys)
		*ey += sy
	}
	// No smaller than minLayerSide, nor turned inside out: the moving edge
	// stops short of the one that stays.
	if left {
		x0 = min(x0, x1-minLayerSide)
		x0 = max(x0, x1-scene.MaxLayerSize)
	} else {
		x1 = max(x1, x0+minLayerSide)
		x1 = min(x1, x0+scene.MaxLayerSize)
	}
	if top {
		y0 = min(y0, y1-minLayerSide)
		y0 = max(y0, y1-scene.MaxLayerSize)
	} else {
		y1 = max(y1, y0+minLayerSide)
		y1 = min(y1, y0+scene.MaxLayerSize)
	}
	return keepOnCanvas(image.Rect(x0, y0, x1, y1), cv), gx, gy
}

func abs(v int) int { return max(v, -v) }

// snapLines is the smallest shift, within snapDistance, that puts one of
// lines on one of targets, and the target it lands on (-1 for none).
// Targets listed first win a tie: the canvas's own lines come first.
func snapLines(lines, targets []int) (shift, at int) {
	best, at := snapDistance+1, -1
	for _, t := range targets {
		for _, l := range lines {
			if d := t - l; abs(d) < abs(best) {
				best, at = d, t
			}
		}
	}
	if at < 0 {
		return 0, -1
	}
	return best, at
}

// keepOnCanvas moves a box back until some of it is on the canvas: one
// wholly off is not a valid layer, and could not be grabbed again.
func keepOnCanvas(r image.Rectangle, cv image.Point) image.Rectangle {
	kx, ky := min(r.Dx(), 8), min(r.Dy(), 8)
	switch {
	case r.Max.X < kx:
		r = r.Add(image.Pt(kx-r.Max.X, 0))
	case r.Min.X > cv.X-kx:
		r = r.Add(image.Pt(cv.X-kx-r.Min.X, 0))
	}
	switch {
	case r.Max.Y < ky:
		r = r.Add(image.Pt(0, ky-r.Max.Y))
	case r.Min.Y > cv.Y-ky:
		r = r.Add(image.Pt(0, cv.Y-ky-r.Min.Y))
	}
	return r
}

func (o *layoutOverlay) CreateRenderer() fyne.WidgetRenderer {
	r := &overlayRenderer{o: o, box: canvas.NewRectangle(color.Transparent)}
	r.box.StrokeWidth = 2
	for i := range r.handles {
		r.handles[i] = canvas.NewRectangle(color.Transparent)
	}
	for i := range r.guides {
		r.guides[i] = canvas.NewLine(color.Transparent)
		r.guides[i].StrokeWidth = 1
	}
	r.objects = []fyne.CanvasObject{r.guides[0], r.guides[1], r.box}
	for _, h := range r.handles {
		r.objects = append(r.objects, h)
	}
	return r
}

type overlayRenderer struct {
	o       *layoutOverlay
	box     *canvas.Rectangle
	handles [4]*canvas.Rectangle
	guides  [2]*canvas.Line // vertical, horizontal
	objects []fyne.CanvasObject
}

func (r *overlayRenderer) Layout(size fyne.Size) {
	for _, obj := range r.objects {
		obj.Hide()
	}
	cv, boxes, sel, on := r.o.state()
	if !on {
		return
	}
	origin, k := fitted(size, cv)
	at := func(x, y int) fyne.Position { return fyne.NewPos(origin.X+float32(x)*k, origin.Y+float32(y)*k) }
	guide := colorOf(colorSnapGuide)
	if x := r.o.guideX; x >= 0 {
		g := r.guides[0]
		g.StrokeColor, g.Position1, g.Position2 = guide, at(x, 0), at(x, cv.Y)
		g.Show()
	}
	if y := r.o.guideY; y >= 0 {
		g := r.guides[1]
		g.StrokeColor, g.Position1, g.Position2 = guide, at(0, y), at(cv.X, y)
		g.Show()
	}
	if sel < 0 {
		return
	}
	b := boxes[sel].rect
	c := colorOf(colorLayerBox)
	r.box.StrokeColor = c
	r.box.Move(at(b.Min.X, b.Min.Y))
	r.box.Resize(fyne.NewSize(float32(b.Dx())*k, float32(b.Dy())*k))
	r.box.Show()
	for i, pt := range []image.Point{b.Min, {b.Max.X, b.Min.Y}, {b.Min.X, b.Max.Y}, b.Max} {
		h := r.handles[i]
		h.FillColor = c
		h.Move(at(pt.X, pt.Y).SubtractXY(handleSide/2, handleSide/2))
		h.Resize(fyne.NewSquareSize(handleSide))
		h.Show()
	}
}

func (r *overlayRenderer) MinSize() fyne.Size { return fyne.NewSize(0, 0) }

func (r *overlayRenderer) Refresh() {
	r.Layout(r.o.Size())
	for _, obj := range r.objects {
		canvas.Refresh(obj)
	}
}

func (r *overlayRenderer) Objects() []fyne.CanvasObject { return r.objects }
func (r *overlayRenderer) Destroy()                     {}

// BoxOnScreen is where the selected layer's box is drawn, relative to the
// overlay; for tests. ok is false when none is drawn.
func (o *layoutOverlay) BoxOnScreen() (pos fyne.Position, size fyne.Size, ok bool) {
	cv, boxes, sel, on := o.state()
	if !on || sel < 0 {
		return pos, size, false
	}
	origin, k := fitted(o.Size(), cv)
	b := boxes[sel].rect
	return fyne.NewPos(origin.X+float32(b.Min.X)*k, origin.Y+float32(b.Min.Y)*k),
		fyne.NewSize(float32(b.Dx())*k, float32(b.Dy())*k), true
}
