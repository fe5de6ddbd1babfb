package capture

import (
	"errors"
	"image"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tallystudio/tally/internal/peers"
)

func TestMain(m *testing.M) { peers.Main(m) }

// readAll reads a media file's pictures to the end, releasing each, and
// returns how many there were; check sees the first before its release.
func readAll(t *testing.T, v VideoReader, check func(image.Image)) (n int) {
	t.Helper()
	for {
		img, release, err := v.Read()
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		if y := asYCbCr(img); y == nil || len(y.Y) == 0 {
			t.Fatalf("picture %d has no pixels: %T", n, img)
		}
		if n == 0 {
			check(img)
		}
		n++
		release()
	}
}

func asYCbCr(img image.Image) *image.YCbCr {
	switch m := img.(type) {
	case *Frame:
		return m.YCbCr
	case *image.YCbCr:
		return m
	}
	return nil
}

func TestMediaFileHandsOutPicturesInPlaceWhenTheyFit(t *testing.T) {
	path := peers.FixtureFLV(t, 2)                  // 640x360, 30 fps
	m, err := OpenFile(path, false, 640, 360, 0, 0) // no audio: nothing here reads it
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	n := readAll(t, m.Video(), func(img image.Image) {
		f, ok := img.(*Frame)
		if !ok {
			t.Fatalf("a picture at the output size came as %T, not in place", img)
		}
		if f.AVFrame().Width() != 640 || f.Rect.Dx() != 640 || f.Rect.Dy() != 360 {
			t.Errorf("picture is %v, frame %dx%d", f.Rect, f.AVFrame().Width(), f.AVFrame().Height())
		}
	})
	if n < 59 || n > 61 {
		t.Errorf("read %d pictures of a 2 s 30 fps file", n)
	}
	// Released pictures lend their Frames to later ones: the list stays small.
	if got := len(m.held); got > cap(m.held) {
		t.Errorf("%d Frames kept", got)
	}
}

func TestMediaFileScalesPicturesOfAnotherSize(t *testing.T) {
	path := peers.FixtureFLV(t, 2)
	m, err := OpenFile(path, false, 320, 180, 0, 0) // no audio: nothing here reads it
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	readAll(t, m.Video(), func(img image.Image) {
		if y, ok := img.(*image.YCbCr); !ok || y.Rect.Dx() != 320 || y.Rect.Dy() != 180 {
			t.Fatalf("picture for a 320x180 output: %T %v", img, img.Bounds())
		}
	})
}

// A picture still held when its file closes must stay safe to release: its
// reference is dropped then, and its Frame freed rather than kept.
func TestMediaFilePictureReleasedAfterCloseIsFreed(t *testing.T) {
	path := peers.FixtureFLV(t, 2)
	m, err := OpenFile(path, false, 640, 360, 0, 0) // no audio: nothing here reads it
	if err != nil {
		t.Fatal(err)
	}
	img, release, err := m.Video().Read()
	if err != nil {
		t.Fatal(err)
	}
	f, ok := img.(*Frame)
	if !ok {
		t.Fatalf("got %T", img)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if len(f.Y) == 0 {
		t.Fatal("a held picture lost its pixels when the file closed")
	}
	release()
	if len(f.Y) != 0 || len(m.held) != 0 {
		t.Errorf("after release: %d bytes still visible, %d Frames kept", len(f.Y), len(m.held))
	}
}

// A path that is no media file fails to open as a missing source, and frees
// what it had allocated on the way (the race detector and libav's own checks
// would see a double free).
func TestMediaFileThatDoesNotOpenIsNoDevice(t *testing.T) {
	_, err := OpenFile(filepath.Join(t.TempDir(), "missing.mp4"), false, 320, 180, 48000, 2)
	if !errors.Is(err, ErrNoDevice) {
		t.Fatalf("a missing file: %v, want ErrNoDevice", err)
	}
	junk := filepath.Join(t.TempDir(), "junk.mp4")
	if err := os.WriteFile(junk, []byte("not a media file"), 0o600); err != nil {
		t.Fatal(err)
	}
	if m, err := OpenFile(junk, false, 320, 180, 48000, 2); err == nil {
		m.Close()
		t.Fatal("a file of text opened as media")
	}
}

// A looped file plays on past its end (its decoders reopened, a scaler made
// for another size), and closes, twice, while it is still decoding.
func TestMediaFileLoopsAndCloses(t *testing.T) {
	path := peers.FixtureFLV(t, 1)
	m, err := OpenFile(path, true, 320, 180, 48000, 2)
	if err != nil {
		t.Fatal(err)
	}
	go func() { // the sound must flow, or decoding waits for it
		var buf []int16
		var err error
		for err == nil {
			buf, err = m.Audio().Read(buf)
		}
	}()
	v := m.Video()
	for n := range 40 { // more than the file's 30 pictures
		img, release, err := v.Read()
		if err != nil {
			t.Fatalf("picture %d: %v", n, err)
		}
		if img.Bounds().Dx() != 320 {
			t.Fatalf("picture %d is %v", n, img.Bounds())
		}
		release()
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
