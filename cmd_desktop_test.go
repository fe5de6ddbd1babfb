package main

import (
	"encoding/json"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
)

// What the computer plays reaches the stream: a 700 Hz tone at -12 dBFS
// played with paplay into a private PulseAudio server's default output (a
// null sink) is captured from that output's monitor by a scene collection's
// desktop source, mixed at 0 dB, and found in the server's recording at
// -12 dBFS within 1 dB; the JSON stats list the desktop source at that level.
func TestStreamScenesCarriesWhatTheDefaultOutputPlaysFromItsMonitor(t *testing.T) {
	pa := peers.StartPulse(t)
	pa.Use(t) // and the tally child, which inherits this environment
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})
	dir := t.TempDir()
	wav := filepath.Join(dir, "tone700.wav")
	// 10^(-12/20) = 0.2512: a sine whose peak is -12 dBFS, longer than the stream.
	if out, err := exec.Command(peers.Require(t, "ffmpeg"), "-v", "error", "-f", "lavfi",
		"-i", "aevalsrc=0.25119*sin(2*PI*700*t):s=48000:c=stereo:d=30", "-c:a", "pcm_s16le", wav).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	pa.Play(t, wav)
	stdout, s := streamSound(t, ng, dir, streamKey+"-desktop", `{"version": 1, "canvas": {"width": 320, "height": 180},
  "sources": [
    {"name": "bg", "type": "colour", "colour": "#203040"},
    {"name": "Desktop", "type": "desktop"}
  ],
  "scenes": [{"name": "main", "layers": [{"source": "bg"}]}]}`)
	checkSoundStats(t, stdout, map[string]float64{"Desktop": -12})
	t.Logf("the last stats line's sound: %s", lastSound(stdout))
	db := toneDB(s, 700, 48000)
	t.Logf("the desktop's 700 Hz tone in the recording at %.2f dBFS (played at -12)", db)
	if math.Abs(db+12) > 1 {
		t.Errorf("the desktop's tone at %.2f dBFS, want -12 ±1", db)
	}
}

// tally devices lists an output's monitor as desktop audio, the default
// output's marked, and not among the microphones.
func TestDevicesListsTheOutputsMonitorAsDesktopAudio(t *testing.T) {
	pa := peers.StartPulse(t)
	stdout, stderr, code := runTally(t, 30*time.Second, pa.Env(), "devices")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	mics, desktop, ok := strings.Cut(stdout, "Desktop audio")
	if !ok {
		t.Fatalf("no desktop audio listed:\n%s", stdout)
	}
	desktop, _, _ = strings.Cut(desktop, "Encoders")
	if want := "--audio desktop:" + pa.Sink + ".monitor  (default: --audio desktop)"; !strings.Contains(desktop, want) {
		t.Errorf("desktop audio lacks %q:\n%s", want, stdout)
	}
	if strings.Contains(mics, "Monitor of") || strings.Contains(mics, ".monitor") {
		t.Errorf("a monitor is listed as a microphone:\n%s", stdout)
	}
}

// lastSound is the "sound" of the last JSON stats line, as it was printed.
func lastSound(stdout string) string {
	out := ""
	for line := range strings.Lines(stdout) {
		var l struct {
			Sound json.RawMessage `json:"sound"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Sound != nil {
			out = string(l.Sound)
		}
	}
	return out
}
