package encode

import (
	"fmt"
	"image"

	"github.com/asticode/go-astiav"

	"github.com/tallystudio/tally/internal/avmem"
)

// converter turns a source's frames into the encoder's format and size with
// swscale: 4:2:2 from YUYV cameras, BGRX from screens (BGRXImage), any size;
// RGB with the BT.709 matrix the stream is tagged with.
// It converts once, straight from the image's memory into the encoder's
// frame (avmem.Scale): no staging copy, which for a 1080p screen grab was
// 8 MB and a fifth of the conversion's time.
type converter struct {
	sws    *astiav.SoftwareScaleContext
	format astiav.PixelFormat
	w, h   int
	// mem frees sws: on a change of source format or size, and with the
	// encoder.
	mem avmem.Closer
}

// fill puts img into dst, a YUV420P frame, converting when img is not
// already 4:2:0 at dst's size.
func (c *converter) fill(dst *astiav.Frame, img image.Image) error {
	if y, ok := img.(*image.YCbCr); ok && y.SubsampleRatio == image.YCbCrSubsampleRatio420 &&
		y.Rect.Dx() == dst.Width() && y.Rect.Dy() == dst.Height() {
		return copyYCbCr(dst, y)
	}
	if dst.PixelFormat() != astiav.PixelFormatYuv420P {
		return fmt.Errorf("encode: convert into %s: only yuv420p frames", dst.PixelFormat())
	}
	var room [3]plane
	pf, planes, err := planesOf(img, room[:0])
	if err != nil {
		return err
	}
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	if err := c.scaler(pf, w, h, dst); err != nil {
		return err
	}
	var src, out avmem.Planes
	for i, p := range planes {
		src.Data[i], src.Stride[i] = p.b, p.stride
	}
	if err := dst.MakeWritable(); err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	for i, rows := range [3]int{dst.Height(), (dst.Height() + 1) / 2, (dst.Height() + 1) / 2} {
		out.Data[i], out.Stride[i] = avmem.Plane(dst, i, rows)
	}
	if err := avmem.Scale(c.sws, &src, &out); err != nil {
		return fmt.Errorf("encode: convert %s %dx%d: %w", pf, w, h, err)
	}
	return nil
}

// fillFrame converts a libav frame of another size or format into dst.
func (c *converter) fillFrame(dst, src *astiav.Frame) error {
	pf, w, h := src.PixelFormat(), src.Width(), src.Height()
	if err := c.scaler(pf, w, h, dst); err != nil {
		return err
	}
	if err := dst.MakeWritable(); err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	if err := c.sws.ScaleFrame(src, dst); err != nil {
		return fmt.Errorf("encode: convert %s %dx%d: %w", pf, w, h, err)
	}
	return nil
}

// scaler readies a scaler from pf at w×h to dst; a change of source format
// or size starts afresh.
func (c *converter) scaler(pf astiav.PixelFormat, w, h int, dst *astiav.Frame) error {
	if c.sws != nil && pf == c.format && w == c.w && h == c.h {
		return nil
	}
	c.close()
	c.mem = avmem.Closer{} // a fresh one for the new scaler
	sws, err := astiav.CreateSoftwareScaleContext(w, h, pf, dst.Width(), dst.Height(), dst.PixelFormat(),
		astiav.NewSoftwareScaleContextFlags(astiav.SoftwareScaleContextFlagBilinear))
	if err != nil {
		return fmt.Errorf("encode: scaler from %dx%d %s: %w", w, h, pf, err)
	}
	avmem.Own(&c.mem, sws)
	// The stream is tagged BT.709 (video.go): RGB is converted with its
	// matrix, not libswscale's default BT.601. YUV is left alone: it has
	// no matrix to change, and a full-range (JPEG) source keeps the range
	// libswscale found for it, which SetBT709 would reset to limited.
	if d := pf.Descriptor(); d != nil && d.Flags().Has(astiav.PixelFormatDescriptorFlagRgb) {
		if err := avmem.SetBT709(sws); err != nil {
			c.close()
			return fmt.Errorf("encode: scaler from %dx%d %s: %w", w, h, pf, err)
		}
	}
	c.sws, c.format, c.w, c.h = sws, pf, w, h
	return nil
}

// close frees the scaler.
func (c *converter) close() {
	c.mem.Close()
	c.sws = nil
}
