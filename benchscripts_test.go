package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// scripts/bench-studio clicks Go Live in the window window_id returns, so
// window_id must return a real id or fail: an xdotool search that prints
// nothing (the window not mapped yet) is not a window, and running out of
// tries is a failure the script stops on. The function is taken from the
// script itself and run against a stand-in xdotool; a stand-in sleep makes
// the 10 s of tries instant.
func TestBenchStudioWindowIDWaitsForAWindowOrFails(t *testing.T) {
	src, err := os.ReadFile("scripts/bench-studio")
	if err != nil {
		t.Fatal(err)
	}
	fn := regexp.MustCompile(`(?ms)^window_id\(\) \{.*?(?:; \}|^\})\n`).Find(src)
	if fn == nil {
		t.Fatal("scripts/bench-studio has no window_id function")
	}
	bin := t.TempDir()
	// Prints nothing and succeeds until call APPEAR (never if APPEAR is 0),
	// then prints the id, as xdotool does before and after the window maps.
	writeScript(t, filepath.Join(bin, "xdotool"), `#!/bin/sh
n=$(($(cat "$CALLS" 2>/dev/null || echo 0) + 1)); echo "$n" >"$CALLS"
if [ "$APPEAR" -gt 0 ] && [ "$n" -ge "$APPEAR" ]; then echo 4194307; fi
exit 0
`)
	writeScript(t, filepath.Join(bin, "sleep"), "#!/bin/sh\nexit 0\n")

	for _, tc := range []struct {
		name          string
		appear        int
		wantID        string
		wantCalls     int
		wantFailure   bool
		wantInMessage string
	}{
		{name: "window maps on the fourth search", appear: 4, wantID: "4194307", wantCalls: 4},
		{name: "window never maps", appear: 0, wantCalls: 50, wantFailure: true, wantInMessage: "no visible window"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := filepath.Join(t.TempDir(), "calls")
			cmd := exec.Command("bash", "-c", "set -euo pipefail\n"+string(fn)+"window_id\n")
			cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
				"CALLS="+calls, "APPEAR="+strconv.Itoa(tc.appear), "tally=bin/tally", "DISPLAY=:1")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if tc.wantFailure != (err != nil) {
				t.Fatalf("window_id: err %v, want failure %v; stdout %q, stderr %q", err, tc.wantFailure, stdout.String(), stderr.String())
			}
			if got := strings.TrimSpace(stdout.String()); got != tc.wantID {
				t.Errorf("window_id printed %q, want %q", got, tc.wantID)
			}
			if !strings.Contains(stderr.String(), tc.wantInMessage) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tc.wantInMessage)
			}
			b, _ := os.ReadFile(calls)
			if n, _ := strconv.Atoi(strings.TrimSpace(string(b))); n != tc.wantCalls {
				t.Errorf("xdotool searched %d times, want %d", n, tc.wantCalls)
			}
		})
	}
}

func writeScript(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
}

// scripts/bench-codecs gives FFmpeg's command line what Tally's encoders are
// given, so that comparison 11 compares the same job: the private options
// encode/options.go sets for each encoder must appear in the script's FFmpeg
// options, and the SVT-AV1 preset the script names must be the one Tally's
// ultrafast maps to. A change to either side that the other misses fails here.
func TestBenchCodecsAsksFFmpegForWhatTallySets(t *testing.T) {
	script, err := os.ReadFile("scripts/bench-codecs")
	if err != nil {
		t.Fatal(err)
	}
	options, err := os.ReadFile("encode/options.go")
	if err != nil {
		t.Fatal(err)
	}
	fn := regexp.MustCompile(`(?ms)^ff_video\(\) \{.*?^\}\n`).Find(script)
	preset := regexp.MustCompile(`(?m)^svt_ultrafast=\$\(sed .*\n`).Find(script)
	if fn == nil || preset == nil {
		t.Fatal("scripts/bench-codecs has no ff_video function or svt_ultrafast line")
	}
	ffVideo := func(encoder string) string {
		t.Helper()
		out, err := exec.Command("bash", "-c", "set -euo pipefail\ngop=60\ncolour=(COLOUR)\n"+string(preset)+string(fn)+
			"echo \"$svt_ultrafast\"\nff_video "+encoder+" 4500k\n").Output()
		if err != nil {
			t.Fatalf("ff_video %s: %v", encoder, err)
		}
		return string(out)
	}
	// The option strings as encode/options.go writes them.
	literal := func(re string) string {
		t.Helper()
		m := regexp.MustCompile(re).FindSubmatch(options)
		if m == nil {
			t.Fatalf("encode/options.go has no match for %s", re)
		}
		return string(m[1])
	}
	keyint := "keyint=60:min-keyint=60:scenecut=0" // keyint in encoderOptions, at 2 s of 30 fps
	if !bytes.Contains(options, []byte(`keyint := "keyint=" + strconv.Itoa(gop) + ":min-keyint=" + strconv.Itoa(gop) + ":scenecut=0"`)) {
		t.Fatal("encode/options.go builds its keyint parameters another way: update this test and scripts/bench-codecs")
	}
	x264 := keyint + literal(`params := keyint \+ "([^"]*)"`) + literal(`params \+= "([^"]*)"`)
	x265 := keyint + literal(`set\("x265-params", keyint\+"([^"]*)"\)`)
	svt := literal(`set\("svtav1-params", "([^"]*)"\)`)
	svtPreset := literal(`"ultrafast": (\d+),`)
	for _, c := range []struct{ encoder, want string }{
		{"libx264", "-x264-params " + x264 + " "},
		{"libx265", "-x265-params " + x265 + " "},
		{"libsvtav1", "-svtav1-params " + svt},
		{"libsvtav1", "-preset " + svtPreset + " "},
	} {
		if out := ffVideo(c.encoder); !strings.Contains(out, c.want) {
			t.Errorf("FFmpeg's options for %s lack %q:\n%s", c.encoder, c.want, out)
		}
	}
	if got := strings.Fields(ffVideo("libsvtav1"))[0]; got != svtPreset {
		t.Errorf("the script reads SVT-AV1's preset for ultrafast as %q, encode/options.go says %s", got, svtPreset)
	}
}
