package rtmpclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"syscall"
	"time"
)

// ReconnectPolicy is how a Publisher retries after a live connection fails:
// exponential backoff with jitter. Failures that cannot heal (a refused key, a
// bad certificate) are never retried, and a first connection that fails is
// reported at once, since someone is there to fix the settings.
//
// A connection counts as live only once it is established: the server has
// acknowledged media bytes, or the connection has stayed up for
// EstablishedAfter. Until then a server that closes the connection has hung
// up on the stream, which is how many ingests refuse a key (Twitch, nginx-rtmp
// behind an on_publish check): on the first connection that ends the stream
// at once, and after a healthy stream MaxHangUps of them in a row do, with the
// backoff growing between them.
type ReconnectPolicy struct {
	Enabled bool
	// First is the wait before the first retry. Default 2s.
	First time.Duration
	// Factor multiplies the wait after each failed attempt. Default 1.5.
	Factor float64
	// Max caps the wait. Default 60s.
	Max time.Duration
	// MaxAttempts gives up after this many failed attempts in a row; 0 never gives up.
	MaxAttempts int
	// NameHeldFor is how long after losing a live connection a refusal of the
	// stream name (BadName) is taken for the server still holding the old
	// connection, and retried; after it, BadName is final. Default 60s.
	NameHeldFor time.Duration
	// EstablishedAfter is how long a connection must stay up, without an
	// acknowledgement of media, before it counts as established. Two keyframe
	// intervals is what a server that checks the stream needs. Default 4s.
	EstablishedAfter time.Duration
	// MaxHangUps ends the retries after this many connections in a row that
	// the server closed before they were established, whatever MaxAttempts
	// says: a server that keeps hanging up is refusing the stream. Default 5.
	MaxHangUps int
}

func (r ReconnectPolicy) withDefaults() ReconnectPolicy {
	if r.First <= 0 {
		r.First = 2 * time.Second
	}
	if r.Factor < 1 {
		r.Factor = 1.5
	}
	if r.Max <= 0 {
		r.Max = 60 * time.Second
	}
	if r.NameHeldFor <= 0 {
		r.NameHeldFor = 60 * time.Second
	}
	if r.EstablishedAfter <= 0 {
		r.EstablishedAfter = 4 * time.Second
	}
	if r.MaxHangUps <= 0 {
		r.MaxHangUps = 5
	}
	if r.Max < r.First {
		r.Max = r.First
	}
	return r
}

// delay is the wait before attempt n (1-based): First×Factor^(n-1), capped,
// with ±20 % jitter so that many clients cut off together do not return
// together.
func (r ReconnectPolicy) delay(n int, jitter float64) time.Duration {
	d := float64(r.First) * math.Pow(r.Factor, float64(n-1))
	d = math.Min(d, float64(r.Max))
	return time.Duration(d * (0.8 + 0.4*jitter))
}

// Run connects, publishes and sends until ctx is cancelled (a clean stop:
// FCUnpublish and deleteStream are sent, and Run returns nil) or the connection
// fails for good (Run returns why). With Reconnect enabled, a connection lost
// after it was established is retried by the policy; the queue keeps taking
// packets meanwhile, under the usual drop policy. A server that hangs up
// before the stream is established ends Run with a *HangUpError (see
// ReconnectPolicy).
func (p *Publisher) Run(ctx context.Context) error {
	defer p.endOnce.Do(func() { close(p.ended) })
	p.state.Store(int32(StateConnecting))
	r := p.cfg.Reconnect
	var (
		published   bool // some connection published: the next one resumes the queue
		established bool // some connection was established: the server takes this stream
		failures    int  // attempts in a row that did not establish a connection
		hangUps     int  // of those, connections the server closed before they were established
		lostAt      time.Time
	)
	for {
		c, streamID, err := p.connect(ctx)
		up := false
		if err == nil {
			if published {
				p.resume()
			}
			published = true
			p.conn.Store(c)
			p.state.Store(int32(StateLive))
			if up, err = p.send(ctx, c, streamID); up {
				established, failures, hangUps = true, 0, 0
				p.setRetry(0, time.Time{})
			}
			if err == nil {
				p.state.Store(int32(StateStopped))
				return nil
			}
		}
		if ctx.Err() != nil {
			p.state.Store(int32(StateStopped))
			return nil
		}
		if failures++; failures == 1 {
			lostAt = time.Now()
		}
		if !up && hungUp(err) {
			hangUps++
			err = &HangUpError{Server: p.cfg.Endpoint.String(), Count: hangUps, Err: err}
		}
		switch {
		case hangUps > 0 && (!established || hangUps >= r.MaxHangUps),
			!r.Enabled || !established,
			!(retryable(err) || ghostName(err, time.Since(lostAt), r.NameHeldFor)),
			r.MaxAttempts > 0 && failures > r.MaxAttempts:
			p.setLastError(err)
			p.state.Store(int32(StateFailed))
			return err
		}
		wait := r.delay(failures, rand.Float64())
		p.setLastError(err)
		p.setRetry(failures, time.Now().Add(wait))
		p.state.Store(int32(StateReconnecting))
		p.cfg.Options.Logger.Warn("rtmp connection lost; reconnecting", "server", p.cfg.Endpoint.String(),
			"attempt", failures, "in", wait.Round(time.Millisecond), "err", err)
		select {
		case <-ctx.Done():
			p.state.Store(int32(StateStopped))
			return nil
		case <-time.After(wait):
		}
	}
}

func (p *Publisher) setLastError(err error) {
	p.retryMu.Lock()
	p.lastErr = err.Error()
	p.retryMu.Unlock()
}

func (p *Publisher) setRetry(attempt int, next time.Time) {
	p.retryMu.Lock()
	p.attempt, p.nextRetry = attempt, next
	p.retryMu.Unlock()
}

// retryable tells whether another attempt could succeed: not for a refused
// key or application, nor for a certificate that does not verify.
func retryable(err error) bool {
	var se *StatusError
	if errors.As(err, &se) && se.Permanent() {
		return false
	}
	return !errors.Is(err, ErrCertificate) && !errors.Is(err, ErrBadURL)
}

// ghostName tells whether a BadName refusal on reconnecting is most likely the
// server still holding this stream's previous, dead connection (nginx-rtmp
// says "Already publishing" until it notices): the name was ours moments
// ago, so retrying is worth it for a while, and a key that stays refused
// still stops the retries once the connection has been lost for held.
func ghostName(err error, lostFor, held time.Duration) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == "NetStream.Publish.BadName" && lostFor < held
}

// trackKeySpread is how far apart the tracks' keyframes a resume restarts at
// may be: the same instant in each track's own encoder, a frame or B-frame
// delay apart.
const trackKeySpread = 500

// resume prepares the queue for a new connection: what piled up during the
// outage is stale, so each video track restarts at its newest queued
// keyframe (or waits for the next one, which OnReconnect asks for), and
// audio from the earliest of those. Tracks are judged apart: in a
// multitrack stream one track's keyframe may come a frame before another's.
func (p *Publisher) resume() {
	p.reconnects.Add(1)
	p.mu.Lock()
	newest := p.newestKeys()
	// A track whose newest keyframe is much older than the others' (its
	// encoder lagged, or its keyframe was dropped) waits for its next one
	// rather than take the stream back in time.
	latest := int64(math.MinInt64)
	for _, i := range newest {
		if i >= 0 {
			latest = max(latest, p.q[i].DTS)
		}
	}
	audioFrom := int64(math.MaxInt64)
	for t, i := range newest {
		if i >= 0 && p.q[i].DTS < latest-trackKeySpread {
			newest[t] = -1
		} else if i >= 0 {
			audioFrom = min(audioFrom, p.q[i].DTS)
		}
	}
	for i := p.head; i < len(p.q); i++ {
		pk := &p.q[i]
		switch {
		case pk.Header || pk.Type == TypeDataAMF0:
		case pk.Type == TypeVideo && i < newest[pk.Track], pk.Type == TypeVideo && newest[pk.Track] < 0:
			pk.Payload = nil
		case pk.Type != TypeVideo && pk.DTS < audioFrom:
			pk.Payload = nil
		}
	}
	p.compact()
	for t, i := range newest {
		if i < 0 {
			p.waitKey[t] = true
		}
	}
	p.mu.Unlock()
	if p.cfg.OnReconnect != nil {
		p.cfg.OnReconnect()
	}
}

// connect dials and runs the publish sequence the way the big encoders do, so
// that every ingest recognises it: releaseStream, FCPublish, createStream, publish.

// ErrHungUp is what every *HangUpError matches with errors.Is.
var ErrHungUp = errors.New("the server hung up before taking the stream")

// HangUpError is a server that took the connection and then closed it before
// the stream was established (see ReconnectPolicy). Servers that refuse a key
// this way give no reason, so the message names the likely ones.
type HangUpError struct {
	Server string // the destination, key masked
	Count  int    // hang-ups in a row, this one included
	Err    error  // how the connection ended
}

func (e *HangUpError) Error() string {
	times := ""
	if e.Count > 1 {
		times = fmt.Sprintf(" (%d times in a row)", e.Count)
	}
	return fmt.Sprintf("%s: %v%s: the stream key is probably wrong, expired or already in use, "+
		"or the server refuses this stream (%v)", e.Server, ErrHungUp, times, e.Err)
}

// Unwrap lets errors.Is find both ErrHungUp and the connection's own error.
func (e *HangUpError) Unwrap() []error { return []error{ErrHungUp, e.Err} }

// hungUp tells whether err is the server ending the connection (a close or a
// reset), as opposed to a refusal with a reason, a timeout, or a bad setting.
func hungUp(err error) bool {
	var se *StatusError
	if err == nil || errors.As(err, &se) {
		return false
	}
	return errors.Is(err, ErrUnexpectedClose) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, net.ErrClosed)
}

// establishment watches one connection for the server showing that it takes
// the stream: an acknowledgement of bytes past the preamble, or the
// connection staying up for the holding time.
type establishment struct {
	since    time.Time
	preamble uint64 // bytes out when the media began
	hold     time.Duration
	done     bool
}

func (e *establishment) check(t *transport, now time.Time) bool {
	if !e.done {
		e.done = now.Sub(e.since) >= e.hold || t.peerAcked.Load() > e.preamble
	}
	return e.done
}
