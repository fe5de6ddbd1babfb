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
	"slices"
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

// streamSound streams a collection (JSON, its files relative to dir) for 6 s
// to nginx under key, and returns tally's stdout (JSON stats) and the left
// channel of the recorded sound between 2 and 5 s, after checking the
// recording decodes cleanly.
func streamSound(t *testing.T, ng *peers.Nginx, dir, key, doc string) (stdout string, sound []float64) {
	t.Helper()
	path := filepath.Join(dir, key+".json")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runTally(t, 60*time.Second, []string{"TALLY_STREAM_KEY=" + key},
		"stream", "--url", ng.URL(), "--scenes", path, "--abitrate", "192k", "--duration", "6s", "--stats", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	waitFor(t, ng.Unpublished)
	time.Sleep(300 * time.Millisecond)
	rec := ng.Recording(key)
	if errs := peers.DecodeErrors(t, rec); errs != "" {
		t.Errorf("the recording does not decode cleanly: %s", errs)
	}
	sound = recordedSound(t, rec, 2*time.Second, 5*time.Second)
	if len(sound) < 48000*2 {
		t.Fatalf("%d samples of sound between 2 and 5 s", len(sound))
	}
	return stdout, sound
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
		stdout, s := streamSound(t, ng, dir, fmt.Sprintf("%s-mix%d", streamKey, i), doc)
		checkSoundStats(t, stdout, map[string]float64{"A": -18, "B": map[bool]float64{false: -12, true: -120}[muted]})
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

// Two full-scale tones sum to +6 dBFS; the master limiter holds the program
// at its -1 dBFS ceiling, so nothing clips at the server: the decoded sound
// peaks under -0.5 dBFS (AAC adds a little to a peak) while both tones are
// still there, each pushed down by the limiter alike.
func TestStreamScenesLimiterKeepsTwoFullScaleTonesFromClipping(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})
	doc := `{"version": 1, "canvas": {"width": 320, "height": 180},
  "sources": [
    {"name": "bg", "type": "colour", "colour": "#203040"},
    {"name": "A", "type": "tone", "frequency": 440, "audio": {"gain_db": 6}},
    {"name": "B", "type": "tone", "frequency": 660, "audio": {"gain_db": 6}}
  ],
  "scenes": [{"name": "main", "layers": [{"source": "bg"}, {"source": "A"}, {"source": "B"}]}]}`
	_, s := streamSound(t, ng, t.TempDir(), streamKey+"-limit", doc)
	var peak float64
	for _, v := range s {
		peak = max(peak, math.Abs(v))
	}
	peakDB := 20 * math.Log10(peak/32768)
	a, b := toneDB(s, 440, 48000), toneDB(s, 660, 48000)
	t.Logf("peak %.2f dBFS; 440 Hz at %.2f dBFS, 660 Hz at %.2f dBFS", peakDB, a, b)
	if peakDB > -0.5 {
		t.Errorf("the sum peaks at %.2f dBFS at the server, want under -0.5 (the limiter's ceiling is -1)", peakDB)
	}
	if a < -12 || b < -12 || math.Abs(a-b) > 1 {
		t.Errorf("440 Hz at %.2f dBFS, 660 Hz at %.2f: want both kept, within 1 dB of each other", a, b)
	}
}

// A sound source that cannot play (a file that is not sound) does not take
// the stream down: the other source goes on at its level, and the stats name
// the broken one among the sources lost.
func TestStreamScenesBrokenSoundSourceLeavesTheRestPlaying(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.wav"), []byte("not a sound file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	doc := `{"version": 1, "canvas": {"width": 320, "height": 180},
  "sources": [
    {"name": "bg", "type": "colour", "colour": "#203040"},
    {"name": "A", "type": "tone", "frequency": 440, "audio": {"gain_db": -12}},
    {"name": "B", "type": "audio", "path": "notes.wav"}
  ],
  "scenes": [{"name": "main", "layers": [{"source": "bg"}, {"source": "A"}, {"source": "B"}]}]}`
	stdout, s := streamSound(t, ng, dir, streamKey+"-broken", doc)
	if a := toneDB(s, 440, 48000); math.Abs(a+18) > 0.5 {
		t.Errorf("the working tone at %.2f dBFS, want -18 ±0.5", a)
	}
	var lost []string
	for line := range strings.Lines(stdout) {
		var st struct {
			State string   `json:"state"`
			Lost  []string `json:"sources_lost"`
		}
		if json.Unmarshal([]byte(line), &st) == nil && st.State == "live" {
			lost = st.Lost
		}
	}
	if !slices.ContainsFunc(lost, func(l string) bool { return strings.Contains(l, "notes.wav") || strings.Contains(l, `"B"`) }) {
		t.Errorf("sources lost while live: %q, want the broken file named", lost)
	}
}

// The collection's mix is stamped with when its sound was heard, not when the
// mixer played it: the test tone's beep, through a strip's queue, stays
// within a frame of the test pattern's flash, as with --audio tone.
func TestStreamScenesSoundStaysInStepWithThePicture(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})
	path := filepath.Join(t.TempDir(), "sync.json")
	doc := `{"version": 1, "canvas": {"width": 640, "height": 360},
  "sources": [
    {"name": "bars", "type": "test"},
    {"name": "beep", "type": "tone"}
  ],
  "scenes": [{"name": "main", "layers": [{"source": "bars"}, {"source": "beep"}]}]}`
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runTally(t, 60*time.Second, []string{"TALLY_STREAM_KEY=" + streamKey},
		"stream", "--url", ng.URL(), "--scenes", path, "--duration", "4s", "--stats", "none")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	waitFor(t, ng.Unpublished)
	time.Sleep(300 * time.Millisecond)
	checkStream(t, ng.Recording(streamKey), 640, 360, 120, 2)
}
