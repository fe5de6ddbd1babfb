package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"sync"
	"syscall"

	"github.com/tallystudio/tally/ingest"
)

func runIngest(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tally ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:1935", "address to accept RTMP publishers on")
	rtmptListen := fs.String("rtmpt-listen", "", "address to also accept RTMPT (RTMP tunnelled in HTTP) on, e.g. 127.0.0.1:8080")
	record := fs.String("record", "", "directory to record each stream into, as FLV; players can play them back by file name")
	asJSON := fs.Bool("json", false, "print each stream's health report as one JSON line")
	wallClock := fs.Bool("wallclock-timestamps", false,
		"publishers stamp frames with their capture time, ms since midnight UTC: report latency from it")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tally ingest [--listen ADDR] [--rtmpt-listen ADDR] [--record DIR] [--json] [--wallclock-timestamps]")
		fmt.Fprintln(stderr, "\nA local RTMP server to test a stream before going live. It reports each")
		fmt.Fprintln(stderr, "stream's health when the stream ends. Stop it with Ctrl-C.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tally ingest: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
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
		RTMPTAddr: *rtmptListen})
	if err != nil {
		fmt.Fprintf(stderr, "tally ingest: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stderr, "tally ingest: listening on %s (publish to %s/STREAM-KEY)\n", in.Addr(), in.URL("live"))
	if u := in.RTMPTURL("live"); u != "" {
		fmt.Fprintf(stderr, "tally ingest: RTMPT too (publish to %s/STREAM-KEY)\n", u)
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
