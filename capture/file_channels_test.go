package capture

import (
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"testing"
)

// A WAV file that does not name its channels (no channel mask: "2 channels"
// of no order, as many tools write) plays, rather than failing to resample.
func TestFileWithUnnamedChannelsPlays(t *testing.T) {
	wav := filepath.Join(t.TempDir(), "tone.wav")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "aevalsrc=0.5*sin(2*PI*1000*t)|0.5*sin(2*PI*1000*t):s=48000:d=1",
		"-c:a", "pcm_s16le", wav).CombinedOutput(); err != nil {
		t.Skipf("ffmpeg: %v: %s", err, out)
	}
	f, err := OpenFile(wav, false, 0, 0, 48000, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a := f.Audio()
	var buf []int16
	n := 0
	for {
		if buf, err = a.Read(buf); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("after %d samples: %v", n, err)
		}
		n += len(buf)
	}
	if n < 48000*2*9/10 {
		t.Errorf("%d samples of a second of stereo at 48 kHz", n)
	}
}
