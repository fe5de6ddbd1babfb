package ui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tallystudio/tally/app"
)

// customOutput is the destination's video choice for renditions of its own,
// edited in the output editor rather than taken from a preset.
var customOutput = textKey("Custom")

// outputSizes are the sizes the editor offers; any other can be typed. The
// tall ones are for vertical video, a centre crop of the canvas.
var outputSizes = []string{"1920x1080", "1280x720", "960x540", "854x480", "640x360", "1080x1920", "720x1280"}

// errBadKbps and errBadSize name what a field holds wrong before the engine's
// own checks (app.Settings.CheckOutput) see the numbers.
var (
	errBadKbps = errors.New("not a whole number of kb/s")
	errBadSize = errors.New("not a size such as 1280x720")
)

// outputEditor edits the video one destination receives: one rendition of
// its own, or several tracks sent as one Enhanced RTMP multitrack stream.
// Nothing is kept until the engine has checked it against the canvas and the
// platform's limits.
type outputEditor struct {
	d      dialog.Dialog
	st     app.Settings    // the canvas and the rest, as they are now
	dest   app.Destination // the destination as the row has it
	tracks []*trackFields
	list   *fyne.Container
	add    *widget.Button
	keyint *widget.Select
	errs   *widget.Label
	save   *widget.Button
	done   func([]app.Rendition)
}

// trackFields are one rendition's fields.
type trackFields struct {
	codec  *widget.Select
	size   *widget.SelectEntry
	fps    *widget.Select
	kbps   *widget.Entry
	remove *widget.Button
}

// openOutputEditor shows the editor for destination d, starting from the
// renditions it gets now (the Output tab's, a preset's or its own); done
// receives the renditions kept.
func openOutputEditor(win fyne.Window, st app.Settings, d app.Destination, done func([]app.Rendition)) *outputEditor {
	e := &outputEditor{st: st, dest: d, done: done, list: container.NewVBox()}
	tracks := st.Tracks(d)
	for _, r := range tracks {
		e.addTrack(r)
	}
	e.add = widget.NewButtonWithIcon(lang.L("Add track"), theme.ContentAddIcon(), func() {
		// A new track starts as the last one at half its size and bitrate:
		// the next rung of a ladder.
		last := e.rendition(len(e.tracks) - 1)
		last.Width, last.Height, last.Bitrate = even(last.Width/2), even(last.Height/2), max(last.Bitrate/2, 100_000)
		e.addTrack(last)
		e.changed()
	})
	e.keyint = widget.NewSelect(keyintChoices, func(string) { e.changed() })
	e.keyint.SetSelected(tracks[0].KeyframeInterval.String())
	e.errs = widget.NewLabel("")
	e.errs.Wrapping = fyne.TextWrapWord
	e.errs.Importance = widget.DangerImportance
	note := widget.NewLabel(lang.L("Several tracks go out as one Enhanced RTMP multitrack stream, as Twitch's Enhanced Broadcasting takes it; track 0 is what older servers play. Every track has its keyframes at the same moments."))
	note.Wrapping = fyne.TextWrapWord
	cancel := widget.NewButton(lang.L("Cancel"), func() { e.d.Hide() })
	e.save = widget.NewButtonWithIcon(lang.L("Save"), theme.ConfirmIcon(), e.keep)
	e.save.Importance = widget.HighImportance
	tracksBox := container.NewVScroll(container.NewVBox(e.list, e.add,
		widget.NewForm(widget.NewFormItem(lang.L("Keyframe every"), e.keyint)), note))
	// What is wrong and the buttons stay in sight however many tracks scroll.
	bottom := container.NewVBox(e.errs, container.NewHBox(layout.NewSpacer(), cancel, e.save))
	e.d = dialog.NewCustomWithoutButtons(lang.L("Video for this destination"), container.NewBorder(nil, bottom, nil, nil, tracksBox), win)
	e.d.Resize(fyne.NewSize(640, 680))
	e.changed()
	e.d.Show()
	return e
}

func (e *outputEditor) addTrack(r app.Rendition) {
	tf := &trackFields{}
	var codecs []string
	for _, c := range app.VideoCodecs() {
		codecs = append(codecs, c.Name)
	}
	on := func(string) { e.changed() }
	tf.codec = widget.NewSelect(codecs, on)
	tf.codec.SetSelected(r.CodecName())
	tf.size = widget.NewSelectEntry(outputSizes)
	tf.size.SetText(fmt.Sprintf("%dx%d", r.Width, r.Height))
	tf.size.OnChanged = on
	tf.fps = widget.NewSelect(fpsDivisors(e.st.Video.FPS), on)
	tf.fps.SetSelected(strconv.Itoa(r.FPS))
	tf.kbps = widget.NewEntry()
	tf.kbps.SetText(strconv.Itoa(r.Bitrate / 1000))
	tf.kbps.OnChanged = on
	tf.remove = widget.NewButtonWithIcon(lang.L("Remove"), theme.DeleteIcon(), func() { e.removeTrack(tf) })
	e.tracks = append(e.tracks, tf)
	e.relayout()
}

func (e *outputEditor) removeTrack(tf *trackFields) {
	for i, x := range e.tracks {
		if x == tf {
			e.tracks = append(e.tracks[:i], e.tracks[i+1:]...)
			break
		}
	}
	e.relayout()
	e.changed()
}

// relayout rebuilds the list so that the headings number the tracks as they
// stand; track 0 cannot be removed.
func (e *outputEditor) relayout() {
	e.list.RemoveAll()
	for i, tf := range e.tracks {
		head := widget.NewLabelWithStyle(lang.L("Track {{.N}}", map[string]any{"N": i}), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		var right fyne.CanvasObject
		if i > 0 {
			right = tf.remove
		}
		form := widget.NewForm(
			widget.NewFormItem(lang.L("Codec"), tf.codec),
			widget.NewFormItem(lang.L("Resolution"), tf.size),
			widget.NewFormItem(lang.L("Frame rate"), tf.fps),
			widget.NewFormItem(lang.L("Bitrate (kb/s)"), tf.kbps))
		e.list.Add(container.NewVBox(container.NewBorder(nil, nil, nil, right, head), form))
	}
	if e.add != nil {
		enable(e.add, len(e.tracks) < app.MaxTracks)
	}
}

// rendition reads track i's fields; a field that does not parse reads as
// zero, and check names it.
func (e *outputEditor) rendition(i int) app.Rendition {
	tf := e.tracks[i]
	var r app.Rendition
	for _, c := range app.VideoCodecs() {
		if c.Name == tf.codec.Selected {
			r.Encoder = c.Encoder
		}
	}
	r.Width, r.Height, _ = parseSize(tf.size.Text)
	r.FPS, _ = strconv.Atoi(tf.fps.Selected)
	if kbps, err := strconv.Atoi(strings.TrimSpace(tf.kbps.Text)); err == nil {
		r.Bitrate = kbps * 1000
	}
	r.KeyframeInterval, _ = time.ParseDuration(e.keyint.Selected)
	return r
}

func parseSize(s string) (w, h int, err error) {
	ws, hs, ok := strings.Cut(strings.TrimSpace(s), "x")
	w, werr := strconv.Atoi(ws)
	h, herr := strconv.Atoi(hs)
	if !ok || werr != nil || herr != nil || w <= 0 || h <= 0 {
		return 0, 0, errBadSize
	}
	return w, h, nil
}

// check reads every track and asks the engine whether the destination can
// have them: the error names the track and what is wrong with it.
func (e *outputEditor) check() ([]app.Rendition, error) {
	out := make([]app.Rendition, len(e.tracks))
	for i, tf := range e.tracks {
		if _, _, err := parseSize(tf.size.Text); err != nil {
			return nil, fmt.Errorf("track %d: %q is %w", i, tf.size.Text, err)
		}
		if _, err := strconv.Atoi(strings.TrimSpace(tf.kbps.Text)); err != nil {
			return nil, fmt.Errorf("track %d: bitrate %q is %w", i, tf.kbps.Text, errBadKbps)
		}
		out[i] = e.rendition(i)
	}
	d := e.dest
	d.Output, d.Video = "", out
	if _, err := e.st.CheckOutput(d); err != nil {
		return nil, err
	}
	return out, nil
}

// changed shows what is wrong as it is typed, and allows saving only what
// the engine takes.
func (e *outputEditor) changed() {
	if e.errs == nil {
		return // still being built
	}
	_, err := e.check()
	text := ""
	if err != nil {
		text = err.Error()
	}
	if e.errs.Text != text {
		e.errs.SetText(text)
	}
	enable(e.save, err == nil)
}

func (e *outputEditor) keep() {
	tracks, err := e.check()
	if err != nil {
		e.errs.SetText(err.Error())
		return
	}
	// done first: closing tells a Custom choice still unsaved to go back.
	e.done(tracks)
	e.d.Hide()
}

// fpsDivisors are the frame rates a destination can take from a canvas at
// fps: frames are taken from the canvas, never made up.
func fpsDivisors(fps int) []string {
	var out []string
	for n := fps; n >= 1; n-- {
		if fps%n == 0 && (n >= 10 || n == fps) {
			out = append(out, strconv.Itoa(n))
		}
	}
	return out
}

// even rounds down to an even number, as 4:2:0 video needs.
func even(n int) int { return n &^ 1 }
