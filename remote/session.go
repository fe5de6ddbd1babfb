package remote

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// session is one client's connection.
type session struct {
	srv        *Server
	send       chan []byte
	cancel     context.CancelFunc
	identified atomic.Bool
	subs       atomic.Uint32
	in, out    atomic.Uint64
	overflow   atomic.Bool // its send queue filled: it is not reading
	auth       challenge
	conn       *websocket.Conn
	closeOnce  sync.Once
}

// protoError is a breach of the protocol, which closes the session with its
// code.
type protoError struct {
	code   CloseCode
	reason string
}

func (e *protoError) Error() string { return e.reason }

func closeWith(code CloseCode, reason string) error { return &protoError{code: code, reason: reason} }

func encode(op OpCode, d any) ([]byte, error) { return json.Marshal(outMessage{Op: op, D: d}) }

// run serves the session until the client leaves, breaks the protocol, falls
// behind, or the server closes. Its writer and closer goroutines end before
// it returns.
//
// Reads and writes run under the session's own context, not the server's:
// coder/websocket drops the connection when a read's context ends, and a
// server shutting down or a client that never identifies deserves a close
// frame with a reason, which the closer sends.
func (sess *session) run(parent context.Context, conn *websocket.Conn, remote string) {
	s := sess.srv
	ctx, cancel := context.WithCancel(context.Background())
	sess.cancel = cancel
	sess.conn = conn
	sess.send = make(chan []byte, s.cfg.SendQueue)
	sess.auth = newChallenge()
	log := s.log.With("remote", remote)

	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer cancel()
		sess.writeLoop(ctx, conn)
	}()
	readDone := make(chan struct{})
	go func() {
		defer wg.Done()
		sess.closer(parent, ctx, readDone, log)
	}()

	hb, _ := encode(OpHello, hello{WebSocketVersion: WebSocketVersion, RPCVersion: RPCVersion, Authentication: &sess.auth})
	sess.push(hb)
	err := sess.readLoop(ctx, conn)
	close(readDone)
	if sess.identified.Swap(false) {
		s.clients.Add(-1)
	}

	var pe *protoError
	switch {
	case errors.As(err, &pe):
		log.Info("remote control: client closed for breaking the protocol", "code", int(pe.code), "reason", pe.reason)
		sess.shut(websocket.StatusCode(pe.code), pe.reason)
	case sess.overflow.Load():
		log.Warn("remote control: client dropped, it does not read what it is sent", "queued", s.cfg.SendQueue)
		sess.shut(-1, "")
	default:
		log.Debug("remote control: client left", "err", err)
		sess.shut(-1, "")
	}
	cancel()
	wg.Wait()
}

// closer ends the session from outside its reader: when the server shuts
// down, when the client has not identified in time, or when it stopped
// reading. It returns once the reader has finished.
func (sess *session) closer(parent, ctx context.Context, readDone <-chan struct{}, log *slog.Logger) {
	t := time.NewTimer(sess.srv.cfg.IdentifyTimeout)
	defer t.Stop()
	for {
		select {
		case <-readDone:
			return
		case <-parent.Done():
			sess.shut(websocket.StatusGoingAway, "Tally's remote control is shutting down")
			return
		case <-ctx.Done():
			// The writer gave up or the queue overflowed: no handshake
			// with a client that does not read.
			sess.shut(-1, "")
			return
		case <-t.C:
			if !sess.identified.Load() {
				log.Info("remote control: client closed, it did not identify in time")
				sess.shut(websocket.StatusCode(CloseNotIdentified), "Identify was not sent in time.")
				return
			}
		}
	}
}

// shut closes the connection once: with a close frame and reason, or at
// once when code is -1.
func (sess *session) shut(code websocket.StatusCode, reason string) {
	sess.closeOnce.Do(func() {
		if code < 0 {
			_ = sess.conn.CloseNow()
			return
		}
		_ = sess.conn.Close(code, reason)
	})
}

// push queues a message without waiting; a full queue means the client has
// stopped reading, and it is dropped rather than let it hold anyone up.
func (sess *session) push(b []byte) {
	select {
	case sess.send <- b:
	default:
		if !sess.overflow.Swap(true) {
			sess.cancel()
		}
	}
}

// reply queues a response, waiting for room: a client that sends faster than
// it reads is read more slowly, and one that stops reading is dropped by the
// writer's timeout.
func (sess *session) reply(ctx context.Context, b []byte) error {
	select {
	case sess.send <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (sess *session) writeLoop(ctx context.Context, conn *websocket.Conn) {
	for {
		var b []byte
		select {
		case <-ctx.Done():
			return
		case b = <-sess.send:
		}
		wctx, cancel := context.WithTimeout(ctx, sess.srv.cfg.WriteTimeout)
		err := conn.Write(wctx, websocket.MessageText, b)
		cancel()
		if err != nil {
			if wctx.Err() != nil && ctx.Err() == nil {
				sess.overflow.Store(true) // it stopped reading
			}
			return
		}
		sess.out.Add(1)
	}
}

func (sess *session) readLoop(ctx context.Context, conn *websocket.Conn) error {
	s := sess.srv
	limit := newBucket(s.cfg.RequestsPerSecond, s.cfg.Burst)
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			return err
		}
		sess.in.Add(1)
		if typ != websocket.MessageText {
			return closeWith(CloseMessageDecodeError, "Binary messages are not supported: the session speaks JSON.")
		}
		if err := sess.dispatch(ctx, data, limit); err != nil {
			return err
		}
	}
}

// dispatch acts on one message.
func (sess *session) dispatch(ctx context.Context, data []byte, limit *bucket) error {
	s := sess.srv
	var m message
	if err := json.Unmarshal(data, &m); err != nil {
		return closeWith(CloseMessageDecodeError, "The message is not valid JSON.")
	}
	if m.Op == nil {
		return closeWith(CloseUnknownOpCode, "The message has no op.")
	}
	if m.D == nil {
		return closeWith(CloseMissingDataField, "The message has no d.")
	}
	op := *m.Op
	if op != OpIdentify && !sess.identified.Load() {
		switch op {
		case OpReidentify, OpRequest, OpRequestBatch:
			return closeWith(CloseNotIdentified, "The session is not identified: send Identify first.")
		}
	}
	switch op {
	case OpIdentify:
		if sess.identified.Load() {
			return closeWith(CloseAlreadyIdentified, "The session is already identified.")
		}
		return sess.identify(ctx, *m.D)
	case OpReidentify:
		var id identify
		if err := json.Unmarshal(*m.D, &id); err != nil {
			return closeWith(CloseInvalidDataFieldType, "Reidentify's data is not valid.")
		}
		if id.EventSubscriptions != nil {
			sess.subs.Store(uint32(*id.EventSubscriptions))
		}
		b, _ := encode(OpIdentified, identified{NegotiatedRPCVersion: RPCVersion})
		return sess.reply(ctx, b)
	case OpRequest:
		var r request
		if err := json.Unmarshal(*m.D, &r); err != nil {
			return closeWith(CloseInvalidDataFieldType, "The request's data is not valid.")
		}
		if r.Type == nil || r.ID == nil {
			return closeWith(CloseMissingDataField, "A request needs requestType and requestId.")
		}
		if err := limit.wait(ctx, 1); err != nil {
			return err
		}
		b, err := encode(OpRequestResponse, s.handle(sess, *r.Type, *r.ID, r.Data))
		if err != nil {
			return err
		}
		return sess.reply(ctx, b)
	case OpRequestBatch:
		return sess.batch(ctx, *m.D, limit)
	}
	return closeWith(CloseUnknownOpCode, "The op is not one a client sends.")
}

func (sess *session) identify(ctx context.Context, d json.RawMessage) error {
	s := sess.srv
	var id identify
	if err := json.Unmarshal(d, &id); err != nil {
		return closeWith(CloseInvalidDataFieldType, "Identify's data is not valid.")
	}
	if id.RPCVersion == nil {
		return closeWith(CloseMissingDataField, "Identify needs rpcVersion.")
	}
	if *id.RPCVersion != RPCVersion {
		return closeWith(CloseUnsupportedRPCVersion, "Only rpcVersion 1 is supported.")
	}
	if id.Authentication == nil || !checkAuth(s.cfg.Password, sess.auth, *id.Authentication) {
		// A pause before the refusal makes guessing slow: each guess costs
		// a connection, and MaxClients bounds how many wait at once.
		t := time.NewTimer(s.cfg.AuthFailureDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		return closeWith(CloseAuthenticationFailed, "Authentication failed.")
	}
	subs := SubAll
	if id.EventSubscriptions != nil {
		subs = *id.EventSubscriptions
	}
	sess.subs.Store(uint32(subs))
	b, _ := encode(OpIdentified, identified{NegotiatedRPCVersion: RPCVersion})
	// Identified is queued and the session marked under the lock broadcast
	// holds: every event after this one reaches the client, after its
	// Identified. The queue has room, as only Hello can be in it.
	s.mu.Lock()
	sess.push(b)
	sess.identified.Store(true)
	s.mu.Unlock()
	s.clients.Add(1)
	return nil
}

func (sess *session) batch(ctx context.Context, d json.RawMessage, limit *bucket) error {
	s := sess.srv
	var bt batch
	if err := json.Unmarshal(d, &bt); err != nil {
		return closeWith(CloseInvalidDataFieldType, "The batch's data is not valid.")
	}
	if bt.ID == nil || bt.Requests == nil {
		return closeWith(CloseMissingDataField, "A batch needs requestId and requests.")
	}
	if bt.ExecutionType != nil {
		switch *bt.ExecutionType {
		case ExecNone, ExecSerialRealtime, ExecSerialFrame, ExecParallel:
		default:
			return closeWith(CloseInvalidDataFieldValue, "executionType is not one the protocol has.")
		}
	}
	// Every execution type runs in order here: Tally has no frame-locked
	// execution, and the requests it answers are quick enough that running
	// them in parallel would gain nothing.
	out := batchResponse{ID: *bt.ID, Results: []response{}}
	for _, raw := range bt.Requests {
		if err := limit.wait(ctx, 1); err != nil {
			return err
		}
		var r request
		if err := json.Unmarshal(raw, &r); err != nil || r.Type == nil {
			out.Results = append(out.Results, response{Status: requestStatus{Code: StatusMissingRequestType,
				Comment: "Your request is missing a requestType."}})
			if bt.HaltOnFailure {
				break
			}
			continue
		}
		id := ""
		if r.ID != nil {
			id = *r.ID
		}
		res := s.handle(sess, *r.Type, id, r.Data)
		out.Results = append(out.Results, res)
		if bt.HaltOnFailure && !res.Status.Result {
			break
		}
	}
	b, err := encode(OpRequestBatchResponse, out)
	if err != nil {
		return err
	}
	return sess.reply(ctx, b)
}

// bucket is a token bucket, used by one goroutine: a session's reader.
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func newBucket(rate float64, burst int) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: time.Now()}
}

// wait takes n tokens, sleeping until they are there or ctx ends.
func (b *bucket) wait(ctx context.Context, n float64) error {
	now := time.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens -= n
	if b.tokens >= 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(-b.tokens / b.rate * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
