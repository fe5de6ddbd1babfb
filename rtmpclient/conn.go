package rtmpclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tallystudio/tally/rtmpclient/amf"
)

// Options configure a client connection. The zero value is ready to use.
type Options struct {
	// Timeout bounds dialling, the handshake, and each wait for a server answer.
	// Default 10s.
	Timeout time.Duration
	// WriteTimeout bounds each write; a server that stops reading for this long is
	// treated as gone. Default 10s.
	WriteTimeout time.Duration
	// CAFile adds a PEM bundle to the system roots for RTMPS (a private server).
	CAFile string
	// InsecureSkipVerify turns off RTMPS certificate checks. Only for testing
	// servers you control; Tally warns whenever it is set.
	InsecureSkipVerify bool
	// PlainHandshake sends an unsigned C1. The default is the digest handshake,
	// which Flash-era servers require and all others accept.
	PlainHandshake bool
	// FlashVer is sent in connect; servers log it. Default "FMLE/3.0 (compatible; Tally)".
	FlashVer string
	// Dial replaces the TCP dialler (tests use it to interpose proxies).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// SendBuffer sets the socket's send buffer in bytes (0: the system's
	// autotuning). A bound keeps a slow link's backlog in the Publisher's queue,
	// where the drop policy sees it.
	SendBuffer int
	// MaxMessageSize bounds any message the server sends. Default 8 MiB.
	MaxMessageSize uint32
	// Logger receives protocol events at debug level. Default: slog's default.
	Logger *slog.Logger
	// VideoFourCCs, when set, makes connect advertise Enhanced RTMP: these
	// video codecs ("avc1", "hvc1", "av01") in fourCcList and, as codecs Tally
	// encodes, in videoFourCcInfoMap, with capsEx. Unset, connect is the plain
	// one every server has always seen.
	VideoFourCCs []string
	// Multitrack adds the Multitrack bit to the capsEx advertised with
	// VideoFourCCs.
	Multitrack bool
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.FlashVer == "" {
		o.FlashVer = "FMLE/3.0 (compatible; Tally)"
	}
	if o.MaxMessageSize == 0 {
		o.MaxMessageSize = defaultReadLimits.maxMessage
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// ClientConn is a client's RTMP connection, connected to an application.
type ClientConn struct {
	t    *transport
	ep   Endpoint
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	nextTxn float64
	pending map[float64]chan Command
	status  chan Command // onStatus, for whoever waits on a stream
	media   chan Message // audio, video and data, for players

	playing atomic.Bool // media goes to c.media only on a playing connection
	// statusInBand: a play has started, and its later statuses go to c.media too.
	statusInBand atomic.Bool
	closing      chan struct{} // closed by Close, so a blocked read loop can leave
	once         sync.Once
	done         chan struct{} // closed when the read loop ends
	readErr      error         // why it ended; valid after done is closed

	caps ServerCaps // what the connect _result stated; set before Dial returns
}

// The window Tally asks servers to acknowledge at. Acks tell how much the server
// has really received, which the congestion estimate uses.
const clientAckWindow = 2_500_000

// Dial connects to the server and its application: TCP (or TLS for rtmps),
// the handshake, and the connect command. The context bounds the whole dial.
func Dial(ctx context.Context, ep Endpoint, opts Options) (*ClientConn, error) {
	opts = opts.withDefaults()
	adv, err := opts.advertisement()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	nc, err := dialTransport(ctx, ep, opts)
	if err != nil {
		return nil, err
	}
	// The context's deadline covers the handshake; a server that never answers
	// cannot hold us longer.
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	// sc is nc, or RC4 over nc for RTMPE; nc stays the socket the deadlines
	// (and the AfterFunc above) act on.
	sc, err := clientSession(nc, ep, opts)
	stop()
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("rtmp connect to %s: %w", ep.Address(), ctxErr(ctx, err))
	}
	_ = nc.SetDeadline(time.Time{})

	c := &ClientConn{
		t:       newTransport(sc, readLimits{maxMessage: opts.MaxMessageSize, maxStreams: defaultReadLimits.maxStreams}),
		ep:      ep,
		opts:    opts,
		log:     opts.Logger.With("server", ep.Address()),
		pending: make(map[float64]chan Command),
		status:  make(chan Command, 16),
		media:   make(chan Message, 256),
		done:    make(chan struct{}),
		closing: make(chan struct{}),
		nextTxn: 1,
	}
	c.t.writeTimeout = opts.WriteTimeout
	go c.readLoop()

	if err := c.t.setChunkSize(sendChunkSize); err != nil {
		c.Close()
		return nil, fmt.Errorf("rtmp connect: %w", err)
	}
	if err := c.t.sendWindowAckSize(clientAckWindow); err != nil {
		c.Close()
		return nil, fmt.Errorf("rtmp connect: %w", err)
	}
	res, err := c.call(ctx, "connect", append(amf.Object{
		{Key: "app", Value: ep.App},
		{Key: "type", Value: "nonprivate"},
		{Key: "flashVer", Value: opts.FlashVer},
		{Key: "swfUrl", Value: ep.TCURL()},
		{Key: "tcUrl", Value: ep.TCURL()},
	}, adv...))
	if err != nil {
		c.Close()
		return nil, err
	}
	c.caps = serverCapsFrom(res)
	c.log.Debug("rtmp connected", "code", res.Info().String("code"), "ertmp", c.caps.Stated,
		"fourcc", c.caps.FourCCList, "capsEx", uint32(c.caps.CapsEx))
	return c, nil
}

func dialTransport(ctx context.Context, ep Endpoint, opts Options) (net.Conn, error) {
	if ep.Scheme == "rtmpt" || ep.Scheme == "rtmpts" || ep.Scheme == "rtmpte" {
		return dialRTMPT(ctx, ep, opts) // the tunnel in HTTP requests
	}
	dial := opts.Dial
	if dial == nil {
		d := &net.Dialer{KeepAlive: 15 * time.Second}
		dial = d.DialContext
	}
	nc, err := dial(ctx, "tcp", ep.Address())
	if err != nil {
		return nil, fmt.Errorf("rtmp dial %s: %w", ep.Address(), err)
	}
	// The write deadline is what notices a stalled or dead server: the send
	// buffer is small, so writes block within a second of the peer going
	// quiet. The kernel's user timeout is only the backstop for data already
	// handed over. It also counts the time a live server keeps its receive
	// window shut (a slow reader pushing back), so at the write timeout it cut
	// streams that were merely congested; three times as long it does not.
	setUserTimeout(nc, 3*opts.WriteTimeout)
	if tc, ok := nc.(*net.TCPConn); ok && opts.SendBuffer > 0 {
		_ = tc.SetWriteBuffer(opts.SendBuffer)
	}
	if ep.Scheme != "rtmps" {
		return nc, nil
	}
	cfg, err := tlsConfig(ep, opts)
	if err != nil {
		nc.Close()
		return nil, err
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, tlsError(ep, err)
	}
	return tc, nil
}

func tlsConfig(ep Endpoint, opts Options) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: ep.Host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: opts.InsecureSkipVerify}
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("rtmps: read CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("rtmps: CA file %s holds no PEM certificate", opts.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// ErrCertificate wraps every certificate failure: retrying will not fix it.
var ErrCertificate = errors.New("rtmps certificate not trusted")

func tlsError(ep Endpoint, err error) error {
	var verr *tls.CertificateVerificationError
	var herr x509.HostnameError
	var uerr x509.UnknownAuthorityError
	if errors.As(err, &verr) || errors.As(err, &herr) || errors.As(err, &uerr) {
		return fmt.Errorf("%w: %s: %v", ErrCertificate, ep.Host, err)
	}
	return fmt.Errorf("rtmps TLS handshake with %s: %w", ep.Address(), err)
}

// ctxErr says plainly when a failure was the server's silence running out the clock.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w (the server did not answer in time)", err)
	}
	return err
}

// readLoop owns the read side until the connection ends.
func (c *ClientConn) readLoop() {
	defer close(c.done)
	defer close(c.media)
	for {
		m, err := c.t.readMessage()
		if err != nil {
			switch {
			case errors.Is(err, io.ErrUnexpectedEOF):
				err = fmt.Errorf("%w in the middle of a message", ErrUnexpectedClose)
			case errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed):
				err = ErrUnexpectedClose
			}
			c.mu.Lock()
			c.readErr = err
			c.mu.Unlock()
			return
		}
		switch m.Type {
		case TypeCommandAMF0, TypeCommandAMF3:
			cmd, err := parseCommand(m)
			if err != nil {
				c.log.Debug("rtmp: undecodable command", "err", err)
				continue
			}
			// A player also gets a stream's statuses among its media, in
			// the order they came: which frames came before a seek's
			// Seek.Notify, and which after, is only known that way. The
			// Play.Start that answers Play is Play's alone; from it on,
			// statuses are in band. Both are decided here, on the reading
			// goroutine, so none is given twice or missed.
			inBand := cmd.Name == "onStatus" && m.StreamID != 0 && c.statusInBand.Load()
			if !inBand && cmd.Name == "onStatus" && c.playing.Load() && cmd.Info().String("code") == "NetStream.Play.Start" {
				c.statusInBand.Store(true)
			}
			c.dispatch(cmd)
			if inBand {
				select {
				case c.media <- m:
				case <-c.closing:
					return
				}
			}
		case TypeAudio, TypeVideo, TypeDataAMF0, TypeDataAMF3, TypeAggregate:
			if !c.playing.Load() {
				continue // a publisher has no use for media; never block on it
			}
			select {
			case c.media <- m:
			case <-c.closing:
				return
			}
		case TypeUserControl:
			c.log.Debug("rtmp user control", "event", m.Payload)
		}
	}
}

func (c *ClientConn) dispatch(cmd Command) {
	switch cmd.Name {
	case "_result", "_error":
		c.mu.Lock()
		ch := c.pending[cmd.Transaction]
		delete(c.pending, cmd.Transaction)
		c.mu.Unlock()
		if ch != nil {
			ch <- cmd
		}
	case "onStatus":
		select {
		case c.status <- cmd:
		default: // nobody is waiting for status; keep the newest
			select {
			case <-c.status:
			default:
			}
			c.status <- cmd
		}
	case "close":
		c.log.Info("rtmp server asked to close the connection")
	default:
		// onBWDone, onFCPublish, |RtmpSampleAccess and friends need no answer.
		c.log.Debug("rtmp command ignored", "name", cmd.Name)
	}
}

// err is why the read loop ended.
func (c *ClientConn) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readErr == nil {
		return ErrUnexpectedClose
	}
	return c.readErr
}

// sendCommand sends a command on a message stream without waiting for an answer.
func (c *ClientConn) sendCommand(streamID uint32, name string, txn float64, obj any, args ...any) error {
	b, err := appendCommand(nil, name, txn, obj, args...)
	if err != nil {
		return err
	}
	return c.t.send(csidCommand, &Message{Type: TypeCommandAMF0, StreamID: streamID, Payload: b})
}

// call sends a command on stream 0 and waits for its _result or _error.
func (c *ClientConn) call(ctx context.Context, name string, obj any, args ...any) (Command, error) {
	ch := make(chan Command, 1)
	c.mu.Lock()
	txn := c.nextTxn
	c.nextTxn++
	c.pending[txn] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, txn)
		c.mu.Unlock()
	}()
	if err := c.sendCommand(0, name, txn, obj, args...); err != nil {
		return Command{}, fmt.Errorf("rtmp %s: %w", name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	select {
	case res := <-ch:
		if res.Name == "_error" {
			return res, statusError(name, res, c.ep.Key)
		}
		return res, nil
	case <-c.done:
		return Command{}, fmt.Errorf("rtmp %s: %w", name, c.err())
	case <-ctx.Done():
		return Command{}, fmt.Errorf("rtmp %s: no answer from the server: %w", name, ctx.Err())
	}
}

// waitStatus waits for an onStatus on a stream. It returns the status when its
// code is one of want, a StatusError when its level is "error", and skips others.
func (c *ClientConn) waitStatus(ctx context.Context, op string, want ...string) (Command, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	for {
		select {
		case st := <-c.status:
			info := st.Info()
			code := info.String("code")
			for _, w := range want {
				if code == w {
					return st, nil
				}
			}
			if info.String("level") == "error" {
				return st, statusError(op, st, c.ep.Key)
			}
			c.log.Debug("rtmp status", "op", op, "code", code)
		case <-c.done:
			return Command{}, fmt.Errorf("rtmp %s: %w", op, c.err())
		case <-ctx.Done():
			return Command{}, fmt.Errorf("rtmp %s: no answer from the server: %w", op, ctx.Err())
		}
	}
}

// createStream asks for a message stream and returns its ID.
func (c *ClientConn) createStream(ctx context.Context) (uint32, error) {
	res, err := c.call(ctx, "createStream", nil)
	if err != nil {
		return 0, err
	}
	id, ok := res.Arg(0).(float64)
	if !ok || id < 1 || id > 1<<24 {
		return 0, protoErr("createStream answered stream id %v", res.Arg(0))
	}
	return uint32(id), nil
}

// Done is closed when the connection ends, for whatever reason.
func (c *ClientConn) Done() <-chan struct{} { return c.done }

// Err is why the connection ended, once Done is closed.
func (c *ClientConn) Err() error { return c.err() }

// Close closes the connection at once and waits for the read loop to end.
func (c *ClientConn) Close() error {
	var err error
	c.once.Do(func() {
		close(c.closing)
		err = c.t.close()
	})
	<-c.done
	return err
}
