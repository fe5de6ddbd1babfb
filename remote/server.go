package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// DefaultAddr is where the remote control listens unless told otherwise:
// obs-websocket's port, on loopback only, so that nothing on the network can
// reach it unless the user says so.
const DefaultAddr = "127.0.0.1:4455"

// ErrNoPassword: the remote control never runs without a password.
var ErrNoPassword = errors.New("remote control needs a password")

// Config is how the remote control runs. Zero fields take the defaults.
type Config struct {
	Addr     string // host:port; DefaultAddr when empty
	Password string // required; never logged, never sent
	Version  string // Tally's version, which GetVersion reports as obsVersion

	MaxClients int // sessions at once; more are refused (503)
	// RequestsPerSecond and Burst bound each session's requests (a batch
	// counts each of its requests). A faster client is not refused: the
	// server reads its messages more slowly, so TCP holds the rest.
	RequestsPerSecond float64
	Burst             int
	// SendQueue is how many messages may wait for a client that reads
	// slower than events arrive; past it the client is disconnected.
	SendQueue int
	// WriteTimeout is how long one message may take to go out before the
	// client is taken for gone.
	WriteTimeout time.Duration
	// IdentifyTimeout is how long a connection may stay without
	// identifying.
	IdentifyTimeout time.Duration
	// AuthFailureDelay is how long a wrong password waits for its refusal.
	AuthFailureDelay time.Duration
	ReadLimit        int64         // the largest message a client may send, bytes
	PollEvery        time.Duration // how often the backend is looked at for events
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.MaxClients <= 0 {
		c.MaxClients = 32
	}
	if c.RequestsPerSecond <= 0 {
		c.RequestsPerSecond = 2000
	}
	if c.Burst <= 0 {
		c.Burst = 200
	}
	if c.SendQueue <= 0 {
		c.SendQueue = 256
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 5 * time.Second
	}
	if c.IdentifyTimeout <= 0 {
		c.IdentifyTimeout = 10 * time.Second
	}
	if c.AuthFailureDelay <= 0 {
		c.AuthFailureDelay = 500 * time.Millisecond
	}
	if c.ReadLimit <= 0 {
		c.ReadLimit = 1 << 20
	}
	if c.PollEvery <= 0 {
		c.PollEvery = 200 * time.Millisecond
	}
	return c
}

// Server is a running remote control. It owns its listener, one goroutine
// per session, and the event watcher; Close ends them all.
type Server struct {
	cfg     Config
	backend Backend
	log     *slog.Logger
	ln      net.Listener
	http    *http.Server

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // the serve loop, the watcher, every session

	mu       sync.Mutex
	sessions map[*session]struct{}
	clients  atomic.Int32 // identified sessions
	wake     chan struct{}
	closed   bool
}

// Start listens on cfg.Addr and serves until Close. It fails at once when the
// address is taken or no password is set.
func Start(cfg Config, b Backend, log *slog.Logger) (*Server, error) {
	cfg = cfg.withDefaults()
	if cfg.Password == "" {
		return nil, ErrNoPassword
	}
	if log == nil {
		log = slog.Default()
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("remote control: %w", err)
	}
	if host, _, _ := net.SplitHostPort(cfg.Addr); !isLoopback(host) {
		log.Warn("remote control listens beyond this machine; anyone who can reach it may try the password", "addr", ln.Addr().String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, backend: b, log: log, ln: ln, ctx: ctx, cancel: cancel,
		sessions: map[*session]struct{}{}, wake: make(chan struct{}, 1)}
	s.http = &http.Server{Handler: http.HandlerFunc(s.serveHTTP), ReadHeaderTimeout: 5 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("remote control stopped serving", "err", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		s.watch(ctx)
	}()
	log.Info("remote control listening", "addr", ln.Addr().String())
	return s, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Addr is where the server listens (the port chosen, when it was 0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Clients is how many clients are connected and identified.
func (s *Server) Clients() int { return int(s.clients.Load()) }

// Close stops listening, disconnects every client and waits for the
// server's goroutines to end.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel() // sessions are hijacked: their contexts end them, with Going Away
	// Shutdown, not Close: a connection still being upgraded is not hijacked
	// yet, and Close would cut it under a client that already has its 101;
	// Shutdown lets it become a session, which then closes as the others do.
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := s.http.Shutdown(ctx)
	if err != nil {
		err = s.http.Close()
	}
	s.wg.Wait()
	return err
}

// shutdownGrace bounds Close's wait for requests still being served.
const shutdownGrace = 5 * time.Second

// serveHTTP upgrades a connection and runs its session on this goroutine,
// which the http.Server started and s.wg accounts for.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed || len(s.sessions) >= s.cfg.MaxClients {
		s.mu.Unlock()
		http.Error(w, "too many remote control clients", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1)
	sess := &session{srv: s}
	s.sessions[sess] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.sessions, sess)
		s.mu.Unlock()
		s.wg.Done()
	}()

	// No origin check, as obs-websocket has none: browser-based controllers
	// are common, and the challenge keeps out anyone without the password.
	// MessagePack is accepted only to be refused with the protocol's code:
	// a client refused at the handshake would see no reason at all, and
	// obs-websocket-js asks for it by default under Node.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols: []string{SubprotocolJSON, SubprotocolMsgPack}, InsecureSkipVerify: true})
	if err != nil {
		s.log.Debug("remote control: handshake failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	conn.SetReadLimit(s.cfg.ReadLimit)
	if conn.Subprotocol() == SubprotocolMsgPack {
		s.log.Info("remote control: client refused, it asked for MessagePack", "remote", r.RemoteAddr)
		_ = conn.Close(websocket.StatusCode(CloseUnsupportedFeature), "Tally speaks obswebsocket.json only, not MessagePack.")
		return
	}
	sess.run(s.ctx, conn, r.RemoteAddr)
}

// kick asks the watcher to look at the backend now: a request changed it.
func (s *Server) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// broadcast queues an event for each identified session subscribed to its
// category. It never blocks: a session whose queue is full is dropped.
func (s *Server) broadcast(ev event) {
	b, err := encode(OpEvent, ev)
	if err != nil {
		s.log.Error("remote control: event not encoded", "event", ev.Type, "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for sess := range s.sessions {
		if sess.identified.Load() && Subscription(sess.subs.Load())&ev.Intent != 0 {
			sess.push(b)
		}
	}
}
