package encode

import (
	"fmt"
	"image"

	"github.com/asticode/go-astiav"

	"github.com/tallystudio/tally/internal/avmem"
)

// converter turns a source's frames into the encoder's format and size with
// swscale: 4:2:2 from YUYV cameras, RGBA from screens, any size. It converts
// once, straight into the encoder's frame.
type converter struct {
	src    *astiav.Frame
	sws    *astiav.SoftwareScaleContext
	format astiav.PixelFormat
	w, h   int
	// mem frees src and sws: on a change of source format or size, and
	// with the encoder.
	mem avmem.Closer
}

// fill puts img into dst, converting when it is not already 4:2:0 at dst's size.
func (c *converter) fill(dst *astiav.Frame, img image.Image) error {
	if y, ok := img.(*image.YCbCr); ok && y.SubsampleRatio == image.YCbCrSubsampleRatio420 &&
		y.Rect.Dx() == dst.Width() && y.Rect.Dy() == dst.Height() {
		return copyYCbCr(dst, y)
	}
	pf, planes, err := planesOf(img)
	if err != nil {
		return err
	}
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	if err := c.scaler(pf, w, h, dst); err != nil {
		return err
	}
	if c.src == nil {
		c.src = avmem.Own(&c.mem, astiav.AllocFrame())
		c.src.SetWidth(w)
		c.src.SetHeight(h)
		c.src.SetPixelFormat(pf)
		if err := c.src.AllocBuffer(0); err != nil {
			return fmt.Errorf("encode: conversion frame: %w", err)
		}
	}
	if err := copyPlanes(c.src, planes); err != nil {
		return err
	}
	if err := dst.MakeWritable(); err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	if err := c.sws.ScaleFrame(c.src, dst); err != nil {
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
// or size starts afresh (and drops the staging frame, which has the old one).
func (c *converter) scaler(pf astiav.PixelFormat, w, h int, dst *astiav.Frame) error {
	if c.sws != nil && pf == c.format && w == c.w && h == c.h {
		return nil
	}
	c.close()
	c.mem = avmem.Closer{} // a fresh one for the new scaler and staging frame
	sws, err := astiav.CreateSoftwareScaleContext(w, h, pf, dst.Width(), dst.Height(), dst.PixelFormat(),
		astiav.NewSoftwareScaleContextFlags(astiav.SoftwareScaleContextFlagBilinear))
	if err != nil {
		return fmt.Errorf("encode: scaler from %dx%d %s: %w", w, h, pf, err)
	}
	c.sws, c.format, c.w, c.h = avmem.Own(&c.mem, sws), pf, w, h
	return nil
}

// close frees the scaler and the staging frame.
func (c *converter) close() {
	c.mem.Close()
	c.src, c.sws = nil, nil
}
