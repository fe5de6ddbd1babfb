package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tallystudio/tally/app"
	"github.com/tallystudio/tally/capture"
	"github.com/tallystudio/tally/encode"
	"github.com/tallystudio/tally/rtmpclient"
	"github.com/tallystudio/tally/scene"
)

// Exit codes of `tally stream`, so scripts can tell failures apart.
const (
	exitSettings = 3 // a setting is invalid (URL, key, size, bitrate, …)
	exitDevice   = 4 // a source or encoder is not available
	exitRemote   = 5 // every destination failed: refused, hung up, or could not be reached
	exitPartial  = 6 // some destinations failed; the others streamed to the end
	exitSignal   = 130
)

func runStream(args []string, stdout, stderr io.Writer) int {
	job, err := parseStreamFlags(args, stderr)
	var ce *cmdError
	if errors.As(err, &ce) {
		if ce.err != nil {
			fmt.Fprintf(stderr, "tally stream: %v\n", ce.err)
		}
		return ce.code
	}
	job.commands = os.Stdin
	return job.run(stdout, stderr)
}

// cmdError is a command line that cannot run, with the exit code it gives.
// A nil err means the message was printed already (the flag package does).
type cmdError struct {
	code int
	err  error
}

func (e *cmdError) Error() string { return fmt.Sprint(e.err) }
func (e *cmdError) Unwrap() error { return e.err }

func badFlag(code int, format string, a ...any) error {
	return &cmdError{code: code, err: fmt.Errorf(format, a...)}
}

// streamJob is what a `tally stream` command line asks for.
type streamJob struct {
	settings app.Settings
	stats    string // json, text or none
	level    slog.Level
	commands io.Reader // lines such as "scene NAME", with --scenes
	remote   remoteJob // --remote-listen: driven by obs-websocket clients (cmd_stream_remote.go)
}

// parseStreamFlags turns the command line into settings. Its errors are
// *cmdError, with the exit code the README documents. It is long because it
// is the flat list of flags and their checks, in the order -h prints them.
func parseStreamFlags(args []string, stderr io.Writer) (streamJob, error) {
	def := app.DefaultSettings()
	fs := flag.NewFlagSet("tally stream", flag.ContinueOnError)
	url := fs.String("url", "", "server URL, rtmp:// or rtmps:// (default: the service's, or the local test ingest)")
	keyEntry := fs.String("key-entry", "", "take the stream key from this entry of the system keyring (service \""+app.KeyringService+"\") instead of TALLY_STREAM_KEY")
	service := fs.String("service", "", app.ServiceIDs())
	videoSrc := fs.String("video", def.Video.Source, "testpattern, camera[:NAME], screen[:N], file:PATH or none")
	audioSrc := fs.String("audio", def.Audio.Source, "tone, mic[:NAME], desktop[:NAME] (what an output plays), file (the video file's sound), file:PATH, scenes (the collection's mix; the default with --scenes when it has sound) or none")
	scenes := fs.String("scenes", "", "compose the video from this scene collection (docs/SCENES.md); a line \"scene NAME\" on standard input switches scenes")
	sceneName := fs.String("scene", "", "with --scenes: the scene to start on (default: the collection's active one)")
	loop := fs.Bool("loop", false, "with a file source: start again at the end instead of stopping")
	size := fs.String("size", fmt.Sprintf("%dx%d", def.Video.Width, def.Video.Height), "output size WIDTHxHEIGHT")
	fps := fs.Int("fps", def.Video.FPS, "frames per second")
	vbitrate := fs.String("vbitrate", "4500k", "video bitrate (e.g. 4500k, 6M)")
	abitrate := fs.String("abitrate", "160k", "audio bitrate")
	samplerate := fs.Int("samplerate", def.Audio.SampleRate, "audio sample rate, 44100 or 48000")
	keyint := fs.String("keyint", "2s", "keyframe interval (e.g. 2s)")
	encoder := fs.String("encoder", def.Video.Encoder, "video encoder (see tally version)")
	preset := fs.String("preset", def.Video.Preset, "x264 preset (ultrafast … veryslow)")
	tune := fs.String("tune", "", "x264 tune, e.g. zerolatency")
	profile := fs.String("profile", def.Video.Profile, "H.264 profile: baseline, main or high")
	bframes := fs.Int("bframes", 0, "B-frames (0 for the lowest latency)")
	record := fs.String("record", "", "also record to this file (.flv, .mp4 or .mkv)")
	overwrite := fs.Bool("overwrite", false, "let --record replace a file that is already there")
	duration := fs.Duration("duration", 0, "stop after this long (default: until Ctrl-C)")
	statsMode := fs.String("stats", "text", "stats output: json (one object a second on stdout), text (stderr) or none")
	caFile := fs.String("ca-file", "", "extra CA certificates (PEM) for an RTMPS server")
	insecure := fs.Bool("insecure", false, "do not verify the RTMPS certificate (testing only)")
	reconnect := fs.Bool("reconnect", true, "reconnect when a live connection drops (a refused key or bad certificate is never retried)")
	retries := fs.Int("retries", 0, "give up after this many failed reconnect attempts in a row (0: never)")
	dynamic := fs.Bool("dynamic-bitrate", false, "lower the video bitrate while the link cannot carry it, and raise it again when it can")
	retryMax := fs.Duration("retry-max", 60*time.Second, "the longest wait between reconnect attempts")
	logLevel := fs.String("log-level", "warn", "how much to log on stderr: debug, info (bitrate changes, reconnects), warn or error")
	output := fs.String("output", "", "the destination's video from an output preset instead of the flags above: "+outputPresetIDs())
	assumeEnhanced := fs.Bool("assume-enhanced", false, "send HEVC, AV1 or several tracks even when the server's connect answer states no Enhanced RTMP support (FFmpeg's listener, gortmplib)")
	rf := addRemoteFlags(fs)
	destinations := fs.String("destinations", "", "stream to every destination in this JSON file, each with its own output (docs/DESTINATIONS.md); replaces --url, --service and --output")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: tally stream [flags]\n\nStreams without a window. With no --url and no --service it streams to a")
		fmt.Fprintln(fs.Output(), "built-in test server and prints its health report at the end. The stream key")
		fmt.Fprintln(fs.Output(), "is read from the TALLY_STREAM_KEY environment variable (or --key-entry), never")
		fmt.Fprintln(fs.Output(), "from the command line, which every process list shows.\n\nFlags:")
		fs.PrintDefaults()
	}
	// --key is refused before parsing, with a message of its own and without
	// its value: the flag package would only call it unknown.
	if keyOnCommandLine(args) {
		return streamJob{}, badFlag(exitUsage, "--key is not accepted: a key on the command line shows in every process list; "+
			"set the TALLY_STREAM_KEY environment variable instead, or use --key-entry NAME for a key in the system keyring")
	}
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return streamJob{}, &cmdError{code: exitUsage}
	}
	if fs.NArg() > 0 {
		return streamJob{}, badFlag(exitUsage, "unexpected argument %q", fs.Arg(0))
	}
	remote, err := rf.check(fs)
	if err != nil {
		return streamJob{}, err
	}

	s := def
	s.Video.Source, s.Audio.Source, s.Video.Loop = *videoSrc, *audioSrc, *loop
	w, h, err := parseSize(*size)
	if err != nil {
		return streamJob{}, &cmdError{code: exitSettings, err: err}
	}
	s.Video.Width, s.Video.Height, s.Video.FPS = w, h, *fps
	if s.Video.Bitrate, err = parseBitrate(*vbitrate); err != nil {
		return streamJob{}, badFlag(exitSettings, "--vbitrate: %v", err)
	}
	if s.Audio.Bitrate, err = parseBitrate(*abitrate); err != nil {
		return streamJob{}, badFlag(exitSettings, "--abitrate: %v", err)
	}
	s.Audio.SampleRate = *samplerate
	if s.Video.KeyframeInterval, err = parseSeconds(*keyint); err != nil {
		return streamJob{}, badFlag(exitSettings, "--keyint: %v", err)
	}
	s.Video.Encoder, s.Video.Preset, s.Video.Tune, s.Video.Profile, s.Video.BFrames = *encoder, *preset, *tune, *profile, *bframes
	s.Record, s.Duration = *record, *duration
	if _, err := os.Lstat(*record); *record != "" && !*overwrite && err == nil {
		// A script run twice must not lose the first show.
		return streamJob{}, badFlag(exitSettings, "--record: %s is already there; choose another name, or pass --overwrite to replace it", *record)
	}
	s.Reconnect = app.Reconnect{Off: !*reconnect, MaxAttempts: *retries, MaxWait: *retryMax}
	if *retries < 0 || *retryMax < time.Second {
		return streamJob{}, badFlag(exitSettings, "--retries must be 0 or more and --retry-max at least 1s")
	}
	switch *statsMode {
	case "json", "text", "none":
	default:
		return streamJob{}, badFlag(exitUsage, "--stats must be json, text or none, not %q", *statsMode)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return streamJob{}, badFlag(exitUsage, "--log-level must be debug, info, warn or error, not %q", *logLevel)
	}

	k := os.Getenv("TALLY_STREAM_KEY")
	if *keyEntry != "" {
		if k, err = (app.SystemKeyring{}).Get(*keyEntry); err != nil {
			return streamJob{}, badFlag(exitSettings, "--key-entry: %v", err)
		}
		if k == "" {
			return streamJob{}, badFlag(exitSettings, "--key-entry: the system keyring has no entry %q under %q", *keyEntry, app.KeyringService)
		}
	}
	if *scenes != "" {
		if err := useScenes(&s, fs, *scenes, *sceneName); err != nil {
			return streamJob{}, err
		}
	} else if *sceneName != "" {
		return streamJob{}, badFlag(exitUsage, "--scene needs --scenes FILE")
	}
	if *destinations != "" {
		if *url != "" || *service != "" || *output != "" || *keyEntry != "" {
			return streamJob{}, badFlag(exitUsage, "--destinations names every destination; leave out --url, --service, --output and --key-entry")
		}
		if s.Destinations, err = loadDestinations(*destinations, s.Video, app.SystemKeyring{}); err != nil {
			return streamJob{}, badFlag(exitSettings, "--destinations: %v", err)
		}
		return streamJob{settings: s, stats: *statsMode, level: level, remote: remote}, nil
	}
	dest := app.Destination{Service: *service, URL: *url, Key: app.StreamKey(k), CAFile: *caFile, Insecure: *insecure,
		DynamicBitrate: *dynamic, AssumeEnhanced: *assumeEnhanced}
	if *output != "" {
		p, ok := app.OutputPresetByID(*output)
		if !ok {
			return streamJob{}, badFlag(exitSettings, "--output: no preset %q (%s)", *output, outputPresetIDs())
		}
		dest.Video = p.Tracks(s.Video)
		if dest.Service == "" && dest.URL == "" {
			dest.Service = p.Service
		}
	}
	if err := fillService(&dest); err != nil {
		return streamJob{}, badFlag(exitSettings, "--service %s needs --url", dest.Service)
	}
	s.Destinations = []app.Destination{dest}

	return streamJob{settings: s, stats: *statsMode, level: level, remote: remote}, nil
}

// useScenes makes the collection in path the video source, starting on the
// named scene. The output takes the canvas size unless --size says otherwise.
func useScenes(s *app.Settings, fs *flag.FlagSet, path, name string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["video"] {
		return badFlag(exitUsage, "--scenes and --video both name the video; give one")
	}
	col, err := scene.Load(path)
	if err != nil {
		return badFlag(exitSettings, "--scenes: %v", err)
	}
	if name != "" {
		if _, ok := col.Scene(name); !ok {
			return badFlag(exitSettings, "--scene: %s has no scene %q", path, name)
		}
		col.Active = name
	}
	if !set["size"] {
		s.Video.Width, s.Video.Height = col.Canvas.Width, col.Canvas.Height
	}
	s.Video.Source, s.Video.Scenes = "scenes", col
	if !set["audio"] && slices.ContainsFunc(col.Sources, func(src scene.Source) bool { return scene.HasSound(src.Type) }) {
		s.Audio.Source = "scenes" // the collection's mix
	}
	return nil
}

// run streams until the duration, a signal or a failure ends it, reports,
// and returns the exit code.
func (job streamJob) run(stdout, stderr io.Writer) int {
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "tally stream: "+format+"\n", a...)
		return code
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: job.level}))
	if job.remote.on() {
		return job.runRemote(log, stdout, stderr)
	}
	sess, warnings, err := app.NewSession(job.settings, log)
	if err != nil {
		return fail(exitSettings, "%v", err)
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "tally stream: warning: %s\n", w)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer onInterrupt(stderr, "tally stream", cancel)()

	statsDone := make(chan struct{})
	go printStats(ctx, sess, job.stats, stdout, stderr, statsDone)
	if job.settings.Video.Source == "scenes" && job.commands != nil {
		stop := readCommands(ctx, job.commands, sess, log)
		defer stop()
	}
	runErr := sess.Run(ctx)
	cancel()
	<-statsDone
	printFinalStats(sess, job.stats, runErr, stdout, stderr)

	for _, r := range sess.LocalReports() {
		fmt.Fprint(stderr, r.String())
	}
	if runErr != nil {
		return fail(exitCodeFor(runErr), "%v", runErr)
	}
	return exitOK
}

// exitCodeFor maps why a run ended to the documented exit codes.
func exitCodeFor(err error) int {
	var se *app.SettingsError
	var de *app.DestinationsError
	switch {
	case errors.As(err, &se), errors.Is(err, rtmpclient.ErrBadURL):
		return exitSettings
	case errors.Is(err, app.ErrNoSource), errors.Is(err, capture.ErrNoDevice), errors.Is(err, encode.ErrEncoderUnavailable):
		return exitDevice
	case errors.As(err, &de) && de.Partial():
		return exitPartial
	case errors.As(err, &de):
		return exitRemote
	}
	return exitError
}

// printStats reports once a second until ctx ends, then closes done.
func printStats(ctx context.Context, sess *app.Session, mode string, stdout, stderr io.Writer, done chan<- struct{}) {
	reportStats(ctx, mode, stdout, stderr, done, sess.Stats, func(st app.Stats) string {
		return fmt.Sprintf("queue %.0f ms  dropped %d  skipped %d  cpu %.0f%%", st.QueueMs, st.DroppedNetwork, st.SkippedEncoding, st.CPUPercent)
	})
}

// reportStats samples the stream once a second until ctx ends, then closes
// done: each sample as a JSON line, or in text every fifth second (with
// more's words) and at each reconnect.
func reportStats(ctx context.Context, mode string, stdout, stderr io.Writer, done chan<- struct{},
	sample func() app.Stats, more func(app.Stats) string) {
	defer close(done)
	if mode == "none" {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	enc := json.NewEncoder(stdout)
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st := sample()
		if !st.State.Streaming() || st.T == 0 {
			continue // nothing sampled yet
		}
		if mode == "json" {
			_ = enc.Encode(st)
		} else if n%5 == 0 {
			fmt.Fprintf(stderr, "%6.0fs %s  %.0f fps  sent %.0f kb/s  %s\n", st.T, st.State, st.FPS, st.SentKbps, more(st))
		} else if st.State == app.StateReconnecting {
			fmt.Fprintf(stderr, "%6.0fs reconnecting: attempt %d in %.0fs\n", st.T, st.Attempt, st.NextRetryS)
		}
	}
}

// printFinalStats reports the totals once the stream has ended, so a script
// reading --stats json gets the final counts rather than the last second's,
// and names each destination that failed, with why.
func printFinalStats(sess *app.Session, mode string, runErr error, stdout, stderr io.Writer) {
	st := sess.Stats()
	st.State = app.StateEnded
	if runErr != nil {
		st.State = app.StateError
	}
	switch mode {
	case "json":
		if st.T > 0 || len(st.Destinations) > 0 {
			_ = json.NewEncoder(stdout).Encode(st)
		}
	case "text":
		if st.T > 0 {
			fmt.Fprintf(stderr, "%6.0fs %s  %d frames sent  dropped %d  skipped %d  repeated %d  reconnects %d\n",
				st.T, st.State, st.FramesSent, st.DroppedNetwork, st.SkippedEncoding, st.RepeatedCapture, st.Reconnects)
		}
		var de *app.DestinationsError
		if errors.As(runErr, &de) && de.Total > 1 {
			for _, f := range de.Failed {
				fmt.Fprintf(stderr, "tally stream: %v\n", f)
			}
		}
	}
}

func parseSize(s string) (int, int, error) {
	ws, hs, ok := strings.Cut(strings.ToLower(s), "x")
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("--size %q: write it as WIDTHxHEIGHT, e.g. 1280x720", s)
	}
	return w, h, nil
}

// parseBitrate reads "4500k", "4.5M", "4500000" as bits per second.
func parseBitrate(s string) (int, error) {
	mult := 1.0
	t := strings.ToLower(strings.TrimSpace(s))
	switch {
	case strings.HasSuffix(t, "k"):
		mult, t = 1e3, strings.TrimSuffix(t, "k")
	case strings.HasSuffix(t, "m"):
		mult, t = 1e6, strings.TrimSuffix(t, "m")
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f <= 0 || f*mult > 1e10 {
		return 0, fmt.Errorf("%q is not a bitrate (e.g. 4500k or 6M)", s)
	}
	return int(f * mult), nil
}

// parseSeconds reads "2s", "500ms" or a bare number of seconds.
func parseSeconds(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (e.g. 2s)", s)
	}
	return d, nil
}

// keyOnCommandLine reports whether args, up to the flags' end ("--"), give
// a --key flag in any of the flag package's spellings (-key, --key, =value).
func keyOnCommandLine(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && name == "key" {
			return true
		}
	}
	return false
}
