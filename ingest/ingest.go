package ingest

import (
	"context"
	"crypto/tls"
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
	// RTMPSAddr and RTMPTSAddr, when set, are addresses to accept RTMP over
	// TLS (rtmps://) and RTMPT over HTTPS (rtmpts://) on, with TLS's
	// certificate. Neither works without it.
	RTMPSAddr  string
	RTMPTSAddr string
	// TLS holds the server's certificate. Start raises its MinVersion to
	// TLS 1.2 when it asks for less: nothing older is safe, and every
	// current RTMPS client speaks 1.2. It sends no session tickets.
	TLS    *tls.Config
	Logger *slog.Logger
}

// ErrNoCertificate is returned by Start when an RTMPS or RTMPTS address is
// given without a TLS configuration holding a certificate.
var ErrNoCertificate = errors.New("ingest: RTMPS and RTMPTS need a TLS certificate")

// Ingest is a running test server.
type Ingest struct {
	cfg Config
	srv *rtmpclient.Server
	// Each listener, by its URL scheme ("rtmp", "rtmpt", "rtmps",
	// "rtmpts"), and the ends of the goroutines serving them, which Close
	// waits for.
	lns  map[string]net.Listener
	done []chan error

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
	if cfg.RTMPSAddr != "" || cfg.RTMPTSAddr != "" {
		if cfg.TLS == nil || len(cfg.TLS.Certificates) == 0 && cfg.TLS.GetCertificate == nil {
			return nil, ErrNoCertificate
		}
		cfg.TLS = cfg.TLS.Clone()
		cfg.TLS.MinVersion = max(cfg.TLS.MinVersion, tls.VersionTLS12)
		// librtmp built with gnutls (rtmpdump, and players linked to it)
		// takes the TLS 1.3 session ticket that arrives after the handshake
		// for a failed read and hangs up. A ticket only saves a handshake
		// on the next connection, nothing to a stream that stays connected.
		cfg.TLS.SessionTicketsDisabled = true
	}
	if cfg.RecordDir != "" {
		if err := os.MkdirAll(cfg.RecordDir, 0o755); err != nil {
			return nil, fmt.Errorf("ingest: record directory: %w", err)
		}
	}
	in := &Ingest{cfg: cfg, lns: make(map[string]net.Listener)}
	in.srv = &rtmpclient.Server{OnPublish: in.onPublish, Logger: cfg.Logger}
	if cfg.RecordDir != "" {
		in.srv.OpenRecording = in.openRecording
	}
	// Every address is taken before anything is served, so that one that
	// fails leaves nothing running.
	for _, l := range []struct{ scheme, addr string }{
		{"rtmp", addr}, {"rtmpt", cfg.RTMPTAddr}, {"rtmps", cfg.RTMPSAddr}, {"rtmpts", cfg.RTMPTSAddr},
	} {
		if l.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			for _, open := range in.lns {
				open.Close()
			}
			return nil, fmt.Errorf("ingest: listen for %s on %s: %w", strings.ToUpper(l.scheme), l.addr, err)
		}
		if l.scheme == "rtmps" || l.scheme == "rtmpts" {
			ln = tls.NewListener(ln, cfg.TLS)
		}
		in.lns[l.scheme] = ln
	}
	for scheme, ln := range in.lns {
		done := make(chan error, 1)
		in.done = append(in.done, done)
		if scheme == "rtmpt" || scheme == "rtmpts" {
			go func() { done <- in.srv.ServeRTMPT(ln, rtmpclient.RTMPTConfig{Logger: cfg.Logger}) }()
		} else {
			go func() { done <- in.srv.Serve(ln) }()
		}
	}
	return in, nil
}

// schemeURL is the URL of an application on the listener for scheme, or ""
// when the ingest does not serve it.
func (in *Ingest) schemeURL(scheme, app string) string {
	ln := in.lns[scheme]
	if ln == nil {
		return ""
	}
	return scheme + "://" + ln.Addr().String() + "/" + app
}

// RTMPTURL is the rtmpt:// URL of an application, when the ingest serves RTMPT.
func (in *Ingest) RTMPTURL(app string) string { return in.schemeURL("rtmpt", app) }

// RTMPSURL is the rtmps:// URL of an application, when the ingest serves RTMPS.
func (in *Ingest) RTMPSURL(app string) string { return in.schemeURL("rtmps", app) }

// RTMPTSURL is the rtmpts:// URL of an application, when the ingest serves RTMPTS.
func (in *Ingest) RTMPTSURL(app string) string { return in.schemeURL("rtmpts", app) }

// Addr is where the ingest listens.
func (in *Ingest) Addr() string { return in.lns["rtmp"].Addr().String() }

// URL is the RTMP URL of an application on this ingest.
func (in *Ingest) URL(app string) string { return in.schemeURL("rtmp", app) }

// Close stops the server; streams still being published end and are reported.
func (in *Ingest) Close() error {
	in.srv.Close()
	var errs []error
	for _, done := range in.done {
		if err := <-done; err != nil && !errors.Is(err, rtmpclient.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
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
		f, path, err := in.createRecording(req.App, seq)
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

// createRecording creates a new file in the record directory for a publish
// to app, named by app, time and sequence, never by the stream key (a
// secret). An ingest started again within the same second counts its
// publishes from 1 again: the name then takes a suffix rather than replace
// the file already there.
func (in *Ingest) createRecording(app string, seq int) (*os.File, string, error) {
	name := fmt.Sprintf("%s-%s-%d", unsafeName.ReplaceAllString(app, "_"), time.Now().Format("20060102-150405"), seq)
	for i := 1; ; i++ {
		path := filepath.Join(in.cfg.RecordDir, name+".flv")
		if i > 1 {
			path = filepath.Join(in.cfg.RecordDir, fmt.Sprintf("%s.%d.flv", name, i))
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil {
			return f, path, nil
		}
		if !errors.Is(err, fs.ErrExist) || i == 100 {
			return nil, "", err
		}
	}
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
