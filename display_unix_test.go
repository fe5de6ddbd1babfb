//go:build unix && !darwin && !android && !ios

package main

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
)

// findDisplay looks where Xlib would connect for each form of DISPLAY, so a
// display that works for other X programs is never reported missing.
func TestX11AddrsFollowsXlibDisplayForms(t *testing.T) {
	for _, tc := range []struct {
		display  string
		abstract bool
		network  string
		addrs    []string
	}{
		{":0", false, "unix", []string{"/tmp/.X11-unix/X0"}},
		{":1.0", true, "unix", []string{"@/tmp/.X11-unix/X1", "/tmp/.X11-unix/X1"}},
		{"unix:2", false, "unix", []string{"/tmp/.X11-unix/X2"}},
		{"localhost:10.0", true, "tcp", []string{"localhost:6010"}},
		{"tcp/192.0.2.7:3", false, "tcp", []string{"192.0.2.7:6003"}},
		{"[::1]:11", false, "tcp", []string{"[::1]:6011"}},
		{"/private/tmp/com.apple.launchd.x/org.xquartz:0", false, "unix", []string{"/private/tmp/com.apple.launchd.x/org.xquartz:0"}},
	} {
		network, addrs, err := x11Addrs(tc.display, tc.abstract)
		if err != nil || network != tc.network || !slices.Equal(addrs, tc.addrs) {
			t.Errorf("x11Addrs(%q) = %s %q, %v; want %s %q", tc.display, network, addrs, err, tc.network, tc.addrs)
		}
	}
	for _, bad := range []string{"0", "host", ":x", ":-1"} {
		if _, _, err := x11Addrs(bad, false); err == nil {
			t.Errorf("x11Addrs(%q) took a malformed DISPLAY", bad)
		}
	}
}

// A Wayland build finds the compositor by its socket, and says so when it
// does not answer.
func TestFindWaylandNeedsTheCompositorSocket(t *testing.T) {
	dir := t.TempDir()
	if err := findWayland("wayland-7", dir); !errors.Is(err, errNoDisplay) {
		t.Errorf("no socket: %v, want errNoDisplay", err)
	}
	if err := findWayland("", ""); !errors.Is(err, errNoDisplay) {
		t.Errorf("no XDG_RUNTIME_DIR: %v, want errNoDisplay", err)
	}
	acceptAndClose(t, filepath.Join(dir, "wayland-0"))
	if err := findWayland("", dir); err != nil {
		t.Errorf("a listening wayland-0 under XDG_RUNTIME_DIR: %v", err)
	}
}
