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
