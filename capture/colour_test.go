package capture

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestNewColourIsA16x16PictureOfTheColourWithItsAlpha(t *testing.T) {
	want := color.NRGBA{R: 10, G: 200, B: 30, A: 128}
	v := NewColour(want)
	img := readNRGBA(t, v, time.Second)
	if img.Rect.Dx() != 16 || img.Rect.Dy() != 16 {
		t.Fatalf("picture is %v, want 16x16", img.Rect)
	}
	for y := 0; y < 16; y++ {
		for x := 0; x < 16; x++ {
			if c := img.NRGBAAt(x, y); c != want {
				t.Fatalf("pixel (%d,%d) is %v, want %v", x, y, c, want)
			}
		}
	}
	checkStillThenEOF(t, v)
}

func TestColourReadAfterCloseReturnsEOFEvenBeforeThePicture(t *testing.T) {
	v := NewColour(color.NRGBA{A: 255})
	v.Close()
	if img, _, err := v.Read(); !errors.Is(err, io.EOF) || img != nil {
		t.Fatalf("Read after Close: (%v, %v), want io.EOF", img, err)
	}
}

func TestParseColour(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want color.NRGBA
	}{
		{"#000", color.NRGBA{0, 0, 0, 255}},
		{"#fff", color.NRGBA{255, 255, 255, 255}},
		{"#F80", color.NRGBA{0xff, 0x88, 0x00, 255}},
		{"#1a2B3c", color.NRGBA{0x1a, 0x2b, 0x3c, 255}},
		{"#00ff0080", color.NRGBA{0, 255, 0, 0x80}},
		{"#ABCDEF00", color.NRGBA{0xab, 0xcd, 0xef, 0}},
	} {
		got, err := ParseColour(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseColour(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{
		"", "#", "fff", "ffffff", "#ff", "#ffff", "#fffff", "#fffffff", "#fffffffff",
		"#ggg", "#12345g", "# fff", "#fff ", " #fff", "#+ff", "#-1f", "red", "#ff\x00", "#ffé", "0x123456",
	} {
		got, err := ParseColour(in)
		if err == nil {
			t.Errorf("ParseColour(%q) = %v, want an error", in, got)
			continue
		}
		if !strings.Contains(err.Error(), strconv.Quote(in)) {
			t.Errorf("ParseColour(%q): error %q does not name the string", in, err)
		}
	}
}

func FuzzParseColour(f *testing.F) {
	for _, s := range []string{"#000", "#fff", "#F80", "#1a2B3c", "#00ff0080", "", "#", "#ggg", "red", "#12345", "#ffé", "#ffffffffff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseColour(s)
		if err != nil {
			if !strings.Contains(err.Error(), strconv.Quote(s)) {
				t.Fatalf("error %q does not name %q", err, s)
			}
			return
		}
		// What parses is exactly one of the three forms, and reads back the same.
		var back string
		switch len(s) {
		case 4:
			if c.R%0x11 != 0 || c.G%0x11 != 0 || c.B%0x11 != 0 || c.A != 255 {
				t.Fatalf("%q parsed as %v", s, c)
			}
			back = fmt.Sprintf("#%x%x%x", c.R/0x11, c.G/0x11, c.B/0x11)
		case 7:
			if c.A != 255 {
				t.Fatalf("%q parsed as %v, not opaque", s, c)
			}
			back = fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B)
		case 9:
			back = fmt.Sprintf("#%02x%02x%02x%02x", c.R, c.G, c.B, c.A)
		default:
			t.Fatalf("%q (%d bytes) parsed as %v", s, len(s), c)
		}
		if back != strings.ToLower(s) {
			t.Fatalf("%q parsed as %v, which reads back as %q", s, c, back)
		}
	})
}
