//go:build !linux

package rtmpclient

import (
	"net"
	"time"
)

// setUserTimeout is Linux-only; elsewhere the write timeout alone detects dead peers.
func setUserTimeout(net.Conn, time.Duration) {}
