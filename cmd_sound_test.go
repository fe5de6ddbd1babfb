package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tallystudio/tally/app"
	"github.com/tallystudio/tally/capture"
	"github.com/tallystudio/tally/internal/peers"
)

// toneDB is the level in dBFS (of a sine's peak) of freq Hz in mono samples
// at rate: Goertzel over Hann-windowed tenths of a second, their power
// averaged. A tenth of a second resolves 10 Hz, so the few hundred ppm a
// drift correction may bend a tone by while it settles cost nothing, where
// one transform over seconds would miss a tone 0.3 Hz off; the window keeps
// a loud tone elsewhere out of the measure of a muted one.
func toneDB(samples []float64, freq float64, rate int) float64 {
	n := rate / 10
	win := make([]float64, n)
	var sum float64
	for i := range win {
		win[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n))
		sum += win[i]
	}
	coeff := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var total float64
	segs := len(samples) / n
	for k := range segs {
		var s1, s2 float64
		for i, x := range samples[k*n : (k+1)*n] {
			s0 := x*win[i] + coeff*s1 - s2
			s2, s1 = s1, s0
		}
		total += s1*s1 + s2*s2 - coeff*s1*s2
	}
	amp := 2 * math.Sqrt(total/float64(segs)) / sum
	return 20 * math.Log10(amp/32767)
}

// checkSoundStats finds each source's peak level in the last JSON stats
// line of a run while live: a sine's peak, after its fader, within a dB.
func checkSoundStats(t *testing.T, stdout string, want map[string]float64) {
	t.Helper()
	var st struct {
		State string           `json:"state"`
		Sound []app.SoundLevel `json:"sound"`
	}
	for line := range strings.Lines(stdout) {
		var l = st
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("a stats line: %v: %s", err, line)
		}
		if l.State == "live" {
			st = l
		}
	}
	got := map[string]float64{}
	for _, s := range st.Sound {
		got[s.Source] = s.PeakDB
	}
	for src, db := range want {
		if l, ok := got[src]; !ok || math.Abs(l-db) > 1 {
			t.Errorf("stats: %s peak %v dBFS (listed %v), want %v ±1; all: %+v", src, l, ok, db, st.Sound)
		}
	}
}

// recordedSound decodes the left channel of a recording's sound between two
// times, at 48 kHz.
func recordedSound(t *testing.T, path string, from, to time.Duration) []float64 {
	t.Helper()
	f, err := capture.OpenFile(path, false, 0, 0, 48000, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a := f.Audio()
	if a == nil {
		t.Fatal("the recording has no sound")
	}
	var out []float64
	var buf []int16
	n := 0
	for {
		buf, err = a.Read(buf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(buf); i += 2 {
			at := time.Duration(n) * time.Second / 48000
			if at >= from && at < to {
				out = append(out, float64(buf[i]))
			}
			n++
		}
	}
	return out
}

// Two tones mixed at set gains reach the server at those levels: a 440 Hz
// tone source (-6 dBFS) at -12 dB and a file of 1 kHz (-6 dBFS) at -6 dB come
// out at -18 and -12 dBFS, each within 0.5 dB; muting the file removes it.
func TestStreamScenesMixesTwoTonesAtTheirGains(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})
	dir := t.TempDir()
	wav := filepath.Join(dir, "tone1k.wav")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "aevalsrc=0.5*sin(2*PI*1000*t):s=48000:c=stereo:d=10",
		"-c:a", "pcm_s16le", wav).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	for i, muted := range []bool{false, true} {
		doc := fmt.Sprintf(`{"version": 1, "canvas": {"width": 320, "height": 180},
  "sources": [
    {"name": "bg", "type": "colour", "colour": "#203040"},
    {"name": "A", "type": "tone", "frequency": 440, "audio": {"gain_db": -12}},
    {"name": "B", "type": "audio", "path": "tone1k.wav", "loop": true, "audio": {"gain_db": -6, "muted": %v}}
  ],
  "scenes": [{"name": "main", "layers": [{"source": "bg"}, {"source": "A"}, {"source": "B"}]}]}`, muted)
		path := filepath.Join(dir, fmt.Sprintf("mix%d.json", i))
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprintf("%s-mix%d", streamKey, i)
		stdout, stderr, code := runTally(t, 60*time.Second, []string{"TALLY_STREAM_KEY=" + key},
			"stream", "--url", ng.URL(), "--scenes", path, "--abitrate", "192k", "--duration", "6s", "--stats", "json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		checkSoundStats(t, stdout, map[string]float64{"A": -18, "B": map[bool]float64{false: -12, true: -120}[muted]})
		waitFor(t, func() bool { return strings.Count(ng.ErrorLog(), "deleteStream") > i })
		time.Sleep(300 * time.Millisecond)
		rec := ng.Recording(key)
		if errs := peers.DecodeErrors(t, rec); errs != "" {
			t.Errorf("the recording does not decode cleanly: %s", errs)
		}
		s := recordedSound(t, rec, 2*time.Second, 5*time.Second)
		if len(s) < 48000*2 {
			t.Fatalf("%d samples of sound between 2 and 5 s", len(s))
		}
		a, b := toneDB(s, 440, 48000), toneDB(s, 1000, 48000)
		t.Logf("muted=%v: 440 Hz at %.2f dBFS, 1 kHz at %.2f dBFS", muted, a, b)
		if math.Abs(a+18) > 0.5 {
			t.Errorf("muted=%v: the tone at %.2f dBFS, want -18 ±0.5", muted, a)
		}
		switch {
		case !muted && math.Abs(b+12) > 0.5:
			t.Errorf("the file at %.2f dBFS, want -12 ±0.5", b)
		case muted && b > -12-60:
			t.Errorf("the muted file at %.2f dBFS, want at most %d", b, -12-60)
		}
	}
}
