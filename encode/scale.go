package encode

import (
	"errors"
	"fmt"
	"image"

	"github.com/asticode/go-astiav"

	"github.com/tallystudio/tally/internal/avmem"
)

// Scaler converts the program's pictures to 4:2:0 at one other size, for the
// outputs that send that size. One Scaler serves every encoder of its size,
// so a picture is scaled once per size, not once per encoder.
type Scaler struct {
	w, h  int
	frame *astiav.Frame
	conv  converter
	mem   *avmem.Closer // frees frame and conv's objects
}

// NewScaler readies a scaler to w×h (both even). Close releases it.
func NewScaler(w, h int) (*Scaler, error) {
	if w <= 0 || h <= 0 || w%2 != 0 || h%2 != 0 {
		return nil, fmt.Errorf("encode: scale to %dx%d: the size must be positive and even", w, h)
	}
	s := &Scaler{w: w, h: h}
	var mem avmem.Closer
	defer mem.Close()
	s.frame = avmem.Own(&mem, astiav.AllocFrame())
	if s.frame == nil {
		return nil, errors.New("encode: cannot allocate a frame to scale into")
	}
	s.frame.SetWidth(w)
	s.frame.SetHeight(h)
	s.frame.SetPixelFormat(astiav.PixelFormatYuv420P)
	if err := s.frame.AllocBuffer(0); err != nil {
		return nil, fmt.Errorf("encode: scale frame buffer: %w", err)
	}
	mem.Add(s.conv.close)
	s.mem = mem.Move()
	return s, nil
}

// Scaled is a picture a Scaler made: a 4:2:0 image whose pixels live in a
// libav frame, which an encoder of the same size references rather than
// copies (it is an AVFramer).
type Scaled struct {
	*image.YCbCr
	f *astiav.Frame
}

// AVFrame is the frame holding the pixels.
func (s Scaled) AVFrame() *astiav.Frame { return s.f }

// Scale converts img (any picture an encoder takes) to the scaler's size.
// The result stays valid until the next Scale: an encoder still holding the
// previous one keeps its own reference, since Scale writes into a fresh
// buffer whenever the old one is shared.
func (s *Scaler) Scale(img image.Image) (Scaled, error) {
	// An encoder may still hold the last picture: write into a buffer of our own.
	if err := s.frame.MakeWritable(); err != nil {
		return Scaled{}, fmt.Errorf("encode: scale: %w", err)
	}
	var err error
	if f, ok := img.(AVFramer); ok {
		err = s.conv.fillFrame(s.frame, f.AVFrame())
	} else {
		err = s.conv.fill(s.frame, img)
	}
	if err != nil {
		return Scaled{}, err
	}
	y, ys := avmem.Plane(s.frame, 0, s.h)
	cb, cs := avmem.Plane(s.frame, 1, s.h/2)
	cr, _ := avmem.Plane(s.frame, 2, s.h/2)
	if y == nil || cb == nil || cr == nil {
		return Scaled{}, errors.New("encode: scaled frame has no planes")
	}
	return Scaled{YCbCr: &image.YCbCr{Y: y, Cb: cb, Cr: cr, YStride: ys, CStride: cs,
		SubsampleRatio: image.YCbCrSubsampleRatio420, Rect: image.Rect(0, 0, s.w, s.h)}, f: s.frame}, nil
}

// Close frees the scaler. Safe to call twice.
func (s *Scaler) Close() { s.mem.Close() }
