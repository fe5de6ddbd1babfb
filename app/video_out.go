package app

import (
	"fmt"
	"image"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tallystudio/tally/encode"
	"github.com/tallystudio/tally/rtmpclient"
	"github.com/tallystudio/tally/rtmpclient/amf"
)

// A session encodes the program once per distinct rendition (videoOutput)
// and sends each destination one stream of one or more of those encodes
// (stream). Destinations asking for the same tracks share one stream, its
// interleaver and its packets; an output scaled from the canvas shares one
// scaler with every other output of its size.

// videoOutput is one encode of the program, shared by every destination
// track (and the recording) that asks for the same rendition.
type videoOutput struct {
	r     Rendition
	codec string // h264, hevc or av1
	enc   *encode.VideoEncoder
	// every: the output takes every every-th canvas frame (canvas FPS / r.FPS).
	every int64
	scale *outputScaler // nil at the canvas's size
	uses  []trackUse    // the streams carrying it, as which track
	// record: the recording takes this output's packets (the session's own).
	record bool
	// adjust is the destination with dynamic bitrate that has this output
	// to itself, following its link (abr.go); nil for a shared output.
	adjust *destination
	// keys is the outputs whose keyframes are kept aligned with its
	// (keyframes.go); pendingKey: one is due on the next frame it takes.
	keys       *keyGroup
	pendingKey bool
	emit       func(encode.Packet)
	lastDTS    int64 // of its last packet, ms, for the end of its sequence
	// idle: nothing takes its packets any more (EndStream), so it encodes
	// no more frames. The encode loop flushes it once (flushed, which only
	// that loop touches) and then closes drained, which EndStream set first.
	idle    atomic.Bool
	flushed bool
	drained chan struct{}
	// framesIn and packetsOut count what it encoded and gave on: once
	// flushed, each frame has come out.
	framesIn, packetsOut atomic.Int64
}

// trackUse is one stream's track that an output fills.
type trackUse struct {
	st    *stream
	track int
}

// stream is what one or more destinations receive: the tracks' packets and
// the sound, interleaved by time and fanned out to each destination's queue.
type stream struct {
	tracks []*videoOutput
	keys   *keyGroup // its tracks' (and others'), nil without video
	il     *rtmpclient.Interleaver
	fan    rtmpclient.Fanout
	meta   amf.ECMAArray
}

// outputScaler scales each canvas frame once for every output of one size.
type outputScaler struct {
	w, h   int
	sc     *encode.Scaler
	crop   image.Rectangle // the part of the canvas taken, centred: all of it unless the shape differs
	canvas image.Point     // the canvas's size, which crop is in
	slot   int64           // the canvas frame last scaled
	img    image.Image
}

// scaled is frame n of the canvas at the scaler's size.
func (o *outputScaler) scaled(img image.Image, n int64) (image.Image, error) {
	if o.img != nil && o.slot == n {
		return o.img, nil
	}
	src := img
	crop := o.cropOf(img.Bounds())
	if crop != img.Bounds() {
		sub, ok := img.(interface {
			SubImage(image.Rectangle) image.Image
		})
		if !ok {
			return nil, fmt.Errorf("scale for %dx%d: a %T picture cannot be cropped", o.w, o.h, img)
		}
		src = sub.SubImage(crop)
	}
	out, err := o.sc.Scale(src)
	if err != nil {
		return nil, fmt.Errorf("scale for %dx%d: %w", o.w, o.h, err)
	}
	o.slot, o.img = n, out
	return out, nil
}

// cropOf is the crop in a picture with bounds b. Sources need not deliver
// the canvas's size (a screen gives its own, a camera what it has), and the
// session's own encode stretches whatever comes to the canvas; so the crop is
// the same part of the picture, mapped in proportion, on even coordinates.
func (o *outputScaler) cropOf(b image.Rectangle) image.Rectangle {
	if b.Dx() == o.canvas.X && b.Dy() == o.canvas.Y || o.canvas.X == 0 || o.canvas.Y == 0 {
		return o.crop.Add(b.Min)
	}
	mx := func(v int) int { return even(v * b.Dx() / o.canvas.X) }
	my := func(v int) int { return even(v * b.Dy() / o.canvas.Y) }
	r := image.Rect(mx(o.crop.Min.X), my(o.crop.Min.Y), mx(o.crop.Max.X), my(o.crop.Max.Y))
	if o.crop.Max.X == o.canvas.X {
		r.Max.X = b.Dx()
	}
	if o.crop.Max.Y == o.canvas.Y {
		r.Max.Y = b.Dy()
	}
	return r.Add(b.Min)
}

// centreCrop is the largest part of a w×h canvas with the shape of ow×oh,
// centred, on even coordinates for 4:2:0.
func centreCrop(w, h, ow, oh int) image.Rectangle {
	cw, ch := w, h
	if w*oh > ow*h { // the canvas is wider than the output: crop the sides
		cw = even(h * ow / oh)
	} else if w*oh < ow*h {
		ch = even(w * oh / ow)
	}
	x, y := even((w-cw)/2), even((h-ch)/2)
	return image.Rect(x, y, x+cw, y+ch)
}

// planOutputs decides the session's encodes and streams from the
// destinations' settled tracks (see negotiate) and the recording.
func (s *Session) planOutputs() {
	// An output is shared by rendition, except that a destination with
	// dynamic bitrate has its own: its link's congestion lowers its picture
	// alone, not every destination's (and the recording's) of its rendition.
	type outputKey struct {
		r     Rendition
		owner *destination
	}
	byRendition := map[outputKey]*videoOutput{}
	output := func(r Rendition, owner *destination) *videoOutput {
		if o, ok := byRendition[outputKey{r, owner}]; ok {
			return o
		}
		o := &videoOutput{r: r, codec: codecOf(r.Encoder), every: int64(max(s.settings.Video.FPS/max(r.FPS, 1), 1)), adjust: owner}
		if o.codec == "" {
			o.codec = "h264" // the session's own encoder, checked as it opens
		}
		byRendition[outputKey{r, owner}] = o
		s.outs = append(s.outs, o)
		return o
	}
	video := s.settings.Video.Source != "none"
	if video && s.settings.Record != "" {
		output(s.settings.resolve(Rendition{}), nil).record = true
	}
	byTracks := map[string]*stream{}
	for _, d := range s.dests {
		var outs []*videoOutput
		var key strings.Builder
		if video {
			var owner *destination
			if d.cfg.DynamicBitrate && len(d.tracks) == 1 {
				owner = d
			}
			for _, r := range d.tracks {
				o := output(r, owner)
				outs = append(outs, o)
				fmt.Fprintf(&key, "%p/", o)
			}
		}
		st, ok := byTracks[key.String()]
		if !ok {
			st = &stream{tracks: outs}
			for t, o := range outs {
				o.uses = append(o.uses, trackUse{st: st, track: t})
			}
			byTracks[key.String()] = st
			s.streams = append(s.streams, st)
		}
		d.stream = st
	}
	for _, o := range s.outs {
		o.emit = func(p encode.Packet) {
			o.packetsOut.Add(1)
			s.emitVideo(o, p)
		}
	}
	s.keyGroups = groupKeyframes(s.outs, s.streams)
}

// openOutputs opens each output's encoder and the scalers, returning what
// closes them.
func (s *Session) openOutputs() (_ func(), err error) {
	var closers closeStack
	defer func() {
		if err != nil {
			closers.close()
		}
	}()
	v := s.settings.Video
	scalers := map[[2]int]*outputScaler{}
	for _, o := range s.outs {
		r := o.r
		o.enc, err = encode.NewVideoEncoder(encode.VideoConfig{Encoder: r.Encoder, Width: r.Width, Height: r.Height,
			FPS: r.FPS, Bitrate: r.Bitrate, KeyframeInterval: r.KeyframeInterval, Preset: r.Preset, Tune: v.Tune,
			Profile: v.Profile, BFrames: v.BFrames, Adjustable: o.adjust != nil, CallerKeyframes: true})
		if err != nil {
			return nil, err
		}
		closers = append(closers, o.enc.Close)
		o.keys.bound(int64(encode.GOPFrames(r.KeyframeInterval, r.FPS)) * o.every)
		if r.Width == v.Width && r.Height == v.Height {
			continue
		}
		size := [2]int{r.Width, r.Height}
		if o.scale = scalers[size]; o.scale == nil {
			sc, err := encode.NewScaler(r.Width, r.Height)
			if err != nil {
				return nil, err
			}
			closers = append(closers, sc.Close)
			o.scale = &outputScaler{w: r.Width, h: r.Height, sc: sc,
				crop: centreCrop(v.Width, v.Height, r.Width, r.Height), canvas: image.Pt(v.Width, v.Height)}
			scalers[size] = o.scale
		}
	}
	return closers.close, nil
}

// mainOutput is the output the headline stats follow: the session's own
// encode when something takes it, else the first.
func (s *Session) mainOutput() *videoOutput {
	own := s.settings.resolve(Rendition{})
	for _, o := range s.outs {
		if o.r == own {
			return o
		}
	}
	if len(s.outs) > 0 {
		return s.outs[0]
	}
	return nil
}

// encodeFrame gives canvas frame n to every output that takes it.
func (s *Session) encodeFrame(img image.Image, n int64, captured time.Time) error {
	for _, g := range s.keyGroups {
		g.plan(n)
	}
	for _, o := range s.outs {
		if o.idle.Load() {
			if err := o.flushIdle(); err != nil {
				return err
			}
			continue
		}
		if n%o.every != 0 {
			continue
		}
		in := img
		if o.scale != nil {
			var err error
			if in, err = o.scale.scaled(img, n); err != nil {
				return err
			}
		}
		if err := o.enc.Encode(in, n/o.every, o.pendingKey, captured, o.emit); err != nil {
			return err
		}
		o.framesIn.Add(1)
		o.pendingKey = false
	}
	return nil
}

// flushOutputs drains every encoder.
func (s *Session) flushOutputs() error {
	var first error
	for _, o := range s.outs {
		if o.idle.Load() {
			if err := o.flushIdle(); err != nil && first == nil {
				first = err
			}
			continue
		}
		if err := o.enc.Flush(o.emit); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// flushIdle drains an idled output's encoder the first time, on the encode
// loop that owns it, so that the frames it still holds reach the stream
// before EndStream unpublishes; drained tells EndStream.
func (o *videoOutput) flushIdle() error {
	if o.flushed {
		return nil
	}
	o.flushed = true
	defer close(o.drained)
	return o.enc.Flush(o.emit)
}

// endSequences ends each enhanced track's sequence after its last frame, as
// Enhanced RTMP asks of a publisher that stops. It is media, not a header: a
// Publisher resends headers on reconnect, and this one must not be.
func (s *Session) endSequences() {
	for _, st := range s.streams {
		for _, pk := range st.sequenceEnds(func(o *videoOutput) int64 { return o.lastDTS }) {
			st.il.Push(pk)
		}
		st.il.Flush()
	}
}

// sequenceEnds are the stream's end-of-sequence packets, at the times dts
// gives: one per track, but legacy AVC's track 0, whose end servers know
// from the unpublish.
func (st *stream) sequenceEnds(dts func(*videoOutput) int64) []rtmpclient.Packet {
	var out []rtmpclient.Packet
	for t, o := range st.tracks {
		if t == 0 && o.codec == "h264" {
			continue
		}
		out = append(out, rtmpclient.Packet{Type: rtmpclient.TypeVideo, Track: uint8(t), DTS: dts(o),
			Payload: videoTag(o.codec, t, false, tagEnd, 0, nil)})
	}
	return out
}

// closeStack closes what was opened, last first: what a constructor that
// opens several things runs when a later one fails, or hands back to close
// them all.
type closeStack []func()

func (c *closeStack) close() {
	for i := len(*c) - 1; i >= 0; i-- {
		(*c)[i]()
	}
}
