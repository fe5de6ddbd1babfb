package rtmpclient

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// RTMPTConfig bounds what the server end of RTMPT holds. The zero value is
// ready to use.
type RTMPTConfig struct {
	// MaxSessions caps the tunnels open at once; /open beyond it answers 503.
	// Default 64.
	MaxSessions int
	// SessionBuffer caps the bytes a session holds in each direction: the
	// client's not yet read by RTMP, and RTMP's not yet polled by the client.
	// A full buffer makes the writer wait, as a socket's does. Default 1 MiB.
	SessionBuffer int
	// MaxBody caps one request's body; a larger one answers 413 and ends the
	// session. Default 16 MiB.
	MaxBody int64
	// IdleTimeout ends a session whose client has made no request for this
	// long. Default 30s.
	IdleTimeout time.Duration
	Logger      *slog.Logger
}

func (c RTMPTConfig) withDefaults() RTMPTConfig {
	if c.MaxSessions <= 0 {
		c.MaxSessions = 64
	}
	if c.SessionBuffer <= 0 {
		c.SessionBuffer = 1 << 20
	}
	if c.MaxBody <= 0 {
		c.MaxBody = 16 << 20
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// RTMPTHandler is the server end of RTMPT: an http.Handler whose sessions
// come out of Accept as net.Conns, so that Server.Serve(h) serves tunnelled
// clients exactly as it serves TCP ones. Server.ServeRTMPT puts the two
// together.
type RTMPTHandler struct {
	cfg      RTMPTConfig
	addr     net.Addr
	accept   chan *tunnelConn
	closed   chan struct{}
	once     sync.Once
	reaperWG sync.WaitGroup

	mu       sync.Mutex
	sessions map[string]*rtmptSession
}

// rtmptSession is one tunnel on the server.
type rtmptSession struct {
	id   string
	conn *tunnelConn
	turn chan struct{} // held by the request being served: one at a time, in order

	// Guarded by turn.
	next    uint64 // the sequence number due
	started bool   // a numbered request has come
	idle    int    // quiet exchanges in a row: the index into pollIntervals

	mu   sync.Mutex
	last time.Time // the client's last request, for the reaper
}

// NewRTMPTHandler makes a handler and starts its reaper, which Close stops.
// addr is what its connections give as their local address.
func NewRTMPTHandler(addr net.Addr, cfg RTMPTConfig) *RTMPTHandler {
	h := &RTMPTHandler{
		cfg:      cfg.withDefaults(),
		addr:     addr,
		accept:   make(chan *tunnelConn),
		closed:   make(chan struct{}),
		sessions: make(map[string]*rtmptSession),
	}
	h.reaperWG.Add(1)
	go h.reap()
	return h
}

// Accept returns the next tunnel a client opens, until Close.
func (h *RTMPTHandler) Accept() (net.Conn, error) {
	select {
	case c := <-h.accept:
		return c, nil
	case <-h.closed:
		return nil, net.ErrClosed
	}
}

// Addr is the address the handler was made with.
func (h *RTMPTHandler) Addr() net.Addr { return h.addr }

// Close ends every session and the reaper. It is the Listener's Close, so
// Server.Close calls it.
func (h *RTMPTHandler) Close() error {
	h.once.Do(func() {
		close(h.closed)
		h.mu.Lock()
		for id, s := range h.sessions {
			s.conn.fail(io.EOF)
			delete(h.sessions, id)
		}
		h.mu.Unlock()
		h.reaperWG.Wait()
	})
	return nil
}

// Sessions is how many tunnels are open.
func (h *RTMPTHandler) Sessions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

func (h *RTMPTHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := parseTunnelPath(r.URL.Path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "rtmpt: requests are POST", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxBody)
	switch req.cmd {
	case tunnelIdent:
		// What Flash Player asked first; FMS answers 404 too, and clients go on.
		http.NotFound(w, r)
	case tunnelOpen:
		h.open(w, r)
	default:
		h.serveSession(w, r, req)
	}
}

func (h *RTMPTHandler) open(w http.ResponseWriter, r *http.Request) {
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		http.Error(w, "rtmpt: "+err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand panics rather than return weak bytes
	id := hex.EncodeToString(b[:])
	conn := newTunnelConn(h.cfg.SessionBuffer, h.cfg.SessionBuffer, h.addr, remoteAddr(r))
	s := &rtmptSession{id: id, conn: conn, turn: make(chan struct{}, 1), last: time.Now()}
	h.mu.Lock()
	if len(h.sessions) >= h.cfg.MaxSessions {
		h.mu.Unlock()
		h.cfg.Logger.Warn("rtmpt: too many sessions; refusing a new one", "max", h.cfg.MaxSessions, "client", r.RemoteAddr)
		http.Error(w, "rtmpt: too many sessions", http.StatusServiceUnavailable)
		return
	}
	h.sessions[id] = s
	h.mu.Unlock()
	select {
	case h.accept <- conn:
	case <-h.closed:
		h.drop(s)
		http.Error(w, "rtmpt: server closing", http.StatusServiceUnavailable)
		return
	case <-r.Context().Done():
		h.drop(s)
		return
	}
	w.Header().Set("Content-Type", tunnelContentType)
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = io.WriteString(w, id+"\n")
}

// drop forgets a session and ends its connection under the RTMP side.
func (h *RTMPTHandler) drop(s *rtmptSession) {
	h.mu.Lock()
	if h.sessions[s.id] == s {
		delete(h.sessions, s.id)
	}
	h.mu.Unlock()
	s.conn.fail(io.EOF)
}

func (h *RTMPTHandler) serveSession(w http.ResponseWriter, r *http.Request, req tunnelRequest) {
	h.mu.Lock()
	s := h.sessions[req.id]
	h.mu.Unlock()
	if s == nil {
		http.Error(w, "rtmpt: no such session", http.StatusNotFound)
		return
	}
	// One request at a time, as the sequence numbers are; a second one
	// arriving meanwhile waits its turn, no longer than its own request.
	select {
	case s.turn <- struct{}{}:
	case <-r.Context().Done():
		return
	case <-h.closed:
		http.Error(w, "rtmpt: server closing", http.StatusServiceUnavailable)
		return
	}
	defer func() { <-s.turn }()
	s.mu.Lock()
	s.last = time.Now()
	s.mu.Unlock()
	log := h.cfg.Logger.With("client", r.RemoteAddr)
	if req.hasSeq || req.cmd != tunnelClose {
		// FFmpeg numbers from 0 after open, librtmp from 1; after that each
		// request is one more. A gap means lost RTMP bytes, and a repeat
		// someone replaying: either way the stream cannot go on.
		ok := s.next == req.seq || (!s.started && req.seq <= 1)
		if !ok {
			log.Info("rtmpt: sequence out of order; ending the session", "got", req.seq, "want", s.next)
			h.drop(s)
			http.Error(w, fmt.Sprintf("rtmpt: sequence number %d where %d was due", req.seq, s.next), http.StatusNotFound)
			return
		}
		s.started, s.next = true, req.seq+1
	}
	sent := int64(0)
	if req.cmd == tunnelSend {
		n, err := io.Copy(writerFunc(func(p []byte) (int, error) {
			return s.conn.in.write(p, stopper{ch: r.Context().Done(), err: context.Canceled}, stopper{ch: h.closed, err: net.ErrClosed})
		}), r.Body)
		sent = n
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			log.Info("rtmpt: request body over the limit; ending the session", "limit", h.cfg.MaxBody)
			h.drop(s)
			http.Error(w, fmt.Sprintf("rtmpt: a request body over %d bytes", h.cfg.MaxBody), http.StatusRequestEntityTooLarge)
			return
		case err != nil && !s.conn.isClosed():
			log.Debug("rtmpt: reading a send", "err", err)
			h.drop(s)
			http.Error(w, "rtmpt: session ended", http.StatusNotFound)
			return
		}
	} else if _, err := io.Copy(io.Discard, r.Body); err != nil {
		h.drop(s)
		http.Error(w, "rtmpt: "+err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	out := s.conn.out.take(h.cfg.SessionBuffer)
	if out == nil && s.conn.isClosed() {
		// The RTMP side has ended and everything it wrote is delivered.
		h.drop(s)
		http.Error(w, "rtmpt: session ended", http.StatusNotFound)
		return
	}
	if sent > 0 || len(out) > 0 {
		s.idle = 0
	} else if s.idle < len(pollIntervals)-1 {
		s.idle++
	}
	if req.cmd == tunnelClose {
		h.drop(s)
	}
	w.Header().Set("Content-Type", tunnelContentType)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Length", strconv.Itoa(1+len(out)))
	_, _ = w.Write([]byte{pollIntervals[s.idle]})
	_, _ = w.Write(out)
}

// reap ends sessions whose client has gone quiet: one that never polls
// cannot hold a slot or its buffers longer than the idle timeout.
func (h *RTMPTHandler) reap() {
	defer h.reaperWG.Done()
	tick := time.NewTicker(max(h.cfg.IdleTimeout/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-h.closed:
			return
		case now := <-tick.C:
			h.mu.Lock()
			var stale []*rtmptSession
			for _, s := range h.sessions {
				s.mu.Lock()
				if now.Sub(s.last) > h.cfg.IdleTimeout {
					stale = append(stale, s)
				}
				s.mu.Unlock()
			}
			h.mu.Unlock()
			for _, s := range stale {
				h.cfg.Logger.Info("rtmpt: client stopped polling; ending the session", "client", s.conn.remote.String(), "idle", h.cfg.IdleTimeout)
				h.drop(s)
			}
		}
	}
}

// remoteAddr is the HTTP client's address, as a TCP address when it is one.
func remoteAddr(r *http.Request) net.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return net.TCPAddrFromAddrPort(ap)
	}
	return tunnelAddr(r.RemoteAddr)
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// ServeRTMPT serves RTMPT on l (plain HTTP; wrap l with tls.NewListener for
// rtmpts) until Close: each tunnel becomes a connection of this Server, with
// the same publish and play as over TCP.
func (s *Server) ServeRTMPT(l net.Listener, cfg RTMPTConfig) error {
	if cfg.Logger == nil {
		cfg.Logger = s.logger()
	}
	h := NewRTMPTHandler(l.Addr(), cfg)
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.timeout(),
		IdleTimeout:       2 * h.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.logger().Handler(), slog.LevelDebug),
	}
	httpDone := make(chan error, 1)
	go func() {
		err := hs.Serve(l)
		h.Close() // a listener that fails ends the RTMP side too
		httpDone <- err
	}()
	err := s.Serve(h)
	hs.Close()
	herr := <-httpDone
	if errors.Is(err, ErrServerClosed) {
		return err
	}
	if herr != nil && !errors.Is(herr, http.ErrServerClosed) {
		return fmt.Errorf("rtmpt server: %w", herr)
	}
	return err
}
