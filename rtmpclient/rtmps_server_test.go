package rtmpclient

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
)

// startTLSServer serves srv over TLS on loopback, as RTMP (rtmps) or RTMPT
// (rtmpts), until the test ends, and returns the listener's address.
func startTLSServer(t *testing.T, srv *Server, cert tls.Certificate, tunnel bool) string {
	t.Helper()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := tls.NewListener(tcp, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	done := make(chan error, 1)
	go func() {
		if tunnel {
			done <- srv.ServeRTMPT(ln, RTMPTConfig{})
		} else {
			done <- srv.Serve(ln)
		}
	}()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return tcp.Addr().String()
}

// hungUpWithin connects, sends what it is given, and waits for the server
// to close the connection; it fails the test unless that comes within
// bound. It returns how long the server took.
func hungUpWithin(t *testing.T, addr string, send []byte, bound time.Duration) time.Duration {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if len(send) > 0 {
		if _, err := c.Write(send); err != nil {
			t.Fatal(err)
		}
	}
	_ = c.SetReadDeadline(start.Add(bound))
	// Whatever the server answers (a TLS alert) is read and dropped; only
	// its end matters.
	_, err = io.Copy(io.Discard, c)
	took := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server still held the connection after %v", took)
	}
	return took
}

// A client that opens TCP and never starts TLS is dropped at the handshake
// timeout, one that sends anything but a ClientHello (garbage, a plain RTMP
// handshake, an HTTP request) at once; neither holds a goroutine, and the
// server goes on taking a real client. For rtmps and rtmpts alike.
func TestTLSServerDropsClientsThatNeverFinishTheHandshakeAndStaysUp(t *testing.T) {
	const timeout = 400 * time.Millisecond
	cert := peers.WriteCert(t, t.TempDir())
	garbage := map[string][]byte{
		"garbage":         []byte("\x00\xff\x13\x37 this is not a ClientHello \x00\x00\x00\x00"),
		"plain RTMP C0C1": append([]byte{handshakeVersion}, make([]byte, handshakeSize)...),
		"plain HTTP":      []byte("POST /open/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n\x00"),
	}
	for _, scheme := range []string{"rtmps", "rtmpts"} {
		t.Run(scheme, func(t *testing.T) {
			sink := newCountingSink()
			srv := &Server{HandshakeTimeout: timeout, OnPublish: func(PublishRequest) (StreamSink, error) { return sink, nil }}
			addr := startTLSServer(t, srv, cert.TLS, scheme == "rtmpts")

			took := hungUpWithin(t, addr, nil, timeout+2*time.Second)
			if took < timeout*3/4 {
				t.Errorf("a silent client was dropped after %v, before the %v timeout", took, timeout)
			}
			t.Logf("%s: silent client dropped after %v", scheme, took.Round(time.Millisecond))
			for name, b := range garbage {
				// Under the timeout: a ClientHello that is not one is refused
				// as it arrives, not when the clock runs out.
				took := hungUpWithin(t, addr, b, timeout)
				t.Logf("%s: %s dropped after %v", scheme, name, took.Round(time.Millisecond))
			}
			if scheme == "rtmps" {
				// The goroutine forgets its connection just after closing it.
				held := func() int { srv.mu.Lock(); defer srv.mu.Unlock(); return len(srv.conns) }
				for deadline := time.Now().Add(time.Second); held() != 0 && time.Now().Before(deadline); {
					time.Sleep(5 * time.Millisecond)
				}
				if n := held(); n != 0 {
					t.Errorf("%d connections still held after every bad client was dropped", n)
				}
			}

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ep, err := ParseURL(scheme+"://localhost:"+portOf(t, addr)+"/live", testKey)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Dial(ctx, ep, Options{Timeout: 5 * time.Second, CAFile: cert.CAFile})
			if err != nil {
				t.Fatalf("a real client after the bad ones: %v", err)
			}
			defer c.Close()
			id, err := c.createStream(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := publishOn(ctx, c, id, "after"); err != nil {
				t.Fatalf("publish after the bad clients: %v", err)
			}
		})
	}
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}
