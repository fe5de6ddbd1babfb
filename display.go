package main

import "errors"

// errNoDisplay is why the studio cannot open its window: no display server
// is set or none answers. Checked before Fyne starts, because GLFW's own
// failure is a panic deep in the driver with a 30-line trace.
var errNoDisplay = errors.New("no display found")
