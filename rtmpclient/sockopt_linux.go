package rtmpclient

import (
	"net"
	"syscall"
	"time"
)

// setUserTimeout makes the kernel give up on a connection whose sent data stays
// unacknowledged for d (TCP_USER_TIMEOUT), so a dead peer is noticed even when a
// write still fits in the socket buffer.
func setUserTimeout(nc net.Conn, d time.Duration) {
	tc, ok := nc.(*net.TCPConn)
	if !ok || d <= 0 {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	const tcpUserTimeout = 0x12 // TCP_USER_TIMEOUT, linux/tcp.h
	_ = raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpUserTimeout, int(d.Milliseconds()))
	})
}
