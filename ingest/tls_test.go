package ingest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/tallystudio/tally/internal/peers"
)

// startTLSIngest starts an ingest with RTMPS and RTMPTS on free ports and
// the test certificate; the TLS configuration asks for no minimum version,
// which Start raises.
func startTLSIngest(t *testing.T) (*Ingest, peers.Cert) {
	t.Helper()
	cert := peers.WriteCert(t, t.TempDir())
	in, err := Start("127.0.0.1:0", Config{RTMPSAddr: "127.0.0.1:0", RTMPTSAddr: "127.0.0.1:0",
		TLS: &tls.Config{Certificates: []tls.Certificate{cert.TLS}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := in.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return in, cert
}

func hostOf(t *testing.T, url string) string {
	t.Helper()
	_, rest, ok := strings.Cut(url, "://")
	host, _, _ := strings.Cut(rest, "/")
	if !ok || host == "" {
		t.Fatalf("no host in %q", url)
	}
	return host
}

// Both TLS listeners answer with the certificate they were given, at TLS 1.2
// or later: a client that offers only TLS 1.1 is refused, whatever the
// configuration passed in allowed.
func TestIngestServesTLSWithItsCertificateAndNothingOlderThan12(t *testing.T) {
	in, cert := startTLSIngest(t)
	caPEM, err := os.ReadFile(cert.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	for _, url := range []string{in.RTMPSURL("live"), in.RTMPTSURL("live")} {
		addr := hostOf(t, url)
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatalf("%s: a client trusting the test CA: %v", url, err)
		}
		if v := c.ConnectionState().Version; v < tls.VersionTLS12 {
			t.Errorf("%s: TLS version %x", url, v)
		}
		c.Close()
		old, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "localhost",
			MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
		if err == nil {
			old.Close()
			t.Errorf("%s: a TLS 1.1 client was let in", url)
		}
	}
	if !strings.HasPrefix(in.RTMPSURL("live"), "rtmps://127.0.0.1:") || !strings.HasPrefix(in.RTMPTSURL("live"), "rtmpts://127.0.0.1:") {
		t.Errorf("URLs %q and %q", in.RTMPSURL("live"), in.RTMPTSURL("live"))
	}
}

// An RTMPS or RTMPTS address without a certificate is refused before
// anything listens.
func TestIngestRefusesTLSAddressesWithoutACertificate(t *testing.T) {
	for _, cfg := range []Config{
		{RTMPSAddr: "127.0.0.1:0"},
		{RTMPTSAddr: "127.0.0.1:0", TLS: &tls.Config{}},
	} {
		in, err := Start("127.0.0.1:0", cfg)
		if !errors.Is(err, ErrNoCertificate) {
			if in != nil {
				in.Close()
			}
			t.Errorf("Start(%+v) = %v, want ErrNoCertificate", cfg, err)
		}
	}
}

// When one address is taken, Start fails naming it and leaves none of the
// others listening.
func TestIngestThatCannotTakeOneAddressListensOnNone(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freeAddr := free.Addr().String()
	free.Close()
	cert := peers.WriteCert(t, t.TempDir())
	_, err = Start(freeAddr, Config{RTMPSAddr: busy.Addr().String(), TLS: &tls.Config{Certificates: []tls.Certificate{cert.TLS}}})
	if err == nil || !strings.Contains(err.Error(), "RTMPS") || !strings.Contains(err.Error(), busy.Addr().String()) {
		t.Fatalf("Start with RTMPS on a busy port: %v", err)
	}
	// The RTMP address it took first is free again.
	l, err := net.Listen("tcp", freeAddr)
	if err != nil {
		t.Fatalf("the RTMP address is still held: %v", err)
	}
	l.Close()
}
