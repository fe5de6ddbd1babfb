package peers

import (
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// KeyframeTimes returns the presentation times (seconds) of the video keyframes.
func KeyframeTimes(t testing.TB, path string) []float64 {
	t.Helper()
	return keyframeTimes(t, Require(t, "ffprobe"), path, 0)
}

// KeyframeTimes8 is KeyframeTimes of video stream i, read with FFmpeg 8's
// ffprobe (several video tracks, HEVC, AV1).
func KeyframeTimes8(t testing.TB, path string, i int) []float64 {
	t.Helper()
	return keyframeTimes(t, Require8(t, "ffprobe"), path, i)
}

func keyframeTimes(t testing.TB, ffprobe, path string, i int) []float64 {
	t.Helper()
	out, err := exec.Command(ffprobe, "-v", "error", "-select_streams", "v:"+strconv.Itoa(i),
		"-show_entries", "packet=pts_time,flags", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe keyframes of %s: %v", path, err)
	}
	var ts []float64
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, ",")
		if len(f) >= 2 && strings.Contains(f[1], "K") {
			if v, err := strconv.ParseFloat(f[0], 64); err == nil {
				ts = append(ts, v)
			}
		}
	}
	return ts
}

// FlashTimes returns the times (seconds) of frames that are almost entirely
// white: the test pattern's once-a-second flash.
func FlashTimes(t testing.TB, path string) []float64 {
	t.Helper()
	out, err := exec.Command(Require(t, "ffmpeg"), "-v", "error", "-i", path, "-an", "-vf",
		"signalstats,metadata=mode=print:key=lavfi.signalstats.YAVG:file=-", "-f", "null", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg signalstats of %s: %v", path, err)
	}
	re := regexp.MustCompile(`pts_time:([0-9.]+)\s+lavfi\.signalstats\.YAVG=([0-9.]+)`)
	var ts []float64
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		tm, _ := strconv.ParseFloat(m[1], 64)
		y, _ := strconv.ParseFloat(m[2], 64)
		if y > 200 {
			ts = append(ts, tm)
		}
	}
	return ts
}

// BeepTimes returns when the tone's 1 kHz beeps start (seconds): a high-pass
// filter removes the 440 Hz tone, and the ends of silence are the beeps' onsets.
func BeepTimes(t testing.TB, path string) []float64 {
	t.Helper()
	out, err := exec.Command(Require(t, "ffmpeg"), "-v", "error", "-i", path, "-vn", "-af",
		"highpass=f=800,highpass=f=800,silencedetect=n=-25dB:d=0.05,ametadata=mode=print:key=lavfi.silence_end:file=-",
		"-f", "null", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg silencedetect of %s: %v", path, err)
	}
	var ts []float64
	for _, m := range regexp.MustCompile(`silence_end=([0-9.]+)`).FindAllStringSubmatch(string(out), -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		ts = append(ts, v)
	}
	return ts
}
