package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tallystudio/tally/ingest"
)

func runIngest(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tally ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:1935", "address to accept RTMP publishers on")
	rtmptListen := fs.String("rtmpt-listen", "", "address to also accept RTMPT (RTMP tunnelled in HTTP) on, e.g. 127.0.0.1:8080")
	rtmpsListen := fs.String("rtmps-listen", "", "address to also accept RTMPS (RTMP over TLS) on, e.g. 127.0.0.1:443; needs --tls-cert and --tls-key")
	rtmptsListen := fs.String("rtmpts-listen", "", "address to also accept RTMPTS (RTMPT over HTTPS) on; needs --tls-cert and --tls-key")
	tlsCert := fs.String("tls-cert", "", "PEM certificate (chain) for --rtmps-listen and --rtmpts-listen")
	tlsKey := fs.String("tls-key", "", "PEM private key of --tls-cert")
	record := fs.String("record", "", "directory to record each stream into, as FLV; players can play them back by file name")
	asJSON := fs.Bool("json", false, "print each stream's health report as one JSON line")
	wallClock := fs.Bool("wallclock-timestamps", false,
		"publishers stamp frames with their capture time, ms since midnight UTC: report latency from it")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tally ingest [--listen ADDR] [--rtmpt-listen ADDR] [--rtmps-listen ADDR] [--rtmpts-listen ADDR]")
		fmt.Fprintln(stderr, "                   [--tls-cert FILE --tls-key FILE] [--record DIR] [--json] [--wallclock-timestamps]")
		fmt.Fprintln(stderr, "\nA local RTMP server to test a stream before going live. It reports each")
		fmt.Fprintln(stderr, "stream's health when the stream ends. Stop it with Ctrl-C.")
		fmt.Fprintln(stderr, "It takes RTMP and RTMPE on --listen, RTMPT and RTMPTE on --rtmpt-listen, and,")
		fmt.Fprintln(stderr, "with a certificate, RTMPS on --rtmps-listen and RTMPTS on --rtmpts-listen.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tally ingest: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}

	tlsConf, code, err := ingestTLS(*rtmpsListen, *rtmptsListen, *tlsCert, *tlsKey)
	if err != nil {
		fmt.Fprintf(stderr, "tally ingest: %v\n", err)
		return code
	}

	var outMu sync.Mutex
	report := func(r ingest.Report) {
		outMu.Lock()
		defer outMu.Unlock()
		if *asJSON {
			b, err := json.Marshal(r)
			if err != nil {
				slog.Error("tally ingest: encode report", "err", err)
				return
			}
			fmt.Fprintf(stdout, "%s\n", b)
			return
		}
		fmt.Fprint(stdout, r.String())
	}
	in, err := ingest.Start(*listen, ingest.Config{RecordDir: *record, OnReport: report, WallClockTimestamps: *wallClock,
		RTMPTAddr: *rtmptListen, RTMPSAddr: *rtmpsListen, RTMPTSAddr: *rtmptsListen, TLS: tlsConf})
	if err != nil {
		fmt.Fprintf(stderr, "tally ingest: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stderr, "tally ingest: listening on %s (publish to %s/STREAM-KEY)\n", in.Addr(), in.URL("live"))
	for _, u := range []struct{ name, url string }{
		{"RTMPT", in.RTMPTURL("live")}, {"RTMPS", in.RTMPSURL("live")}, {"RTMPTS", in.RTMPTSURL("live")},
	} {
		if u.url != "" {
			fmt.Fprintf(stderr, "tally ingest: %s too (publish to %s/STREAM-KEY)\n", u.name, u.url)
		}
	}
	if *record != "" {
		fmt.Fprintf(stderr, "tally ingest: recording into %s (play one back from %s/FILE-NAME)\n", *record, in.URL("live"))
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	if err := in.Close(); err != nil {
		fmt.Fprintf(stderr, "tally ingest: %v\n", err)
		return exitError
	}
	return exitOK
}

// ingestTLS checks the TLS flags and loads the certificate, when a TLS
// listener is asked for. Flags that do not go together are a usage error;
// files that cannot be used are an invalid setting.
func ingestTLS(rtmpsAddr, rtmptsAddr, certFile, keyFile string) (*tls.Config, int, error) {
	wanted := rtmpsAddr != "" || rtmptsAddr != ""
	switch {
	case !wanted && (certFile != "" || keyFile != ""):
		return nil, exitUsage, errors.New("--tls-cert and --tls-key are for --rtmps-listen or --rtmpts-listen; give one of those too")
	case !wanted:
		return nil, exitOK, nil
	case certFile == "" && keyFile == "":
		return nil, exitUsage, errors.New("--rtmps-listen and --rtmpts-listen need --tls-cert FILE and --tls-key FILE")
	case certFile == "":
		return nil, exitUsage, errors.New("--tls-key needs --tls-cert FILE, the certificate it belongs to")
	case keyFile == "":
		return nil, exitUsage, errors.New("--tls-cert needs --tls-key FILE, its private key")
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, exitSettings, fmt.Errorf("--tls-cert: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, exitSettings, fmt.Errorf("--tls-key: %w", err)
	}
	// X509KeyPair's own errors do not say which file is at fault, so each
	// is looked at first.
	if !hasPEMBlock(certPEM, func(typ string) bool { return typ == "CERTIFICATE" }) {
		return nil, exitSettings, fmt.Errorf("--tls-cert %s: no PEM CERTIFICATE block in it", certFile)
	}
	if !hasPEMBlock(keyPEM, func(typ string) bool { return strings.HasSuffix(typ, "PRIVATE KEY") }) {
		return nil, exitSettings, fmt.Errorf("--tls-key %s: no PEM PRIVATE KEY block in it", keyFile)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, exitSettings, fmt.Errorf("--tls-cert %s with --tls-key %s: %w", certFile, keyFile, err)
	}
	if leaf := cert.Leaf; leaf != nil {
		// Served all the same: a test may want to see a client refuse it.
		if now := time.Now(); now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
			slog.Warn("tally ingest: the certificate is not valid now; clients that check it will refuse it",
				"file", certFile, "not_before", leaf.NotBefore, "not_after", leaf.NotAfter)
		}
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, exitOK, nil
}

// hasPEMBlock reports whether data holds a PEM block of a type that match takes.
func hasPEMBlock(data []byte, match func(typ string) bool) bool {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return false
		}
		if match(b.Type) {
			return true
		}
	}
}
