package capture

// The system's devices, through mediadevices' drivers. Each registers what it
// finds at start-up, and again when Rescan asks. The microphone is Tally's
// own driver (microphone.go): mediadevices' panics at start-up when no audio
// backend exists. So is the screen on Linux (screen_x11.go); other systems
// use mediadevices' (screen_other.go).
import (
	"github.com/pion/mediadevices/pkg/driver/camera" // V4L2 on Linux, AVFoundation on macOS
)

// scanVideo registers the cameras and screens present now; tests stand in a
// machine of their own.
var scanVideo = func() {
	camera.Initialize()
	scanScreens()
}
