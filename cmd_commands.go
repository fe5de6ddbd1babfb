package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/tallystudio/tally/app"
)

// readCommands reads the lines a script or a person types to a running
// `tally stream` and acts on them: "scene NAME" puts a scene on air. It
// returns a func that stops the reader and waits for it.
//
// A read from standard input cannot be cancelled in general. Pipes and files
// take a read deadline, which stop uses to end the reader; on a terminal
// the reader may stay blocked until the process exits, which it is about to.
func readCommands(ctx context.Context, in io.Reader, sess *app.Session, log *slog.Logger) (stop func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 4096), 4096) // a command is a line; longer input is not one
		for sc.Scan() {
			if ctx.Err() != nil {
				return
			}
			runCommand(sc.Text(), sess, log)
		}
		if err := sc.Err(); err != nil && ctx.Err() == nil {
			log.Warn("standard input: commands no longer read", "err", err)
		}
	}()
	return func() {
		if f, ok := in.(*os.File); ok && f.SetReadDeadline(time.Now()) == nil {
			<-done
		}
		// Otherwise (a terminal, /dev/null) the reader ends with the process.
	}
}

// runCommand acts on one line of input.
func runCommand(line string, sess *app.Session, log *slog.Logger) {
	verb, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	switch verb {
	case "":
	case "scene":
		name := strings.TrimSpace(arg)
		at, err := sess.SwitchScene(name)
		if err != nil {
			log.Warn("scene switch", "err", err)
			return
		}
		log.Info("scene on air", "scene", name, "at", at.Seconds())
	default:
		log.Warn("unknown command; known: scene NAME", "command", verb)
	}
}
