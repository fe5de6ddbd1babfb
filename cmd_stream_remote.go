package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"

	"github.com/tallystudio/tally/app"
)

// remotePasswordEnv holds the remote control's password for tally stream:
// never a flag, which every process list would show.
const remotePasswordEnv = "TALLY_REMOTE_PASSWORD"

// remoteFlags are tally stream's remote control flags, as parsed.
type remoteFlags struct {
	listen *string
	idle   *bool
}

// remoteJob is the remote control a command line asks for; zero for none.
type remoteJob struct {
	addr, password string
	idle           bool
}

func (r remoteJob) on() bool { return r.addr != "" }

func addRemoteFlags(fs *flag.FlagSet) remoteFlags {
	return remoteFlags{
		listen: fs.String("remote-listen", "", "take remote control (obs-websocket v5, as Stream Deck and obs-websocket-js speak) on this address, e.g. 127.0.0.1:4455; the password comes from "+remotePasswordEnv+". Tally then runs until Ctrl-C, and clients start and stop the stream"),
		idle:   fs.Bool("remote-idle", false, "with --remote-listen: open the sources and wait for a client's StartStream instead of going live at once"),
	}
}

// check turns the flags into a remoteJob, refusing what cannot work.
func (rf remoteFlags) check(fs *flag.FlagSet) (remoteJob, error) {
	if *rf.listen == "" {
		if *rf.idle {
			return remoteJob{}, badFlag(exitUsage, "--remote-idle needs --remote-listen")
		}
		return remoteJob{}, nil
	}
	if _, _, err := net.SplitHostPort(*rf.listen); err != nil {
		return remoteJob{}, badFlag(exitUsage, "--remote-listen %q: write it as HOST:PORT, e.g. 127.0.0.1:4455", *rf.listen)
	}
	pw := os.Getenv(remotePasswordEnv)
	if pw == "" {
		return remoteJob{}, badFlag(exitSettings, "--remote-listen needs a password: set the %s environment variable (it is never taken from the command line, which every process list shows)", remotePasswordEnv)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["duration"] {
		return remoteJob{}, badFlag(exitUsage, "--duration does not apply with --remote-listen: remote clients start and stop the stream, and Ctrl-C ends tally")
	}
	return remoteJob{addr: *rf.listen, password: pw, idle: *rf.idle}, nil
}

// runRemote runs a headless studio that obs-websocket clients drive: the
// sources stay open, each StartStream goes live with the command line's
// settings and each StopStream ends that stream, until a signal ends tally.
func (job streamJob) runRemote(log *slog.Logger, stdout, stderr io.Writer) int {
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "tally stream: "+format+"\n", a...)
		return code
	}
	s := job.settings
	warnings, err := s.Validate()
	if err != nil {
		return fail(exitSettings, "%v", err)
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "tally stream: warning: %s\n", w)
	}
	eng := app.NewEngine(log)
	defer eng.Close()
	if err := eng.SetSources(s.Video, s.Audio); err != nil {
		return fail(exitCodeFor(err), "%v", err)
	}
	// Each stream goes live with the collection as the clients left it:
	// the command line's has none of their mutes and faders.
	current := func() (app.Settings, error) {
		cur := s
		if col := eng.SceneCollection(); col != nil {
			cur.Video.Scenes = col
		}
		return cur, nil
	}
	if err := eng.StartRemote(app.RemoteConfig{Addr: job.remote.addr, Password: job.remote.password}, current); err != nil {
		return fail(exitSettings, "%v", err)
	}
	fmt.Fprintf(stderr, "tally stream: remote control on ws://%s (obs-websocket v5)\n", eng.RemoteStatus().Addr)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer onInterrupt(stderr, "tally stream", cancel)()
	if !job.remote.idle {
		if _, err := eng.GoLive(s); err != nil {
			return fail(exitCodeFor(err), "%v", err)
		}
	}
	statsDone := make(chan struct{})
	go printEngineStats(ctx, eng, job.stats, stdout, stderr, statsDone)
	<-ctx.Done()
	<-statsDone
	if err := eng.Close(); err != nil {
		return fail(exitError, "%v", err)
	}
	if st := eng.Status(); st.Error != "" {
		return fail(exitError, "the last stream failed: %s", st.Error)
	}
	return exitOK
}

// printEngineStats is printStats for a studio engine, whose sessions come
// and go: it reports while one is streaming, until ctx ends.
func printEngineStats(ctx context.Context, eng *app.Engine, mode string, stdout, stderr io.Writer, done chan<- struct{}) {
	sample := func() app.Stats {
		s := eng.Status()
		st := s.Stats
		st.State = s.State
		return st
	}
	reportStats(ctx, mode, stdout, stderr, done, sample, func(app.Stats) string {
		return fmt.Sprintf("remote clients %d", eng.RemoteStatus().Clients)
	})
}
