package encode

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// HEVC and AV1 record into FLV (Enhanced RTMP's), MP4 and MKV files that
// FFmpeg 8 reads back whole: the codec, the size, BT.709, every frame, and no
// decoder complaint.
func TestRecorderWritesHEVCAndAV1ThatFFmpegReads(t *testing.T) {
	ffprobe, ffmpeg := ffmpeg8(t, "ffprobe"), ffmpeg8(t, "ffmpeg")
	const frames = 45
	for _, tc := range []struct{ encoder, codec string }{{"libx265", "hevc"}, {"libsvtav1", "av1"}} {
		v, err := NewVideoEncoder(VideoConfig{Encoder: tc.encoder, Width: 320, Height: 180, FPS: 30, Bitrate: 500_000,
			KeyframeInterval: time.Second, Preset: "ultrafast", Tune: "zerolatency"})
		if err != nil {
			t.Fatal(err)
		}
		a, err := NewAudioEncoder(AudioConfig{SampleRate: 48000, Channels: 2, Bitrate: 128_000})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		var recs []*Recorder
		for _, ext := range recorderFormats {
			r, err := NewRecorder(filepath.Join(dir, "show"+ext), v, a)
			if err != nil {
				t.Fatalf("%s: %v", tc.encoder, err)
			}
			recs = append(recs, r)
		}
		write := func(video bool) func(Packet) {
			return func(p Packet) {
				for _, r := range recs {
					w := r.WriteAudio
					if video {
						w = r.WriteVideo
					}
					if err := w(p); err != nil {
						t.Error(err)
					}
				}
			}
		}
		for n := int64(0); n < frames; n++ {
			// A forced keyframe mid-GOP: SVT-AV1's comes from a fresh encoder.
			if err := v.Encode(testImage(320, 180, int(n)), n, n == 20, time.Time{}, write(true)); err != nil {
				t.Fatal(err)
			}
			if err := a.Encode(make([]int16, 2*1600), 48000, 2, write(false)); err != nil {
				t.Fatal(err)
			}
		}
		if err := v.Flush(write(true)); err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
		}
		v.Close()
		a.Close()
		for _, ext := range recorderFormats {
			path := filepath.Join(dir, "show"+ext)
			streams := probe(t, ffprobe, path)
			if len(streams) != 2 {
				t.Errorf("%s%s: %d streams, want video and audio: %+v", tc.codec, ext, len(streams), streams)
			}
			for _, s := range streams {
				if s.Type == "video" && (s.Codec != tc.codec || s.Width != 320 || s.Height != 180 || s.Frames != strconv.Itoa(frames) ||
					s.Primaries != "bt709" || s.Transfer != "bt709" || s.Matrix != "bt709") {
					t.Errorf("%s%s: video stream %+v, want %s 320x180 BT.709 with %d frames", tc.codec, ext, s, tc.codec, frames)
				}
			}
			out, err := exec.Command(ffmpeg, "-v", "error", "-i", path, "-map", "0", "-f", "null", "-").CombinedOutput()
			if err != nil || len(out) > 0 {
				t.Errorf("%s%s: FFmpeg 8 decoding says: %v\n%s", tc.codec, ext, err, out)
			}
		}
	}
}

// ffmpeg8 is the path of FFmpeg 8's own program (ffmpeg or ffprobe), which
// scripts/ffmpeg builds and names in TALLY_FFMPEG_BIN; Debian's 5.1 reads
// no Enhanced FLV. The test skips under -short and without it.
func ffmpeg8(t *testing.T, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs FFmpeg 8's %s: skipped under -short", name)
	}
	dir := os.Getenv("TALLY_FFMPEG_BIN")
	if dir == "" {
		t.Skipf("needs FFmpeg 8's %s: TALLY_FFMPEG_BIN is unset (eval \"$(scripts/ffmpeg --env)\" names it)", name)
	}
	return filepath.Join(dir, name)
}

// probedStream is what ffprobe says of one stream of a file.
type probedStream struct {
	Type   string `json:"codec_type"`
	Codec  string `json:"codec_name"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Frames string `json:"nb_read_frames"`
	// The colour tags, all "bt709" as the encoder tags its stream.
	Primaries string `json:"color_primaries"`
	Transfer  string `json:"color_transfer"`
	Matrix    string `json:"color_space"`
}

// probe runs ffprobe on path, counting frames by decoding them.
func probe(t *testing.T, ffprobe, path string) []probedStream {
	t.Helper()
	out, err := exec.Command(ffprobe, "-v", "error", "-count_frames", "-show_streams", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p struct{ Streams []probedStream }
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	return p.Streams
}
