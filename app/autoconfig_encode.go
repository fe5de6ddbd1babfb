package app

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"log/slog"
	"time"

	"github.com/tallystudio/tally/capture"
	"github.com/tallystudio/tally/encode"
)

// LocalEncoderTest is the setup's encoder test on this machine: a handful
// of the source's frames at the candidate's size, encoded as fast as the
// encoder goes for the test's duration. It measures throughput (frames out
// per second of wall time, the flush included), not a loop paced to the frame
// rate, which would only say "kept up" or "did not".
type LocalEncoderTest struct {
	// Source is the video source to take frames from (VideoSettings.Source).
	// One that cannot open here (a camera the studio holds, the scenes, none)
	// gets a synthetic picture with detail and motion instead, and so does
	// the test pattern: its flat bars encode about twice as fast as that
	// picture at 1080p60 (1.9× real time against 1.0× on 2 cores), and a
	// proposal from them would not hold once a camera or a game is on.
	Source  string
	Encoder string // "" is libx264
	Preset  string // "" is veryfast, the studio's default
	Tune    string
	Log     *slog.Logger
	// frames, when set, gives the frames instead of opening Source: the
	// studio's program (Engine.Setup).
	frames func(ctx context.Context, c Candidate, n int) ([]image.Image, error)
}

// testFrames is how many distinct frames the test cycles through: enough
// that the encoder sees motion, few enough to hold 1080p in memory.
const testFrames = 12

// TestEncoder encodes frames at c's size and rate for d.
func (t LocalEncoderTest) TestEncoder(ctx context.Context, c Candidate, d time.Duration) (EncodeResult, error) {
	log := t.Log
	if log == nil {
		log = slog.Default()
	}
	get := t.frames
	switch {
	case t.Source == "testpattern":
		get = func(_ context.Context, c Candidate, n int) ([]image.Image, error) {
			return syntheticFrames(c.Width, c.Height, n), nil
		}
	case get == nil:
		get = func(ctx context.Context, c Candidate, n int) ([]image.Image, error) {
			return sourceFrames(ctx, t.Source, c, n)
		}
	}
	frames, err := get(ctx, c, testFrames)
	if err != nil {
		log.Info("setup: encoder test on a synthetic picture", "source", t.Source, "err", err)
		frames = syntheticFrames(c.Width, c.Height, testFrames)
	}
	enc, err := encode.NewVideoEncoder(encode.VideoConfig{Encoder: t.Encoder, Width: c.Width, Height: c.Height, FPS: c.FPS,
		Bitrate: c.Good, KeyframeInterval: 2 * time.Second, Preset: t.Preset, Tune: t.Tune})
	if err != nil {
		return EncodeResult{Candidate: c}, fmt.Errorf("open encoder: %w", err)
	}
	defer enc.Close()
	discard := func(encode.Packet) {}
	start := time.Now()
	var n int64
	for time.Since(start) < d && ctx.Err() == nil {
		if err := enc.Encode(frames[n%int64(len(frames))], n, false, time.Time{}, discard); err != nil {
			return EncodeResult{Candidate: c}, fmt.Errorf("encode %s: %w", c, err)
		}
		n++
	}
	if err := enc.Flush(discard); err != nil {
		return EncodeResult{Candidate: c}, fmt.Errorf("flush %s: %w", c, err)
	}
	if err := ctx.Err(); err != nil {
		return EncodeResult{Candidate: c}, err
	}
	elapsed := time.Since(start)
	r := EncodeResult{Candidate: c, Speed: float64(n) / elapsed.Seconds() / float64(c.FPS)}
	log.Info("setup: encoder test", "candidate", c.String(), "frames", n, "elapsed", elapsed, "speed", r.Speed)
	return r, nil
}

// sourceFrames reads n frames of the source at c's size, copied out of the
// source's memory, within a few seconds.
func sourceFrames(ctx context.Context, spec string, c Candidate, n int) ([]image.Image, error) {
	if spec == "" || spec == "none" || spec == "scenes" {
		return nil, fmt.Errorf("%w: no single source to read", ErrNoSource)
	}
	src, _, closeSrc, err := openSources(VideoSettings{Source: spec, Width: c.Width, Height: c.Height, FPS: c.FPS},
		AudioSettings{Source: "none"})
	if err != nil {
		return nil, err
	}
	// A camera that never delivers must not hold the setup: closing the
	// source is what ends a read stuck in it.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	stop := context.AfterFunc(ctx, closeSrc)
	defer func() {
		if stop() {
			closeSrc()
		}
		cancel()
	}()
	out := make([]image.Image, 0, n)
	for len(out) < n {
		img, release, err := src.Read()
		if err != nil {
			return nil, fmt.Errorf("%w: read %s: %w", ErrNoSource, spec, err)
		}
		cp := copyImage(img)
		if release != nil {
			release()
		}
		if cp == nil {
			return nil, fmt.Errorf("%w: %s gives %T frames, which the test does not copy", ErrNoSource, spec, img)
		}
		out = append(out, cp)
	}
	return out, nil
}

// copyImage copies the picture kinds sources deliver; nil for another.
func copyImage(img image.Image) image.Image {
	switch p := img.(type) {
	case *image.YCbCr:
		c := *p
		c.Y, c.Cb, c.Cr = bytes.Clone(p.Y), bytes.Clone(p.Cb), bytes.Clone(p.Cr)
		return &c
	case *image.RGBA:
		c := *p
		c.Pix = bytes.Clone(p.Pix)
		return &c
	case *capture.BGRX:
		c := *p
		c.Pix = bytes.Clone(p.Pix)
		return &c
	}
	return nil
}

// syntheticFrames are encode.DetailedPictures as images: detail to code and
// motion to find, so a flat picture does not flatter the encoder.
func syntheticFrames(w, h, n int) []image.Image {
	var out []image.Image
	for _, p := range encode.DetailedPictures(w, h, n) {
		out = append(out, p)
	}
	return out
}
