package app

import (
	"context"
	"errors"
	"image"
	"image/draw"
	"time"

	xdraw "golang.org/x/image/draw"
)

// Setup is the first-run setup as the studio runs it, over its own program:
// the encoder test encodes the frames the program shows (the chosen source,
// scaled to each candidate's size), and the uplink test's session publishes
// from the program too. Opening the sources a second time would not do: the
// test pattern is one driver, and a second user closing it ends the first's.
// v is the studio's video: its encoder, preset and tune, which the proposal
// keeps, and its source.
func (e *Engine) Setup(v VideoSettings) *Setup {
	enc := LocalEncoderTest{Source: v.Source, Encoder: v.Encoder, Preset: v.Preset, Tune: v.Tune, Log: e.log, frames: e.programFrames}
	return &Setup{Encoder: enc, Uplink: SessionUplinkTest{Log: e.log, src: e.prog}}
}

// errNoProgramFrames is a program that showed too few frames to test with.
var errNoProgramFrames = errors.New("the program shows no picture")

// programFrames copies up to n distinct frames of the program, scaled to c's
// size, within a few seconds.
func (e *Engine) programFrames(ctx context.Context, c Candidate, n int) ([]image.Image, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	t := time.NewTicker(time.Second / 60)
	defer t.Stop()
	var out []image.Image
	var last uint64
	for len(out) < n {
		if f := e.prog.latestFrame(); f != nil {
			if f.seq != last {
				last = f.seq
				out = append(out, scaleImage(f.img, c.Width, c.Height))
			}
			f.unref()
		}
		select {
		case <-ctx.Done():
			if len(out) < 2 {
				return nil, errNoProgramFrames
			}
			return out, nil
		case <-t.C:
		}
	}
	return out, nil
}

// scaleImage is a copy of img at w×h: 4:2:0 stays 4:2:0, plane by plane,
// as the encoder takes it without a conversion; anything else becomes RGBA,
// which the encoder converts as it does the live source's pictures.
func scaleImage(img image.Image, w, h int) image.Image {
	if p, ok := img.(*image.YCbCr); ok && p.SubsampleRatio == image.YCbCrSubsampleRatio420 {
		dst := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
		sb, db := p.Bounds(), dst.Bounds()
		plane := func(pix []byte, stride int, r image.Rectangle) *image.Gray {
			return &image.Gray{Pix: pix, Stride: stride, Rect: image.Rect(0, 0, r.Dx(), r.Dy())}
		}
		half := func(r image.Rectangle) image.Rectangle { return image.Rect(0, 0, (r.Dx()+1)/2, (r.Dy()+1)/2) }
		xdraw.ApproxBiLinear.Scale(plane(dst.Y, dst.YStride, db), db.Sub(db.Min), plane(p.Y[p.YOffset(sb.Min.X, sb.Min.Y):], p.YStride, sb), sb.Sub(sb.Min), draw.Src, nil)
		for _, pl := range [][2][]byte{{dst.Cb, p.Cb[p.COffset(sb.Min.X, sb.Min.Y):]}, {dst.Cr, p.Cr[p.COffset(sb.Min.X, sb.Min.Y):]}} {
			xdraw.ApproxBiLinear.Scale(plane(pl[0], dst.CStride, half(db)), half(db), plane(pl[1], p.CStride, half(sb)), half(sb), draw.Src, nil)
		}
		return dst
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, img.Bounds(), draw.Src, nil)
	return dst
}
