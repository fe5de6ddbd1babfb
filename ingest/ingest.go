package ingest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/tallystudio/tally/flv"
	"github.com/tallystudio/tally/rtmpclient"
)

// Config configures an Ingest.
type Config struct {
	// RecordDir, when set, receives one FLV per publish, and players can
	// play them back by file name (with seek, pause and play2).
	RecordDir string
	// OnReport is called with each stream's report when the stream ends.
	OnReport func(Report)
	// WallClockTimestamps says publishers stamp each frame's presentation
	// time as the wall-clock time of its capture, in milliseconds since
	// midnight UTC (FFmpeg can: setpts with RTCTIME). Latency is then
	// measured from those timestamps for frames without Tally's
	// capture-time SEI, so other encoders can be measured the same way.
	WallClockTimestamps bool
	// RTMPTAddr, when set, is an address to accept RTMPT (RTMP tunnelled in
	// HTTP) on as well, for publishers behind web-only firewalls.
	RTMPTAddr string
	Logger    *slog.Logger
}

// Ingest is a running test server.
type Ingest struct {
	cfg  Config
	srv  *rtmpclient.Server
	ln   net.Listener
	done chan error
	// The RTMPT listener and its serve's end, when Config.RTMPTAddr is set.
	rtmptLn   net.Listener
	rtmptDone chan error

	mu      sync.Mutex
	reports []Report
	seq     int
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves in the
// background until Close.
func Start(addr string, cfg Config) (*Ingest, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RecordDir != "" {
		if err := os.MkdirAll(cfg.RecordDir, 0o755); err != nil {
			return nil, fmt.Errorf("ingest: record directory: %w", err)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ingest: listen on %s: %w", addr, err)
	}
	in := &Ingest{cfg: cfg, ln: ln, done: make(chan error, 1)}
	in.srv = &rtmpclient.Server{OnPublish: in.onPublish, Logger: cfg.Logger}
	if cfg.RecordDir != "" {
		in.srv.OpenRecording = in.openRecording
	}
	if cfg.RTMPTAddr != "" {
		tl, err := net.Listen("tcp", cfg.RTMPTAddr)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("ingest: listen for RTMPT on %s: %w", cfg.RTMPTAddr, err)
		}
		in.rtmptLn, in.rtmptDone = tl, make(chan error, 1)
		go func() { in.rtmptDone <- in.srv.ServeRTMPT(tl, rtmpclient.RTMPTConfig{Logger: cfg.Logger}) }()
	}
	go func() { in.done <- in.srv.Serve(ln) }()
	return in, nil
}

// RTMPTURL is the rtmpt:// URL of an application, when the ingest serves RTMPT.
func (in *Ingest) RTMPTURL(app string) string {
	if in.rtmptLn == nil {
		return ""
	}
	return "rtmpt://" + in.rtmptLn.Addr().String() + "/" + app
}

// Addr is where the ingest listens.
func (in *Ingest) Addr() string { return in.ln.Addr().String() }

// URL is the RTMP URL of an application on this ingest.
func (in *Ingest) URL(app string) string { return "rtmp://" + in.Addr() + "/" + app }

// Close stops the server; streams still being published end and are reported.
func (in *Ingest) Close() error {
	in.srv.Close()
	if in.rtmptDone != nil {
		if err := <-in.rtmptDone; err != nil && !errors.Is(err, rtmpclient.ErrServerClosed) {
			<-in.done
			return err
		}
	}
	if err := <-in.done; err != nil && !errors.Is(err, rtmpclient.ErrServerClosed) {
		return err
	}
	return nil
}

// Reports returns the reports of the streams that have ended so far.
func (in *Ingest) Reports() []Report {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]Report(nil), in.reports...)
}

// WaitReport waits for the n-th report (1-based) or ctx's end.
func (in *Ingest) WaitReport(ctx context.Context, n int) (Report, error) {
	for {
		in.mu.Lock()
		if len(in.reports) >= n {
			r := in.reports[n-1]
			in.mu.Unlock()
			return r, nil
		}
		in.mu.Unlock()
		select {
		case <-ctx.Done():
			return Report{}, fmt.Errorf("ingest: no report %d: %w", n, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// openRecording opens a recording in RecordDir for a player, by its file
// name with or without ".flv". os.Root keeps every name inside the
// directory, whatever "../" or symbolic link it holds.
func (in *Ingest) openRecording(_, name string) (rtmpclient.Recording, error) {
	if name == "" || strings.ContainsAny(name, `/\`) {
		return nil, rtmpclient.ErrNoRecording
	}
	if !strings.HasSuffix(name, ".flv") {
		name += ".flv"
	}
	f, err := os.OpenInRoot(in.cfg.RecordDir, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", rtmpclient.ErrNoRecording, name)
	}
	if err != nil {
		return nil, fmt.Errorf("ingest: open recording: %w", err)
	}
	return f, nil
}

// unsafeName keeps recordings' file names to characters every file system takes.
var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func (in *Ingest) onPublish(req rtmpclient.PublishRequest) (rtmpclient.StreamSink, error) {
	in.mu.Lock()
	in.seq++
	seq := in.seq
	in.mu.Unlock()
	s := &stream{in: in, an: newAnalyzer(req.App, req.Name, in.cfg.WallClockTimestamps)}
	if in.cfg.RecordDir != "" {
		// Named by app, time and sequence, never by the stream key (a secret).
		name := fmt.Sprintf("%s-%s-%d.flv", unsafeName.ReplaceAllString(req.App, "_"), time.Now().Format("20060102-150405"), seq)
		path := filepath.Join(in.cfg.RecordDir, name)
		f, err := os.Create(path)
		if err != nil {
			return nil, fmt.Errorf("cannot record: %w", err)
		}
		w, err := flv.NewWriter(f, true, true)
		if err != nil {
			f.Close()
			return nil, err
		}
		s.file, s.rec, s.an.r.Recording = f, w, path
	}
	in.cfg.Logger.Info("ingest: publish started", "app", req.App, "name", req.Name, "from", req.RemoteAddr.String())
	return s, nil
}

// stream is one publish: analysed, and recorded when asked.
type stream struct {
	in   *Ingest
	an   *analyzer
	file *os.File
	rec  *flv.Writer
	err  error
}

func (s *stream) WriteMessage(m rtmpclient.Message) error {
	s.an.message(m)
	if s.rec != nil && s.err == nil {
		tagType := m.Type
		if tagType == rtmpclient.TypeDataAMF0 {
			tagType = flv.TagScript
		}
		if err := s.rec.WriteTag(flv.Tag{Type: tagType, Timestamp: m.Timestamp, Data: m.Payload}); err != nil {
			// Keep judging the stream; report the recording failure at the end.
			s.err = err
			s.an.problem("recording failed: %v", err)
		}
	}
	return nil
}

func (s *stream) Close() error {
	var err error
	if s.rec != nil {
		err = errors.Join(s.rec.Flush(), s.file.Close())
		if err != nil {
			s.an.problem("recording could not be finished: %v", err)
		}
	}
	r := s.an.finish()
	s.in.mu.Lock()
	s.in.reports = append(s.in.reports, r)
	s.in.mu.Unlock()
	s.in.cfg.Logger.Info("ingest: publish ended", "app", r.App, "name", r.Name, "duration_s", r.Duration, "problems", len(r.Problems))
	if s.in.cfg.OnReport != nil {
		s.in.cfg.OnReport(r)
	}
	return err
}
