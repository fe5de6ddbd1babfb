package app

import (
	"strings"
	"testing"
)

// An rtmpe:// or rtmpte:// destination is warned about wherever it shows:
// Validate (tally stream's stderr, Go Live) and the editor's hints. RTMPS
// and the other schemes are not.
func TestRTMPEURLIsCalledObfuscationNotSecurity(t *testing.T) {
	for _, tc := range []struct {
		url  string
		warn bool
	}{
		{"rtmpe://ingest.example/live", true},
		{"RTMPE://ingest.example:1935/live", true},
		{"rtmpte://ingest.example:8080/live", true},
		{"rtmps://ingest.example/live", false},
		{"rtmp://ingest.example/live", false},
		{"rtmpt://ingest.example/live", false},
		{"rtmpts://ingest.example/live", false},
		{"rtmpe", false},
	} {
		w := URLWarning(tc.url)
		if tc.warn != (w != "") {
			t.Errorf("URLWarning(%q) = %q, want a warning: %v", tc.url, w, tc.warn)
			continue
		}
		if tc.warn && (!strings.Contains(w, "obfuscation, not security") || !strings.Contains(w, "rtmps://")) {
			t.Errorf("URLWarning(%q) = %q: it must say obfuscation, not security, and point to rtmps://", tc.url, w)
		}
		if tc.url == "rtmpe" {
			continue
		}
		d := Destination{Service: "custom", URL: tc.url, Key: "abcdef"}
		s := DefaultSettings()
		s.Destinations = []Destination{d}
		warnings, err := s.Validate()
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		if got := strings.Join(warnings, "\n"); strings.Contains(got, "obfuscation") != tc.warn {
			t.Errorf("%s: Validate's warnings %q", tc.url, warnings)
		} else if tc.warn && !strings.Contains(got, "destination 1: RTMPE is obfuscation") {
			t.Errorf("%s: Validate's warning does not name the destination: %q", tc.url, warnings)
		}
		if got := strings.Join(d.Hints(), "\n"); strings.Contains(got, "obfuscation") != tc.warn {
			t.Errorf("%s: hints %q", tc.url, got)
		}
	}
}
