package capture

// The system's devices, through mediadevices' drivers. Each registers what it
// finds at start-up. The microphone is Tally's own driver (microphone.go):
// mediadevices' panics at start-up when no audio backend exists.
import (
	_ "github.com/pion/mediadevices/pkg/driver/camera" // V4L2 on Linux, AVFoundation on macOS
	_ "github.com/pion/mediadevices/pkg/driver/screen" // X11 on Linux
)
