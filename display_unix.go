//go:build unix && !darwin && !android && !ios

package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// findDisplay checks that the display server this build's GLFW will use is
// set and takes connections. It cannot see an X server that then refuses
// our credentials; runStudio's recover covers that rarer case.
func findDisplay() error {
	if waylandBuild {
		return findWayland(os.Getenv("WAYLAND_DISPLAY"), os.Getenv("XDG_RUNTIME_DIR"))
	}
	display := os.Getenv("DISPLAY")
	if display == "" {
		if os.Getenv("WAYLAND_DISPLAY") != "" {
			// This GLFW speaks X11 only; a Wayland desktop serves it through
			// Xwayland, which sets DISPLAY.
			return fmt.Errorf("%w: DISPLAY is not set (Tally's window needs X11 or Xwayland)", errNoDisplay)
		}
		return fmt.Errorf("%w: neither DISPLAY nor WAYLAND_DISPLAY is set", errNoDisplay)
	}
	network, addrs, err := x11Addrs(display, runtime.GOOS == "linux")
	if err != nil {
		return fmt.Errorf("%w: %w", errNoDisplay, err)
	}
	for _, a := range addrs {
		var c net.Conn
		if c, err = net.DialTimeout(network, a, 2*time.Second); err == nil {
			_ = c.Close()
			return nil
		}
	}
	return fmt.Errorf("%w: the X display %s does not answer (%w)", errNoDisplay, display, err)
}

// x11Addrs is where Xlib would connect for a DISPLAY of the form
// [protocol/][host]:number[.screen]: a local socket (Linux also has the
// abstract one, which works where /tmp is not shared, as in containers), or
// TCP port 6000+number on host (SSH's X forwarding is localhost:10 and up).
func x11Addrs(display string, abstract bool) (network string, addrs []string, err error) {
	if strings.HasPrefix(display, "/") {
		return "unix", []string{display}, nil // a socket path (XQuartz's launchd style)
	}
	colon := strings.LastIndex(display, ":")
	if colon < 0 {
		return "", nil, fmt.Errorf("DISPLAY=%q is not [host]:number", display)
	}
	host, num := display[:colon], display[colon+1:]
	if dot := strings.IndexByte(num, '.'); dot >= 0 {
		num = num[:dot]
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return "", nil, fmt.Errorf("DISPLAY=%q is not [host]:number", display)
	}
	proto := ""
	if slash := strings.IndexByte(host, '/'); slash >= 0 {
		proto, host = host[:slash], host[slash+1:]
	}
	if host == "" || host == "unix" || proto == "unix" {
		path := filepath.Join("/tmp/.X11-unix", "X"+strconv.Itoa(n))
		if abstract {
			return "unix", []string{"@" + path, path}, nil
		}
		return "unix", []string{path}, nil
	}
	return "tcp", []string{net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(6000+n))}, nil
}

// findWayland checks the compositor's socket, where libwayland looks for it:
// WAYLAND_DISPLAY (wayland-0 when unset) under XDG_RUNTIME_DIR, or as given
// when absolute.
func findWayland(name, runtimeDir string) error {
	if name == "" {
		name = "wayland-0"
	}
	path := name
	if !filepath.IsAbs(name) {
		if runtimeDir == "" {
			return fmt.Errorf("%w: XDG_RUNTIME_DIR is not set, so there is no Wayland socket to find", errNoDisplay)
		}
		path = filepath.Join(runtimeDir, name)
	}
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return fmt.Errorf("%w: the Wayland display %s does not answer (%w)", errNoDisplay, name, err)
	}
	return c.Close()
}
