//go:build !linux

package capture

import "github.com/pion/mediadevices/pkg/driver/screen" // the displays, through github.com/kbinani/screenshot

// scanScreens registers the displays present now.
func scanScreens() { screen.Initialize() }

// noScreenReason says why no screen can be listed; nothing to add here.
func noScreenReason() string { return "" }
