package rtmpclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The client's buffers. Writes wait while tunnelSendBuffer bytes are waiting
// to go, so a server that stops taking them pushes back on the Publisher's
// queue, where the drop policy sees it, as a small socket buffer does.
const (
	tunnelSendBuffer = 256 << 10
	tunnelRecvBuffer = 1 << 20
)

// rtmptClient is the client end of a tunnel: a net.Conn for RTMP, and the
// pump goroutine that turns its writes into /send requests and polls with
// /idle for what the server has to say. Requests go one at a time, as the
// sequence numbers require; whatever is written while one is out goes in the
// next, so a burst becomes one request.
type rtmptClient struct {
	*tunnelConn
	hc      *http.Client
	base    string // scheme://host:port
	id      string
	seq     uint64
	timeout time.Duration // the longest an exchange may go without progress
	log     *slog.Logger
	done    chan struct{} // closed when the pump has finished
}

// dialRTMPT opens a tunnel session to ep (rtmpt or rtmpts) and starts its pump.
func dialRTMPT(ctx context.Context, ep Endpoint, opts Options) (net.Conn, error) {
	dial := opts.Dial
	if dial == nil {
		d := &net.Dialer{KeepAlive: 15 * time.Second}
		dial = d.DialContext
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment, // the point of RTMPT is to pass where only web traffic goes
		DialContext:         dial,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	scheme := "http"
	if ep.Scheme == "rtmpts" {
		cfg, err := tlsConfig(ep, opts)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig, tr.TLSHandshakeTimeout, scheme = cfg, opts.Timeout, "https"
	}
	c := &rtmptClient{
		hc:      &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		base:    scheme + "://" + ep.Address(),
		timeout: opts.Timeout,
		log:     opts.Logger.With("server", ep.Address()),
		done:    make(chan struct{}),
	}
	sendBuf := tunnelSendBuffer
	if opts.SendBuffer > 0 {
		sendBuf = opts.SendBuffer
	}
	c.tunnelConn = newTunnelConn(tunnelRecvBuffer, sendBuf, tunnelAddr("rtmpt-client"), tunnelAddr(ep.Address()))
	if err := c.open(ctx); err != nil {
		tr.CloseIdleConnections()
		if ep.Scheme == "rtmpts" {
			return nil, tlsError(ep, err)
		}
		return nil, fmt.Errorf("rtmpt dial %s: %w", ep.Address(), err)
	}
	go c.pump()
	return c, nil
}

// open asks for a session. ident2 comes first, as Flash Player sent it; a
// server that does not know it answers 404, which is fine, but one that
// cannot be reached at all fails here.
func (c *rtmptClient) open(ctx context.Context) error {
	resp, err := c.post(ctx, "/fcs/ident2", []byte{0})
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()

	resp, err = c.post(ctx, "/open/1", []byte{0})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := checkAnswer(resp, "open"); err != nil {
		return err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxSessionID+3))
	if err != nil {
		return fmt.Errorf("rtmpt open: reading the session ID: %w", err)
	}
	id := strings.TrimSpace(string(b))
	if !validSessionID(id) {
		return tunnelErr("open answered %.40q, not a session ID (is this an RTMPT server?)", b)
	}
	c.id = id
	return nil
}

func (c *rtmptClient) post(ctx context.Context, path string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", tunnelContentType)
	req.Header.Set("Cache-Control", "no-cache")
	req.Header.Set("User-Agent", "Shockwave Flash") // what servers that check expect
	return c.hc.Do(req)
}

// checkAnswer accepts a 200 labelled as RTMPT (or not labelled at all).
// Anything else is a clear error: a web server or proxy's page is not RTMP.
func checkAnswer(resp *http.Response, cmd string) error {
	if resp.StatusCode == http.StatusNotFound && cmd != tunnelOpen {
		return tunnelErr("the server no longer knows the session (%s answered %s)", cmd, resp.Status)
	}
	if resp.StatusCode != http.StatusOK {
		return tunnelErr("%s answered %s", cmd, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != tunnelContentType {
			return tunnelErr("%s answered %.40q, not %s (a web server or proxy, not RTMPT?)", cmd, ct, tunnelContentType)
		}
	}
	return nil
}

// pump owns the HTTP side until the tunnel ends: it exits when the
// connection is closed (after delivering what was written and saying close)
// or when an exchange fails.
func (c *rtmptClient) pump() {
	defer close(c.done)
	defer c.hc.CloseIdleConnections()
	poll := time.NewTimer(0)
	defer poll.Stop()
	for {
		n, wake, err := c.out.state()
		if err != nil {
			return
		}
		if n == 0 {
			select {
			case <-wake:
				continue
			case <-poll.C:
			case <-c.closed:
				c.finish()
				return
			}
		}
		cmd, body := tunnelIdle, c.out.take(tunnelSendBuffer)
		if len(body) > 0 {
			cmd = tunnelSend
		}
		got, interval, err := c.exchange(cmd, body, c.in)
		if err != nil {
			if c.isClosed() {
				c.finish() // closing cut the exchange short; deliver the rest
				return
			}
			if errors.Is(err, errSessionGone) {
				err = io.EOF // the server ended the session: the connection closed
			}
			c.log.Debug("rtmpt tunnel ended", "err", err)
			c.fail(err)
			return
		}
		// Data in either direction says more is coming: poll again at once.
		// A quiet exchange waits as long as the server asks.
		wait := time.Duration(0)
		if got == 0 && len(body) == 0 {
			wait = time.Duration(min(max(interval, 1), pollIntervals[len(pollIntervals)-1])) * pollUnit
		}
		poll.Reset(wait)
	}
}

// finish delivers what was written before Close, then ends the session,
// each bounded by stopGrace so closing never waits on a dead server.
func (c *rtmptClient) finish() {
	c.timeout = min(c.timeout, stopGrace)
	for {
		body := c.out.take(tunnelSendBuffer)
		if len(body) == 0 {
			break
		}
		if _, _, err := c.exchange(tunnelSend, body, nil); err != nil {
			c.out.closeWith(net.ErrClosed)
			return
		}
	}
	c.out.closeWith(net.ErrClosed)
	_, _, _ = c.exchange(tunnelClose, nil, nil)
}

// errSessionGone is a 404 to a session's request: the server has ended it.
var errSessionGone = errors.New("rtmpt: the server ended the session")

// exchange makes one request and copies the server's RTMP bytes into in
// (discarding them when in is nil). It returns how many came and the
// polling interval the server asked for. A server that stops making progress
// for the timeout fails it.
func (c *rtmptClient) exchange(cmd string, body []byte, in *tunnelBuf) (int, byte, error) {
	if len(body) == 0 {
		body = []byte{0} // idle and close carry one byte, as FFmpeg's and librtmp's do
	}
	path := "/" + cmd + "/" + c.id + "/" + strconv.FormatUint(c.seq, 10)
	c.seq++
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stalled := time.AfterFunc(c.timeout, cancel)
	defer stalled.Stop()
	fail := func(err error) error {
		if ctx.Err() != nil {
			err = errNoProgress
		}
		return fmt.Errorf("rtmpt %s: %w", cmd, err)
	}
	resp, err := c.post(ctx, path, body)
	if err != nil {
		return 0, 0, fail(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return 0, 0, fmt.Errorf("rtmpt %s: %w", cmd, errSessionGone)
	}
	if err := checkAnswer(resp, cmd); err != nil {
		return 0, 0, err
	}
	var buf [32 << 10]byte
	if _, err := io.ReadFull(resp.Body, buf[:1]); err != nil {
		if errors.Is(err, io.EOF) {
			return 0, 0, tunnelErr("the answer to %s has no polling-interval byte", cmd)
		}
		return 0, 0, fail(err)
	}
	interval := buf[0]
	got := 0
	for {
		stalled.Reset(c.timeout)
		n, rerr := resp.Body.Read(buf[:])
		if n > 0 {
			got += n
			if in != nil {
				// The wait for our own reader is not the server's stall.
				stalled.Stop()
				if _, err := in.write(buf[:n], c.closedStop()); err != nil {
					return got, interval, fmt.Errorf("rtmpt %s: %w", cmd, err)
				}
			}
		}
		if errors.Is(rerr, io.EOF) {
			return got, interval, nil
		}
		if rerr != nil {
			return got, interval, fail(rerr)
		}
	}
}
