package app

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tallystudio/tally/capture"
	"github.com/tallystudio/tally/encode"
	"github.com/tallystudio/tally/ingest"
	"github.com/tallystudio/tally/rtmpclient"
)

// localApp and localKey are where "Local test" publishes on the in-process ingest.
const (
	localApp = "live"
	localKey = "local-test"
)

// Session is one run of capture → encode → publish.
type Session struct {
	settings Settings
	log      *slog.Logger

	start   time.Time
	clock   atomic.Pointer[time.Time] // start, for other goroutines once it is set
	dests   []*destination
	outs    []*videoOutput // the program's encodes (video_out.go)
	streams []*stream      // what the destinations receive
	// keyGroups decide where the outputs' keyframes go (keyframes.go).
	keyGroups []*keyGroup
	local     *ingest.Ingest
	// recMu guards the recording (recording.go): the one under way, what
	// starting one needs, and the last one's failure as the session ends.
	recMu    sync.Mutex
	rec      *recording
	recSetup recordSetup
	recErr   error
	vfps     int
	state    atomic.Int32 // a State
	stats    statsState
	counter  counters
	// sources supplies what the encoders read: the studio's program, or own.
	sources sourceProvider
	// own is the session's own program when it runs on its own (NewSession):
	// Run opens the sources the settings name and closes them as it ends.
	// It is nil under the studio, whose sources are open before and after.
	own *program
	// failures: see destination.failures
	failures chan struct{}
	// streamMu guards pubs and streamEnded (stream_end.go): the stream may
	// end while Run is still starting the publishers.
	streamMu    sync.Mutex
	pubs        *publishers
	streamEnded bool
}

type destination struct {
	cfg  Destination
	ep   rtmpclient.Endpoint
	opts rtmpclient.Options
	// tracks are the renditions it gets, once negotiate has settled them;
	// fallback says why they differ from what was asked, "" when not.
	tracks   []Rendition
	fallback string
	// conn is the connection negotiate asked the server on, kept for the
	// Publisher to publish on; whoever holds it closes it (closeKeptConns).
	conn   *rtmpclient.ClientConn
	stream *stream
	pub    *rtmpclient.Publisher
	err    error
	errMu  sync.Mutex
	failed atomic.Bool
	// failures gets a token when a destination fails, for watchDestinations.
	failures chan<- struct{}
}

type counters struct {
	framesEncoded   atomic.Uint64
	skippedEncoding atomic.Uint64
	repeatedCapture atomic.Uint64
	droppedCapture  atomic.Uint64
	videoBytes      atomic.Uint64
	audioBytes      atomic.Uint64
	audioFrames     atomic.Uint64
	// audio chunks dropped because the device ran ahead of real time
	droppedAudioCapture atomic.Uint64
	videoTarget         atomic.Uint64 // the encoder's bitrate now, b/s
	// destinations that fell back to H.264 or to one track (negotiate.go)
	fallbacks atomic.Uint64
}

// sourceProvider gives a session its sources. The program is one: the
// studio's, whose sources stay open across sessions, or a session's own.
type sourceProvider interface {
	// taps attaches to the open sources; the returned func detaches.
	taps(wantVideo, wantAudio bool) (*videoTap, capture.AudioReader, func(), error)
	// lastFrameTime is when the video source last delivered a frame, or zero.
	lastFrameTime() time.Time
	// sourceErrors names the sources replaced by a slate or silence.
	sourceErrors() []string
	// scene is the scene on air, "" when the program composes none.
	scene() string
	// soundLevels is each scene source's sound, without scenes none.
	soundLevels() []SoundLevel
}

// NewSession validates the settings for a session that runs on its own, as
// tally stream does: it runs its own program over the sources the settings
// name, with the same slate and silence when a device is lost. Nothing starts
// until Run.
func NewSession(s Settings, log *slog.Logger) (*Session, []string, error) {
	if log == nil {
		log = slog.Default()
	}
	prog := newProgram(log)
	return newSession(s, log, prog, prog)
}

// newStudioSession validates the settings for a session the studio runs over
// its program's sources, which are open already and stay open after it.
func newStudioSession(s Settings, log *slog.Logger, src sourceProvider) (*Session, []string, error) {
	if log == nil {
		log = slog.Default()
	}
	return newSession(s, log, src, nil)
}

func newSession(s Settings, log *slog.Logger, src sourceProvider, own *program) (*Session, []string, error) {
	warnings, err := s.Validate()
	if err != nil {
		return nil, nil, err
	}
	ss := &Session{settings: s, log: log, vfps: s.Video.FPS, failures: make(chan struct{}, 1),
		sources: src, own: own}
	return ss, warnings, nil
}

// SwitchScene puts a scene of the session's own collection on air, as
// `tally stream --scenes` does from a line on its standard input. It returns
// the stream time of the command, in the timestamps' count, so that a test
// or a log can tell when the new scene should show.
func (s *Session) SwitchScene(name string) (time.Duration, error) {
	if s.own == nil {
		return 0, fmt.Errorf("%w: the studio switches its scenes itself", ErrNoScene)
	}
	at := s.elapsed() + tsOffset
	return at, s.own.switchScene(name)
}

// State is idle before Run; then connecting, live, stopping, and stopped or
// error. Reconnecting shows in Stats only: the session itself stays live.
func (s *Session) State() State { return State(s.state.Load()) }

func (s *Session) setState(st State) { s.state.Store(int32(st)) }

// LocalReports returns the health reports of the in-process test ingest.
func (s *Session) LocalReports() []ingest.Report {
	if s.local == nil {
		return nil
	}
	return s.local.Reports()
}

// Run captures, encodes and publishes until ctx ends or the duration passes, then
// stops cleanly: encoders flushed, destinations unpublished, recording finished.
// It returns the first destination or recording failure, if any.
func (s *Session) Run(ctx context.Context) (err error) {
	s.setState(StateConnecting)
	defer func() {
		if err != nil {
			s.setState(StateError)
		} else {
			s.setState(StateStopped)
		}
	}()
	defer func() {
		if s.local != nil {
			_ = s.local.Close()
		}
	}()
	defer s.closeKeptConns()
	if err := s.openDestinations(ctx); err != nil {
		return err
	}
	enc, closeEncoders, err := s.openEncoders()
	if err != nil {
		return err
	}
	defer closeEncoders()
	pubs, err := s.startPublishers(ctx, enc)
	if err != nil {
		return err
	}
	defer pubs.stop()
	// Sources open last, just before the clock starts: live sources produce from
	// the moment they open, and audio time is anchored at the first chunk read,
	// so any set-up in between would shift audio against video.
	vsrc, asrc, closeSources, err := s.takeSources(enc)
	if err != nil {
		return err
	}
	defer closeSources()
	s.startClock()
	if s.settings.Duration > 0 {
		// The stream lasts Duration from its first frame: connecting,
		// asking servers what they take and opening encoders come first.
		// The video loop stops at the last frame slot within it (Duration ×
		// FPS frames); the sound runs to the end of that frame.
		var cancel context.CancelFunc
		end := s.settings.Duration
		if fps := s.settings.Video.FPS; fps > 0 {
			end += time.Second / time.Duration(fps) / 2
		}
		ctx, cancel = context.WithDeadline(ctx, s.start.Add(end))
		defer cancel()
	}
	stopStats := s.startStats()
	defer stopStats()

	return s.drain(pubs, s.run(ctx, enc, vsrc, asrc))
}

// encoders are the session's open encoders: the video outputs (s.outs,
// none when the video source is "none") and the audio encoder, nil when its
// source is "none".
type encoders struct {
	video bool
	audio *encode.AudioEncoder
}

// openEncoders opens the video and audio encoders the settings ask for, and the
// recording that takes their packets. The returned func closes them all.
func (s *Session) openEncoders() (enc encoders, _ func(), err error) {
	var closers closeStack
	defer func() {
		if err != nil {
			closers.close()
		}
	}()
	a := s.settings.Audio
	s.planOutputs()
	closeOutputs, err := s.openOutputs()
	if err != nil {
		return encoders{}, nil, err
	}
	closers = append(closers, closeOutputs)
	enc.video = len(s.outs) > 0
	if a.Source != "none" {
		if enc.audio, err = encode.NewAudioEncoder(encode.AudioConfig{SampleRate: a.SampleRate, Channels: a.Channels, Bitrate: a.Bitrate}); err != nil {
			return encoders{}, nil, err
		}
		closers = append(closers, enc.audio.Close)
	}
	closers = append(closers, func() { _ = s.closeRecorder() })
	if err := s.openRecording(enc.audio); err != nil {
		return encoders{}, nil, err
	}
	return enc, closers.close, nil
}

// publishers are the destinations' Publishers at work.
type publishers struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// stop ends the publishers (they unpublish) and waits for them. It may be
// called more than once.
func (p *publishers) stop() {
	p.cancel()
	p.wg.Wait()
}

// startPublishers makes one Publisher per destination, queues each
// stream's sequence headers and starts the Publishers. They run under their
// own context, not ctx, so that a stop can flush the encoders into them
// before they unpublish (see drain).
func (s *Session) startPublishers(ctx context.Context, enc encoders) (*publishers, error) {
	for _, st := range s.streams {
		st.il = rtmpclient.NewInterleaverTracks(len(st.tracks), enc.audio != nil, st.fan.Write)
		st.meta = s.metadata(st, enc.audio)
	}
	s.streamMu.Lock()
	defer s.streamMu.Unlock()
	ended := s.streamEnded
	for _, d := range s.dests {
		s.newPublisher(d)
		if ended { // the stream ended before it began: the recording goes on
			d.stream.fan.Remove(d.pub)
		}
	}
	for _, st := range s.streams {
		if err := s.writeHeaders(st, enc.audio); err != nil {
			return nil, err
		}
	}
	pubCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p := &publishers{cancel: cancel}
	s.pubs = p
	if ended {
		s.streamMu.Unlock() // closing a TLS connection may wait on the server
		s.closeKeptConns()
		s.streamMu.Lock()
		return p, nil
	}
	for _, d := range s.dests {
		d.conn = nil // the Publisher's from Run on
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			if err := d.pub.Run(pubCtx); err != nil {
				d.setErr(err)
				s.log.Error("destination failed", "destination", d.ep.String(), "err", err)
			}
		}()
	}
	return p, nil
}

// takeSources returns the sources the encoders read, and a func that
// releases them.
func (s *Session) takeSources(enc encoders) (vsrc *videoTap, asrc capture.AudioReader, release func(), err error) {
	closeProgram := func() {}
	if s.own != nil {
		if err := s.own.set(s.settings.Video, s.settings.Audio); err != nil {
			s.own.close()
			return nil, nil, nil, err
		}
		closeProgram = s.own.close
	}
	vsrc, asrc, closeSources, err := s.sources.taps(enc.video, enc.audio != nil)
	if err != nil {
		closeProgram()
		return nil, nil, nil, err
	}
	return vsrc, asrc, func() { closeSources(); closeProgram() }, nil
}

// startClock starts the session clock that paces video and anchors audio,
// and the session is live.
func (s *Session) startClock() {
	v := s.settings.Video
	if o := s.mainOutput(); o != nil {
		s.counter.videoTarget.Store(uint64(o.r.Bitrate))
	}
	s.start = time.Now()
	if (s.own == nil || v.Source == "scenes") && v.FPS > 0 {
		// The studio's video source (or the scenes' compositor, which ticks
		// at the same rate) is already running. Centre each slot's
		// interval on one of its frames, not at a random phase where jitter
		// moves frames across slot edges (a repeat and a drop for each
		// crossing).
		if p := s.sources.lastFrameTime(); !p.IsZero() && time.Since(p) < time.Second {
			interval := time.Second / time.Duration(v.FPS)
			s.start = p.Add(time.Since(p).Truncate(interval) + interval)
		}
	}
	s.clock.Store(&s.start)
	s.setState(StateLive)
}

// elapsed is the stream time now, which the video and audio timestamps
// count; zero before the clock starts.
func (s *Session) elapsed() time.Duration {
	if start := s.clock.Load(); start != nil {
		return time.Since(*start)
	}
	return 0
}

// run encodes until ctx ends, a capture loop ends (a file played to its end
// is not an error) or every destination has failed. It then stops capture,
// with the encoders flushed into the interleaver, and returns the loops'
// first error.
func (s *Session) run(ctx context.Context, enc encoders, vsrc *videoTap, asrc capture.AudioReader) error {
	captureCtx, stopCapture := context.WithCancel(ctx)
	defer stopCapture()
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	if enc.video {
		wg.Add(1)
		go func() { defer wg.Done(); errc <- s.videoLoop(captureCtx, vsrc) }()
	}
	if enc.audio != nil {
		wg.Add(1)
		go func() { defer wg.Done(); errc <- s.audioLoop(captureCtx, asrc, enc.audio) }()
	}
	for _, o := range s.outs {
		wg.Add(1)
		go func() { defer wg.Done(); s.runBitrateController(captureCtx, o) }()
	}
	// A destination failing alone does not end the session while something else
	// (another destination, the recording) still works.
	allFailed := s.watchDestinations(captureCtx)

	var loopErr error
	select {
	case <-ctx.Done():
	case loopErr = <-errc:
	case <-allFailed:
	}
	s.setState(StateStopping)
	stopCapture()
	wg.Wait()
	close(errc)
	for e := range errc {
		if loopErr == nil && e != nil && !errors.Is(e, context.Canceled) {
			loopErr = e
		}
	}
	if errors.Is(loopErr, io.EOF) {
		loopErr = nil // a media file played to its end: a normal finish
	}
	return loopErr
}

// drain sends what the interleaver still holds, lets the publishers' queues
// empty a moment, and stops the publishers. It returns loopErr, else the
// recording's failure, else the destinations'.
func (s *Session) drain(pubs *publishers, loopErr error) error {
	for _, st := range s.streams {
		st.il.Flush()
	}
	s.endSequences()
	s.waitQueues(2 * time.Second)
	pubs.stop()
	if loopErr != nil {
		return loopErr
	}
	if err := s.closeRecorder(); err != nil {
		return err
	}
	return s.destinationsError()
}

// destinationsError says which destinations ended failed, or nil.
func (s *Session) destinationsError() error {
	var failed []*DestinationError
	for i, d := range s.dests {
		if e := d.getErr(); e != nil {
			failed = append(failed, &DestinationError{Index: i + 1, Server: d.ep.String(), Err: e})
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &DestinationsError{Failed: failed, Total: len(s.dests)}
}

// connected tells whether the stream is out: some destination is publishing,
// or there is only a recording (from the start, or since EndStream).
func (s *Session) connected() bool {
	if s.State() != StateLive {
		return false
	}
	if len(s.dests) == 0 || s.streamOver() {
		return true
	}
	for _, d := range s.dests {
		if d.pub.Stats().State == rtmpclient.StateLive {
			return true
		}
	}
	return false
}

func (d *destination) setErr(err error) {
	d.errMu.Lock()
	d.err = err
	d.errMu.Unlock()
	d.failed.Store(true)
	select {
	case d.failures <- struct{}{}:
	default: // a token is already waiting, and the watcher checks them all
	}
}

func (d *destination) getErr() error {
	d.errMu.Lock()
	defer d.errMu.Unlock()
	return d.err
}

// openDestinations readies each destination: its endpoint (starting the
// in-process ingest for the local test), its connection options, and the
// tracks its server takes (negotiate). The Publishers come later, once the
// encoders are open (newPublisher).
func (s *Session) openDestinations(ctx context.Context) error {
	for _, d := range s.settings.Destinations {
		url, key := d.URL, d.Key.Reveal()
		if d.Service == "local" {
			if s.local == nil {
				in, err := ingest.Start("127.0.0.1:0", ingest.Config{Logger: s.log})
				if err != nil {
					return fmt.Errorf("local test ingest: %w", err)
				}
				s.local = in
			}
			url, key = s.local.URL(localApp), localKey
		}
		ep, err := rtmpclient.ParseURL(url, key)
		if err != nil {
			return err
		}
		dest := &destination{cfg: d, ep: ep, failures: s.failures}
		tracks := s.settings.tracks(d)
		bitrate := s.settings.Audio.Bitrate
		for _, r := range tracks {
			bitrate += r.Bitrate
		}
		// Half a second of the stream in the socket (Linux doubles what is
		// asked): enough for any link's bandwidth-delay product at these rates,
		// and small enough that a slow link shows up in Tally's own queue, where
		// the drop policy and the bitrate control see it, not in the kernel.
		dest.opts = rtmpclient.Options{CAFile: d.CAFile, InsecureSkipVerify: d.Insecure, Logger: s.log,
			SendBuffer: max(32<<10, bitrate/32)}
		if s.settings.Video.Source != "none" {
			s.negotiate(ctx, dest)
		}
		s.dests = append(s.dests, dest)
	}
	return nil
}

// newPublisher makes destination d's Publisher and adds it to its stream.
func (s *Session) newPublisher(d *destination) {
	rc := s.settings.Reconnect
	keyint := s.settings.Video.KeyframeInterval
	if len(d.tracks) > 0 {
		keyint = d.tracks[0].KeyframeInterval
	}
	d.pub = rtmpclient.NewPublisher(rtmpclient.PublisherConfig{Endpoint: d.ep, Metadata: d.stream.meta, Options: d.opts,
		Reconnect: rtmpclient.ReconnectPolicy{Enabled: !rc.Off, MaxAttempts: rc.MaxAttempts, Max: rc.MaxWait,
			EstablishedAfter: establishedAfter(keyint)},
		OnReconnect: func() { d.stream.keys.force() }, Conn: d.conn})
	d.stream.fan.Add(d.pub)
}

// closeKeptConns closes the connections negotiate kept that no Publisher
// took, when the session fails before it publishes.
func (s *Session) closeKeptConns() {
	for _, d := range s.dests {
		if d.conn != nil {
			_ = d.conn.Close()
			d.conn = nil
		}
	}
}

// establishedAfter is how long a connection must stay up to count as taken by
// the server (see rtmpclient.ReconnectPolicy): two keyframe intervals, which a
// server that checks the stream's first GOP needs, within 2..10 s so that a
// refusal is still told apart quickly at long intervals.
func establishedAfter(keyint time.Duration) time.Duration {
	return min(max(2*keyint, 2*time.Second), 10*time.Second)
}

// watchDestinations closes the returned channel when every destination has
// failed and there is no recording to keep going for. It looks again when a
// destination fails and when a recording stops.
func (s *Session) watchDestinations(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{})
	if len(s.dests) == 0 {
		return ch
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.failures:
				all := true
				for _, d := range s.dests {
					all = all && d.failed.Load()
				}
				if rec, _ := s.Recording(); all && rec == "" {
					close(ch)
					return
				}
			}
		}
	}()
	return ch
}

func (s *Session) waitQueues(limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		busy := false
		for _, d := range s.dests {
			st := d.pub.Stats()
			busy = busy || (st.State == rtmpclient.StateLive && st.QueuePackets > 0)
		}
		if !busy {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// videoLoop encodes at a constant frame rate, paced by the session clock: the
// newest captured frame goes into each slot; a slot with no new frame repeats
// the last one, surplus frames are dropped, and slots the encoder is too late
// for are skipped. All three are counted.
func (s *Session) videoLoop(ctx context.Context, src *videoTap) error {
	fps := s.settings.Video.FPS
	interval := time.Second / time.Duration(fps)
	var last *sharedFrame
	defer func() {
		if last != nil {
			last.unref()
		}
	}()
	black := image.NewYCbCr(image.Rect(0, 0, s.settings.Video.Width, s.settings.Video.Height), image.YCbCrSubsampleRatio420)
	for i := range black.Cb {
		black.Cb[i], black.Cr[i] = 128, 128
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	grace := time.NewTimer(0)
	defer grace.Stop()
	for n := int64(0); ; n++ {
		// Slot n stands for time n×interval and covers the frame interval
		// around it. Its frame is the first captured within that interval,
		// taken as it arrives: the session's work for a frame then follows
		// the source's in one burst instead of waking the process twice a
		// frame. Without one by the end of the interval, the newest frame
		// stands (or the last one repeats).
		if s.pastDuration(n) {
			return s.flushOutputs()
		}
		due := s.start.Add(time.Duration(n)*interval + interval/2)
		opens := due.Add(-interval)
		if !waitForSlot(ctx, src, timer, due, opens) {
			return s.flushOutputs()
		}
		// Too late for this slot and the next: skip ahead rather than fall further behind.
		if behind := time.Since(due); behind > interval {
			k := int64(behind / interval)
			s.counter.skippedEncoding.Add(uint64(k))
			n += k
			if s.pastDuration(n) {
				return s.flushOutputs()
			}
		}
		f, dropped, err := src.take()
		if f == nil && err == nil && last != nil {
			var more uint64
			f, more, err = takeLate(ctx, src, grace, interval/3)
			dropped += more
		}
		s.counter.droppedCapture.Add(dropped)
		if f == nil && err != nil {
			if !errors.Is(err, io.EOF) {
				return fmt.Errorf("video capture: %w", err)
			}
			if ferr := s.flushOutputs(); ferr != nil {
				return ferr
			}
			return err
		}
		if f != nil {
			if last != nil {
				last.unref()
			}
			last = f
		} else if last != nil {
			s.counter.repeatedCapture.Add(1)
		}
		var img image.Image = black
		captured := time.Now()
		if last != nil {
			img, captured = last.img, last.captured
		}
		if err := s.encodeFrame(img, n, captured); err != nil {
			return err
		}
		s.counter.framesEncoded.Add(1)
	}
}

// pastDuration tells whether frame slot n is past the end of a stream with
// a set duration: a stream of Duration has Duration × FPS frames (counted
// without the rounding of a frame interval in nanoseconds).
func (s *Session) pastDuration(n int64) bool {
	d := s.settings.Duration
	return d > 0 && time.Duration(n)*time.Second >= d*time.Duration(s.settings.Video.FPS)
}

// waitForSlot waits until the slot is due or a frame captured since it
// opened arrives, whichever is first. It returns false when ctx ends.
func waitForSlot(ctx context.Context, src *videoTap, timer *time.Timer, due, opens time.Time) bool {
	timer.Reset(time.Until(due))
	for {
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return true
		case <-src.arrived:
			if src.freshSince(opens) {
				return true
			}
		}
	}
}

// takeLate gives a frame due for this slot a moment more (a busy machine
// delays the hand-over) before the last one is repeated: landing a slot late
// would put the picture a frame behind the sound.
func takeLate(ctx context.Context, src *videoTap, grace *time.Timer, wait time.Duration) (*sharedFrame, uint64, error) {
	select { // a token from a frame already taken says nothing
	case <-src.arrived:
	default:
	}
	if f, dropped, err := src.take(); f != nil || err != nil {
		return f, dropped, err
	}
	grace.Reset(wait)
	select {
	case <-src.arrived:
	case <-grace.C:
	case <-ctx.Done():
	}
	return src.take()
}

// audioLoop encodes audio as it arrives. Audio time counts samples from the
// moment the first chunk was captured, so it stays continuous whatever the
// scheduling jitter, and starts in step with the video clock.
func (s *Session) audioLoop(ctx context.Context, src capture.AudioReader, enc *encode.AudioEncoder) error {
	var buf []int16
	var sent int64 // sample frames given to the encoder
	started := false
	var offset time.Duration
	var next time.Duration // AAC packets are evenly spaced: the next can be no earlier
	emit := func(p encode.Packet) {
		s.emitAudio(p, offset)
		next = p.DTS + offset + tsOffset + time.Duration(1024)*time.Second/time.Duration(s.settings.Audio.SampleRate)
	}
	for ctx.Err() == nil {
		var err error
		buf, err = src.Read(buf)
		if errors.Is(err, io.EOF) {
			if ferr := enc.Flush(emit); ferr != nil {
				return ferr
			}
			return err
		}
		if err != nil {
			return fmt.Errorf("audio capture: %w", err)
		}
		rate, channels := src.Format()
		frames := int64(len(buf) / max(channels, 1))
		if !started {
			started = true
			// The first chunk was heard its own length before it was read
			// (a media file's, as it falls due: the floor at zero keeps its
			// sound from going early), and a mix's earlier still, by what its
			// queues hold: sound heard before the session began goes before
			// the first picture, into the room tsOffset leaves (less the AAC
			// encoder's priming), rather than late.
			heard, floor := time.Duration(frames)*time.Second/time.Duration(max(rate, 1)), time.Duration(0)
			if l, ok := src.(soundLatency); ok && l.Latency() > 0 {
				heard, floor = heard+l.Latency(), -tsOffset/2
			}
			offset = max(time.Since(s.start)-heard, floor)
		}
		// A device that is not clocked in real time (virtual devices, ALSA's null
		// device) would run the audio timeline away from the video: drop what
		// arrives more than half a second ahead of the session clock.
		if ahead := offset + time.Duration(sent)*time.Second/time.Duration(max(rate, 1)) - time.Since(s.start); ahead > 500*time.Millisecond {
			s.counter.droppedAudioCapture.Add(1)
			continue
		}
		sent += frames
		if err := enc.Encode(buf, rate, channels, emit); err != nil {
			return err
		}
		if next > 0 {
			for _, st := range s.streams {
				st.il.Advance(rtmpclient.TypeAudio, next.Milliseconds())
			}
		}
	}
	return enc.Flush(emit)
}

// openSources opens the video and audio sources the settings name. "file:PATH"
// plays a media file; audio "file" takes the sound of the video's file.
func openSources(v VideoSettings, a AudioSettings) (capture.VideoReader, capture.AudioReader, func(), error) {
	var closers []func() error
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			_ = closers[i]()
		}
	}
	fail := func(err error) (capture.VideoReader, capture.AudioReader, func(), error) {
		closeAll()
		return nil, nil, nil, err
	}
	var vsrc capture.VideoReader
	var asrc capture.AudioReader
	videoFile, isVideoFile := strings.CutPrefix(v.Source, "file:")
	switch {
	case v.Source == "none":
	case isVideoFile:
		rate, channels := 0, 0
		if a.Source == "file" {
			rate, channels = a.SampleRate, a.Channels
		}
		f, err := capture.OpenFile(videoFile, v.Loop, v.Width, v.Height, rate, channels)
		if err != nil {
			return fail(fmt.Errorf("%w: video: %w", ErrNoSource, err))
		}
		closers = append(closers, f.Close)
		if vsrc = f.Video(); vsrc == nil {
			return fail(fmt.Errorf("%w: %s has no video", ErrNoSource, videoFile))
		}
		if a.Source == "file" {
			if asrc = f.Audio(); asrc == nil {
				return fail(fmt.Errorf("%w: %s has no audio", ErrNoSource, videoFile))
			}
		}
	default:
		src, err := capture.OpenVideo(v.Source, v.Width, v.Height, float64(v.FPS))
		if err != nil {
			return fail(fmt.Errorf("%w: video: %w", ErrNoSource, err))
		}
		closers = append(closers, src.Close)
		vsrc = src
	}
	audioFile, isAudioFile := strings.CutPrefix(a.Source, "file:")
	switch {
	case a.Source == "none" || asrc != nil:
	case a.Source == "file":
		return fail(fmt.Errorf("%w: --audio file takes the sound of --video file:PATH; name the file with --audio file:PATH", ErrNoSource))
	case isAudioFile:
		f, err := capture.OpenFile(audioFile, v.Loop, 0, 0, a.SampleRate, a.Channels)
		if err != nil {
			return fail(fmt.Errorf("%w: audio: %w", ErrNoSource, err))
		}
		closers = append(closers, f.Close)
		if asrc = f.Audio(); asrc == nil {
			return fail(fmt.Errorf("%w: %s has no audio", ErrNoSource, audioFile))
		}
	default:
		src, err := capture.OpenAudio(a.Source, a.SampleRate, a.Channels)
		if err != nil {
			return fail(fmt.Errorf("%w: audio: %w", ErrNoSource, err))
		}
		closers = append(closers, src.Close)
		asrc = src
	}
	return vsrc, asrc, closeAll, nil
}
