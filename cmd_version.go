package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/tallystudio/tally/app"
)

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tally version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if err := app.About().Write(stdout); err != nil {
		fmt.Fprintf(stderr, "tally version: %v\n", err)
		return exitError
	}
	return exitOK
}
