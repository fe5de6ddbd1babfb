package capture

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"os"
)

// maxImageSide is the largest width or height OpenImage accepts. An 8192x8192
// picture is already 256 MiB as NRGBA.
const maxImageSide = 8192

var (
	pngMagic  = []byte("\x89PNG\r\n\x1a\n")
	jpegMagic = []byte{0xff, 0xd8}
)

// OpenImage opens a PNG or JPEG as a still source, like OBS's Image Source:
// decoded once into an *image.NRGBA (a JPEG is opaque, a PNG keeps its alpha).
// The first Read returns the picture; later Reads block until Close and then
// return io.EOF. The picture is shared by every Read: callers must not write
// to it.
//
// The header is read first, and a picture wider or taller than 8192 pixels is
// refused before its pixels are decoded, so a file that claims to be huge
// cannot make us allocate for it.
func OpenImage(path string) (VideoReader, error) {
	img, err := decodeImage(path)
	if err != nil {
		return nil, err
	}
	return newStill(img), nil
}

func decodeImage(path string) (*image.NRGBA, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", path, unwrapPath(err))
	}
	defer f.Close()
	br := bufio.NewReader(f)
	head, err := br.Peek(len(pngMagic))
	if err != nil && len(head) < len(jpegMagic) {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("image %s: not a PNG or JPEG (%d bytes long)", path, len(head))
		}
		return nil, fmt.Errorf("image %s: %w", path, err)
	}
	var decodeConfig func(io.Reader) (image.Config, error)
	var decode func(io.Reader) (image.Image, error)
	var format string
	switch {
	case bytes.HasPrefix(head, pngMagic):
		decodeConfig, decode, format = png.DecodeConfig, png.Decode, "PNG"
	case bytes.HasPrefix(head, jpegMagic):
		decodeConfig, decode, format = jpeg.DecodeConfig, jpeg.Decode, "JPEG"
	default:
		return nil, fmt.Errorf("image %s: not a PNG or JPEG", path)
	}

	cfg, err := decodeConfig(br)
	if err != nil {
		return nil, fmt.Errorf("image %s: bad %s header: %v", path, format, err)
	}
	if cfg.Width > maxImageSide || cfg.Height > maxImageSide {
		return nil, fmt.Errorf("image %s: %dx%d is too large (at most %dx%d)", path, cfg.Width, cfg.Height, maxImageSide, maxImageSide)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("image %s: %s is %dx%d", path, format, cfg.Width, cfg.Height)
	}

	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("image %s: %w", path, err)
	}
	br.Reset(f)
	src, err := decode(br)
	if err != nil {
		return nil, fmt.Errorf("image %s: bad %s: %v", path, format, err)
	}
	return toNRGBA(src), nil
}

// toNRGBA returns img as an *image.NRGBA at the origin, converting (once) what
// the decoder returned in another layout.
func toNRGBA(img image.Image) *image.NRGBA {
	if n, ok := img.(*image.NRGBA); ok && n.Rect.Min == (image.Point{}) {
		return n
	}
	b := img.Bounds()
	dst := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	if y, ok := img.(*image.YCbCr); ok {
		// A JPEG: the common case, and a direct loop is much faster than
		// draw's generic path for an NRGBA destination.
		for py := 0; py < b.Dy(); py++ {
			row := dst.Pix[py*dst.Stride : py*dst.Stride+4*b.Dx()]
			for px := 0; px < b.Dx(); px++ {
				yi, ci := y.YOffset(b.Min.X+px, b.Min.Y+py), y.COffset(b.Min.X+px, b.Min.Y+py)
				r, g, bl := color.YCbCrToRGB(y.Y[yi], y.Cb[ci], y.Cr[ci])
				row[4*px], row[4*px+1], row[4*px+2], row[4*px+3] = r, g, bl, 0xff
			}
		}
		return dst
	}
	draw.Draw(dst, dst.Rect, img, b.Min, draw.Src)
	return dst
}
