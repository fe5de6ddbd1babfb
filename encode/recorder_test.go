package encode

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/asticode/go-astiav"

	"github.com/tallystudio/tally/flv"
)

// A recording written through the Recorder opens again with both streams,
// and closing it twice is harmless.
func TestRecorderWritesAFileThatOpens(t *testing.T) {
	v, err := NewVideoEncoder(VideoConfig{Width: 320, Height: 180, FPS: 30, Bitrate: 500_000,
		KeyframeInterval: time.Second, Preset: "ultrafast", Tune: "zerolatency"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	a, err := NewAudioEncoder(AudioConfig{SampleRate: 48000, Channels: 2, Bitrate: 128_000})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	path := filepath.Join(t.TempDir(), "show.mkv")
	r, err := NewRecorder(path, v, a)
	if err != nil {
		t.Fatal(err)
	}
	write := func(w func(Packet) error) func(Packet) {
		return func(p Packet) {
			if err := w(p); err != nil {
				t.Error(err)
			}
		}
	}
	for n := int64(0); n < 30; n++ {
		if err := v.Encode(testImage(320, 180, int(n)), n, false, time.Time{}, write(r.WriteVideo)); err != nil {
			t.Fatal(err)
		}
		if err := a.Encode(make([]int16, 2*1600), 48000, 2, write(r.WriteAudio)); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Flush(write(r.WriteVideo)); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := r.WriteVideo(Packet{Data: []byte{0, 0, 0, 1, 0x65}}); err != nil {
		t.Fatalf("a write after Close: %v", err)
	}

	fc := astiav.AllocFormatContext()
	defer fc.Free()
	if err := fc.OpenInput(path, nil, nil); err != nil {
		t.Fatal(err)
	}
	defer fc.CloseInput()
	if err := fc.FindStreamInfo(nil); err != nil {
		t.Fatal(err)
	}
	if got := len(fc.Streams()); got != 2 {
		t.Fatalf("the recording has %d streams, want 2", got)
	}
}

// A recording that cannot be created frees what it had opened and says so.
func TestRecorderThatCannotCreateItsFileFails(t *testing.T) {
	a, err := NewAudioEncoder(AudioConfig{SampleRate: 48000, Channels: 2, Bitrate: 128_000})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	path := filepath.Join(t.TempDir(), "missing", "show.mkv")
	if r, err := NewRecorder(path, nil, a); err == nil {
		r.Close()
		t.Fatal("a recording in a missing directory was created")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("stat %s: %v", path, err)
	}
	if _, err := NewRecorder(filepath.Join(t.TempDir(), "show.avi"), nil, a); err == nil {
		t.Fatal("an .avi recording was accepted")
	}
}

// The capture time given to Encode travels in the bitstream as an SEI.
func TestVideoEncoderCarriesTheCaptureTime(t *testing.T) {
	e, err := NewVideoEncoder(VideoConfig{Width: 320, Height: 180, FPS: 30, Bitrate: 500_000,
		KeyframeInterval: time.Second, Preset: "ultrafast", Tune: "zerolatency"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	base := time.Unix(1_700_000_000, 123_456_789)
	var got []time.Time
	emit := func(p Packet) {
		if c, ok := flv.CaptureTime(flv.AppendAVCC(nil, p.Data).Data); ok {
			got = append(got, c)
		}
	}
	for n := int64(0); n < 3; n++ {
		if err := e.Encode(testImage(320, 180, int(n)), n, false, base.Add(time.Duration(n)*time.Millisecond), emit); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Encode(testImage(320, 180, 3), 3, false, time.Time{}, emit); err != nil {
		t.Fatal(err)
	}
	if err := e.Flush(emit); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d frames carry a capture time, want the 3 given one: %v", len(got), got)
	}
	for n, c := range got {
		if want := base.Add(time.Duration(n) * time.Millisecond); !c.Equal(want) {
			t.Errorf("frame %d carries %v, want %v", n, c, want)
		}
	}
}
