// Package app is Tally's studio engine: settings and their validation, the session
// state machine, the wiring of capture → encode → publish, and stats. It holds no UI
// code; the window (package ui) and the headless commands both drive it.
package app

import (
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/tallystudio/tally/encode"
)

// Version is Tally's release version; the Makefile sets it from FyneApp.toml.
var Version = "dev"

// BuildInfo says what this copy of Tally is made of, as found at run time.
type BuildInfo struct {
	Tally     string
	Go        string
	Platform  string
	FFmpeg    string
	Libraries []encode.Library
	Encoders  []encode.EncoderInfo
}

// About gathers the build information from the running binary and the loaded libav.
func About() BuildInfo {
	return BuildInfo{
		Tally:     Version,
		Go:        runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
		FFmpeg:    encode.FFmpegVersion(),
		Libraries: encode.Libraries(),
		Encoders:  encode.Encoders(),
	}
}

// Summary is a one-line description for window footers and logs.
func (b BuildInfo) Summary() string {
	return fmt.Sprintf("Tally %s · %s · FFmpeg %s", b.Tally, b.Go, b.FFmpeg)
}

// Write prints the build information in the form `tally version` shows.
func (b BuildInfo) Write(w io.Writer) error {
	var s strings.Builder
	fmt.Fprintf(&s, "Tally %s\n", b.Tally)
	fmt.Fprintf(&s, "Go %s (%s)\n", strings.TrimPrefix(b.Go, "go"), b.Platform)
	fmt.Fprintf(&s, "FFmpeg %s\n", b.FFmpeg)
	for _, l := range b.Libraries {
		fmt.Fprintf(&s, "  %-14s %s\n", l.Name, l.Version)
	}
	s.WriteString("Encoders:\n")
	for _, e := range b.Encoders {
		kind := "software"
		if e.Hardware {
			kind = "hardware"
		}
		fmt.Fprintf(&s, "  %-5s %-20s %s (%s)\n", e.Codec, e.Name, e.LongName, kind)
	}
	_, err := io.WriteString(w, s.String())
	return err
}
