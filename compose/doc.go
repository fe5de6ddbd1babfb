// Package compose is the compositor: it turns the newest frame of each layer
// into one program picture, a 4:2:0 *image.YCbCr in BT.709 limited range (Y
// 16–235, Cb and Cr 16–240), which the encoder takes as is.
//
// The work is split so that a frame costs little once it has been seen:
//
//   - Conversion, once per new frame (Layer.Seq) or change of geometry:
//     libswscale scales the visible part of the layer's source straight from
//     the image's own memory to its size on the canvas and converts it to
//     the canvas format, RGB with the BT.709 matrix (internal/avmem.SetBT709;
//     libswscale's default is BT.601), YUV by scaling alone. Sources with
//     alpha come out as YUVA 4:2:0; the compositor then keeps their colour
//     premultiplied by alpha, an alpha plane at chroma size (each 2×2 block
//     averaged), and per row the runs to skip, copy or blend.
//   - Composition, every output frame: opaque layers are copied row by row
//     (copy, a vectorised memmove), alpha layers blended over what is below
//     with integer arithmetic only where alpha is neither 0 nor 255. A layer
//     hidden under an opaque one is neither converted nor drawn, and black is
//     not painted under a layer that covers the canvas.
//   - A 4:2:0 or 4:2:2 source at its size on the canvas (a canvas-size
//     camera at full frame, say) is never converted: its rows are copied
//     from the image, a 4:2:2 one's chroma rows averaged in pairs.
//
// Geometry: the crop is cut from the source first, then the rest is fitted
// into Layer.Rect (FitInside, FitFill, FitStretch) and clipped to the
// canvas. The placed picture's edges are rounded to even canvas coordinates
// (nearest even, half up), so that its chroma lines up with the canvas's 2×2
// chroma grid; a picture less than about one pixel across is not drawn. The
// source rectangle that fills it is rounded to whole source pixels, and for a
// subsampled YUV source widened to its chroma grid (even for 4:2:0), so an
// odd crop of such a source keeps one more column or row.
//
// Which images carry alpha is decided by type: *image.NRGBA,
// *image.NYCbCrA, *image.RGBA64, *image.NRGBA64 and other types whose model
// is not opaque do; *image.RGBA does when Layer.Alpha is set (images, text,
// colour sources; premultiplied, as image.RGBA is) and not otherwise (screen
// grabs, whose fourth byte is not alpha); *image.YCbCr never does, nor does
// a BGRX screen grab (capture.BGRX, or any image with its BGRXPix method),
// which libswscale reads in place as bgr0. Types other than *image.YCbCr,
// *image.NYCbCrA, *image.RGBA, *image.NRGBA and BGRX grabs go through
// image/draw first: correct, slow, and done once per frame. Their
// colours are taken as the image's RGB, so a YCbCr subtype reaching that
// path is read with Go's full-range formula.
//
// A Compositor is not safe for concurrent use. Mix does not touch the
// Compositor's state.
package compose
