package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/tallystudio/tally/capture"
	"github.com/tallystudio/tally/encode"
)

func runDevices(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tally devices", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print as JSON")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	devs := capture.Devices()
	encs := encode.Usable()
	if *asJSON {
		type mode struct {
			Width, Height int     `json:",omitempty"`
			FPS           float32 `json:",omitempty"`
			SampleRate    int     `json:",omitempty"`
			Channels      int     `json:",omitempty"`
		}
		type dev struct {
			Kind, Label, Spec string
			Default           bool `json:",omitempty"`
			Modes             []mode
		}
		var out struct {
			Devices  []dev
			Encoders []encode.EncoderInfo
		}
		for _, d := range devs {
			j := dev{Kind: string(d.Kind), Label: d.Label, Spec: spec(d), Default: d.Default}
			for _, m := range d.Modes {
				j.Modes = append(j.Modes, mode{m.Width, m.Height, m.FrameRate, m.SampleRate, m.ChannelCount})
			}
			out.Devices = append(out.Devices, j)
		}
		out.Encoders = encs
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
		return exitOK
	}
	for _, kind := range []capture.Kind{capture.KindCamera, capture.KindScreen, capture.KindMicrophone, capture.KindDesktop} {
		fmt.Fprintf(stdout, "%s:\n", heading(kind))
		n := 0
		for _, d := range devs {
			if d.Kind != kind {
				continue
			}
			n++
			fmt.Fprintf(stdout, "  %-28s --%s %s", d.Label, flagFor(kind), spec(d))
			if d.Default {
				fmt.Fprint(stdout, "  (default: --audio desktop)")
			}
			fmt.Fprintln(stdout)
			for _, m := range d.Modes {
				if m.Width > 0 {
					fmt.Fprintf(stdout, "      %dx%d @ %g fps\n", m.Width, m.Height, m.FrameRate)
				} else if m.SampleRate > 0 {
					fmt.Fprintf(stdout, "      %d Hz, %d channels\n", m.SampleRate, m.ChannelCount)
				}
			}
		}
		if n == 0 {
			fmt.Fprintln(stdout, "  none found")
		}
	}
	fmt.Fprintln(stdout, "Encoders that open on this machine:")
	for _, e := range encs {
		kind := "software"
		if e.Hardware {
			kind = "hardware"
		}
		fmt.Fprintf(stdout, "  %-5s %-14s %s\n", e.Codec, e.Name, kind)
	}
	return exitOK
}

// heading titles a kind's part of the listing.
func heading(k capture.Kind) string {
	if k == capture.KindDesktop {
		return "Desktop audio (what each output plays)"
	}
	return strings.ToUpper(string(k[:1])) + string(k[1:]) + "s"
}

func flagFor(k capture.Kind) string {
	if k == capture.KindMicrophone || k == capture.KindDesktop {
		return "audio"
	}
	return "video"
}

// spec is what to pass to --video or --audio to pick this device.
func spec(d capture.Device) string {
	switch {
	case d.Label == capture.TestPatternLabel:
		return "testpattern"
	case d.Label == capture.ToneLabel:
		return "tone"
	case d.Kind == capture.KindMicrophone:
		return "mic:" + quoteIfSpaced(d.Label)
	case d.Kind == capture.KindDesktop:
		return "desktop:" + quoteIfSpaced(d.ID)
	}
	return string(d.Kind) + ":" + quoteIfSpaced(d.Label)
}

func quoteIfSpaced(s string) string {
	if strings.ContainsAny(s, " \t") {
		return fmt.Sprintf("%q", s)
	}
	return s
}
