package rtmpclient

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Packet is one media message ready for the wire: an FLV tag body with its
// decode timestamp. Payloads are shared by every Publisher of a stream and must
// not be modified once written.
type Packet struct {
	Type       uint8 // TypeAudio, TypeVideo or TypeDataAMF0
	DTS        int64 // decode timestamp, milliseconds from the start of the stream
	Payload    []byte
	Keyframe   bool // a video frame that starts a GOP
	Disposable bool // a video frame nothing else references (H.264 nal_ref_idc 0)
	Header     bool // a sequence header: always sent, and sent again on reconnect
}

// PublisherConfig configures one destination.
type PublisherConfig struct {
	Endpoint Endpoint
	Options  Options
	// DropThreshold is the queued duration past which video is dropped. Default 700ms.
	DropThreshold time.Duration
	// MaxQueue is the hard limit on queued media, audio included, so that a dead
	// link never holds unbounded memory. Default 10s.
	MaxQueue time.Duration
	// Metadata is sent as @setDataFrame onMetaData after publish starts.
	Metadata ECMAArray
	// Reconnect says what to do when a live connection fails.
	Reconnect ReconnectPolicy
	// OnReconnect, when set, is called each time publishing resumes after an
	// outage: the place to ask the encoder for a keyframe, since video resumes
	// only at one.
	OnReconnect func()
}

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

// PublisherStats is a snapshot of one destination's counters.
type PublisherStats struct {
	State           State
	BytesSent       uint64  // bytes written to the connection, protocol included
	VideoFramesSent uint64  // video frames sent
	AudioFramesSent uint64  // audio frames sent
	Bitrate         float64 // bits per second sent, over the last second or so
	QueueDuration   time.Duration
	QueuePackets    int
	DroppedVideo    uint64 // video frames dropped for congestion
	DroppedAudio    uint64 // audio frames dropped at the hard queue limit
	AcksReceived    uint64
	RTT             time.Duration // round-trip time, when the server answers pings
	Unacked         uint64        // bytes sent the server has not acknowledged
	Reconnects      uint64        // times publishing resumed after an outage
	// BlockedBytes were written while the socket pushed back, over
	// BlockedTime: their ratio is what the link carries when it is the limit.
	BlockedBytes uint64
	BlockedTime  time.Duration
	Attempt      int       // while reconnecting: the attempt being waited for
	NextRetry    time.Time // while reconnecting: when the next attempt starts
	LastError    string    // why the connection was last lost (key masked)
}

// State is where a Publisher is in its life.
type State int32

const (
	StateIdle State = iota
	StateConnecting
	StateLive
	StateStopping
	StateStopped
	StateFailed
	StateReconnecting
)

func (s State) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateConnecting:
		return "connecting"
	case StateLive:
		return "live"
	case StateStopping:
		return "stopping"
	case StateStopped:
		return "stopped"
	case StateFailed:
		return "error"
	case StateReconnecting:
		return "reconnecting"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// Publisher sends one stream to one destination. Write never blocks, so a slow
// destination never stalls the encoder or other destinations: each Publisher has
// its own queue, drained by its own goroutine, and drops by policy when the
// queue grows past DropThreshold.
type Publisher struct {
	cfg PublisherConfig

	mu      sync.Mutex
	q       []Packet // q[head:] are waiting to be sent
	head    int
	headers [3]*Packet    // latest video header, audio header, metadata: resent on connect
	waitKey bool          // video is dropped until the next keyframe
	lastDTS [3]int64      // per type, to keep timestamps monotonic
	wake    chan struct{} // the sender has work
	space   chan struct{} // the sender made room, for WriteWait
	ended   chan struct{} // closed when Run returns
	endOnce sync.Once

	state        atomic.Int32
	conn         atomic.Pointer[ClientConn]
	videoSent    atomic.Uint64
	audioSent    atomic.Uint64
	droppedVideo atomic.Uint64
	droppedAudio atomic.Uint64
	bitrate      atomic.Uint64 // bits/s, as float64 bits
	bytesBase    atomic.Uint64 // bytes of earlier connections
	reconnects   atomic.Uint64
	blockedBytes atomic.Uint64
	blockedNanos atomic.Int64

	retryMu   sync.Mutex // guards the three below
	attempt   int
	nextRetry time.Time
	lastErr   string
}

// NewPublisher returns an idle Publisher; Run connects it.
func NewPublisher(cfg PublisherConfig) *Publisher {
	if cfg.DropThreshold <= 0 {
		cfg.DropThreshold = 700 * time.Millisecond
	}
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = 10 * time.Second
	}
	if cfg.MaxQueue < cfg.DropThreshold {
		cfg.MaxQueue = cfg.DropThreshold
	}
	cfg.Options = cfg.Options.withDefaults()
	cfg.Reconnect = cfg.Reconnect.withDefaults()
	return &Publisher{cfg: cfg, wake: make(chan struct{}, 1), space: make(chan struct{}, 1), ended: make(chan struct{}), lastDTS: [3]int64{-1 << 62, -1 << 62, -1 << 62}}
}

func typeSlot(t uint8) int {
	switch t {
	case TypeVideo:
		return 0
	case TypeAudio:
		return 1
	}
	return 2
}

// Write queues a packet. It never blocks: under congestion it drops video by
// policy and counts what it dropped.
func (p *Publisher) Write(pkt Packet) {
	p.mu.Lock()
	p.enqueue(pkt)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// WriteWait queues a packet, first waiting while the queue is over half the drop
// threshold. It is for sources that are not live (files sent as fast as the link
// allows, benchmarks), where waiting is better than dropping.
func (p *Publisher) WriteWait(ctx context.Context, pkt Packet) error {
	for {
		p.mu.Lock()
		full := p.durationLocked() > p.cfg.DropThreshold/2
		p.mu.Unlock()
		if !full {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.ended:
			return errors.New("rtmp publisher is not running")
		case <-p.space:
		}
	}
	p.Write(pkt)
	return nil
}

func (p *Publisher) enqueue(pkt Packet) {
	slot := typeSlot(pkt.Type)
	if pkt.Header {
		h := pkt
		p.headers[slot] = &h
	}
	// Timestamps must not go backwards within a type: servers reject or stall on it.
	if pkt.DTS < p.lastDTS[slot] {
		pkt.DTS = p.lastDTS[slot]
	}
	p.lastDTS[slot] = pkt.DTS

	if pkt.Type == TypeVideo && !pkt.Header {
		if pkt.Keyframe {
			p.waitKey = false
		} else if p.waitKey {
			p.droppedVideo.Add(1)
			return
		}
	}
	p.q = append(p.q, pkt)
	if p.durationLocked() > p.cfg.DropThreshold {
		p.dropForCongestion()
	}
	for p.durationLocked() > p.cfg.MaxQueue && len(p.q)-p.head > 1 {
		p.dropOldest()
	}
}

// durationLocked is the span of DTS waiting in the queue.
func (p *Publisher) durationLocked() time.Duration {
	if len(p.q)-p.head < 2 {
		return 0
	}
	first := p.q[p.head].DTS
	last := first
	for _, slot := range p.lastDTS {
		last = max(last, slot)
	}
	return time.Duration(last-first) * time.Millisecond
}

// dropForCongestion removes video the decoder can do without: disposable frames
// first; if that is not enough, every queued non-keyframe, and then every frame
// until the next keyframe, so no frame ever arrives without its reference.
func (p *Publisher) dropForCongestion() {
	if p.removeVideo(func(pk *Packet) bool { return pk.Disposable }) > 0 &&
		p.durationLocked() <= p.cfg.DropThreshold {
		return
	}
	if p.removeVideo(func(pk *Packet) bool { return !pk.Keyframe }) > 0 {
		p.waitKey = true
	}
	// Still over: keep only the newest keyframe, whose GOP is the one worth sending.
	if p.durationLocked() > p.cfg.DropThreshold {
		newest := -1
		for i := len(p.q) - 1; i >= p.head; i-- {
			if pk := &p.q[i]; pk.Type == TypeVideo && pk.Keyframe && !pk.Header {
				newest = i
				break
			}
		}
		for i := p.head; i < newest; i++ {
			if pk := &p.q[i]; pk.Type == TypeVideo && !pk.Header {
				pk.Payload = nil // marked; compacted below
			}
		}
		p.compact()
	}
}

// removeVideo drops queued video frames (never headers) matching pred.
func (p *Publisher) removeVideo(pred func(*Packet) bool) int {
	n := 0
	for i := p.head; i < len(p.q); i++ {
		if pk := &p.q[i]; pk.Type == TypeVideo && !pk.Header && pred(pk) {
			pk.Payload = nil
			n++
		}
	}
	if n > 0 {
		p.compact()
	}
	return n
}

// compact removes packets marked with a nil payload, counting them as dropped.
func (p *Publisher) compact() {
	w := p.head
	for i := p.head; i < len(p.q); i++ {
		if p.q[i].Payload == nil {
			p.countDrop(p.q[i].Type)
			continue
		}
		p.q[w] = p.q[i]
		w++
	}
	clear(p.q[w:])
	p.q = p.q[:w]
}

func (p *Publisher) countDrop(t uint8) {
	if t == TypeVideo {
		p.droppedVideo.Add(1)
	} else {
		p.droppedAudio.Add(1)
	}
}

// dropOldest drops the head of the queue, whatever it is: the hard limit.
func (p *Publisher) dropOldest() {
	pk := p.q[p.head]
	p.q[p.head] = Packet{}
	p.head++
	if pk.Header {
		return // headers are kept in p.headers and resent anyway
	}
	p.countDrop(pk.Type)
	if pk.Type == TypeVideo {
		p.waitKey = true
	}
}

// pop moves up to len(batch) packets out of the queue.
func (p *Publisher) pop(batch []Packet) []Packet {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := copy(batch[:cap(batch)], p.q[p.head:])
	clear(p.q[p.head : p.head+n])
	p.head += n
	if p.head == len(p.q) {
		p.q, p.head = p.q[:0], 0
	} else if p.head > 1024 && p.head > len(p.q)/2 {
		m := copy(p.q, p.q[p.head:])
		clear(p.q[m:])
		p.q, p.head = p.q[:m], 0
	}
	if n > 0 {
		select {
		case p.space <- struct{}{}:
		default:
		}
	}
	return batch[:n]
}

// Stats returns a snapshot of the counters. It is cheap and safe at any time.
func (p *Publisher) Stats() PublisherStats {
	s := PublisherStats{
		State:           State(p.state.Load()),
		VideoFramesSent: p.videoSent.Load(),
		AudioFramesSent: p.audioSent.Load(),
		DroppedVideo:    p.droppedVideo.Load(),
		DroppedAudio:    p.droppedAudio.Load(),
		Bitrate:         math.Float64frombits(p.bitrate.Load()),
		BytesSent:       p.bytesBase.Load(),
		Reconnects:      p.reconnects.Load(),
		BlockedBytes:    p.blockedBytes.Load(),
		BlockedTime:     time.Duration(p.blockedNanos.Load()),
	}
	p.retryMu.Lock()
	s.Attempt, s.NextRetry, s.LastError = p.attempt, p.nextRetry, p.lastErr
	p.retryMu.Unlock()
	if c := p.conn.Load(); c != nil {
		out := c.t.bytesOut.Load()
		s.BytesSent += out
		s.AcksReceived = c.t.acksIn.Load()
		s.RTT = time.Duration(c.t.rtt.Load())
		if acked := c.t.peerAcked.Load(); acked > 0 && out > acked {
			s.Unacked = out - acked
		}
	}
	p.mu.Lock()
	s.QueueDuration = p.durationLocked()
	s.QueuePackets = len(p.q) - p.head
	p.mu.Unlock()
	return s
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

// resume prepares the queue for a new connection: what piled up during the
// outage is stale, so video restarts at the newest queued keyframe (or waits
// for the next one, which OnReconnect asks for), and audio from the same time.
func (p *Publisher) resume() {
	p.reconnects.Add(1)
	p.mu.Lock()
	key := -1
	for i := len(p.q) - 1; i >= p.head; i-- {
		if pk := &p.q[i]; pk.Type == TypeVideo && pk.Keyframe && !pk.Header {
			key = i
			break
		}
	}
	from := int64(math.MaxInt64)
	if key >= 0 {
		from = p.q[key].DTS
	}
	for i := p.head; i < len(p.q); i++ {
		if pk := &p.q[i]; !pk.Header && pk.Type != TypeDataAMF0 && pk.DTS < from && i != key {
			pk.Payload = nil
		}
	}
	p.compact()
	if key < 0 {
		p.waitKey = true
	}
	p.mu.Unlock()
	if p.cfg.OnReconnect != nil {
		p.cfg.OnReconnect()
	}
}

// connect dials and runs the publish sequence the way the big encoders do, so
// that every ingest recognises it: releaseStream, FCPublish, createStream, publish.
func (p *Publisher) connect(ctx context.Context) (*ClientConn, uint32, error) {
	ep := p.cfg.Endpoint
	c, err := Dial(ctx, ep, p.cfg.Options)
	if err != nil {
		return nil, 0, err
	}
	key := ep.Key.Reveal()
	fail := func(err error) (*ClientConn, uint32, error) {
		c.Close()
		return nil, 0, err
	}
	// Answers to these two vary by server (_result, _error, or none): send only.
	if err := c.sendCommand(0, "releaseStream", c.txn(), nil, key); err != nil {
		return fail(fmt.Errorf("rtmp releaseStream: %w", err))
	}
	if err := c.sendCommand(0, "FCPublish", c.txn(), nil, key); err != nil {
		return fail(fmt.Errorf("rtmp FCPublish: %w", err))
	}
	streamID, err := c.createStream(ctx)
	if err != nil {
		return fail(err)
	}
	if err := c.sendCommand(streamID, "publish", 0, nil, key, "live"); err != nil {
		return fail(fmt.Errorf("rtmp publish: %w", err))
	}
	if _, err := c.waitStatus(ctx, "publish", "NetStream.Publish.Start"); err != nil {
		return fail(err)
	}
	return c, streamID, nil
}

func (c *ClientConn) txn() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.nextTxn
	c.nextTxn++
	return t
}

// send drains the queue onto the connection until ctx ends or the link fails.
// It says whether the connection became established (see ReconnectPolicy).
func (p *Publisher) send(ctx context.Context, c *ClientConn, streamID uint32) (established bool, err error) {
	est := establishment{since: time.Now(), hold: p.cfg.Reconnect.EstablishedAfter}
	defer func() {
		established = est.check(c.t, time.Now())
		p.bytesBase.Add(c.t.bytesOut.Load())
		p.conn.Store(nil)
	}()
	if err := p.sendPreamble(c, streamID); err != nil {
		c.Close()
		return false, err
	}
	est.preamble = c.t.bytesOut.Load()
	// A stop cuts short a write stuck on a dead link instead of waiting it out.
	defer context.AfterFunc(ctx, c.t.beginStop)()
	batch := make([]Packet, 0, 64)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	lastBytes, lastTick := c.t.bytesOut.Load(), time.Now()
	pings := 0
	for {
		// backlog is when the last write ended while more was queued behind
		// it: from then on the link, not the encoder, set the pace.
		var backlog time.Time
		for {
			batch = p.pop(batch)
			if len(batch) == 0 {
				break
			}
			err := p.sendBatch(c, streamID, batch, backlog)
			backlog = time.Now()
			if err != nil {
				if ctx.Err() == nil {
					c.t.abandon()
				}
				c.Close()
				if ctx.Err() != nil {
					p.state.Store(int32(StateStopping))
					return false, nil // a stop cut the write short: that is a clean stop
				}
				return false, fmt.Errorf("rtmp send to %s: %w", p.cfg.Endpoint.Address(), err)
			}
		}
		select {
		case <-p.wake:
		case now := <-tick.C:
			est.check(c.t, now)
			out := c.t.bytesOut.Load()
			bps := float64(out-lastBytes) * 8 / now.Sub(lastTick).Seconds()
			p.bitrate.Store(math.Float64bits(bps))
			lastBytes, lastTick = out, now
			if pings++; pings%10 == 1 { // every 5s: cheap, and enough to follow the RTT
				_ = c.t.ping()
			}
		case <-c.Done():
			return false, fmt.Errorf("rtmp connection to %s lost: %w", p.cfg.Endpoint.Address(), c.Err())
		case <-ctx.Done():
			p.state.Store(int32(StateStopping))
			return false, p.stop(c, streamID, batch)
		}
	}
}

func (p *Publisher) sendPreamble(c *ClientConn, streamID uint32) error {
	if p.cfg.Metadata != nil {
		b, err := AppendAMF0(nil, "@setDataFrame", "onMetaData", p.cfg.Metadata)
		if err != nil {
			return fmt.Errorf("rtmp metadata: %w", err)
		}
		if err := c.t.send(csidData, &Message{Type: TypeDataAMF0, StreamID: streamID, Payload: b}); err != nil {
			return fmt.Errorf("rtmp metadata: %w", err)
		}
	}
	// Headers written before the connection was up are in the queue too; sending
	// them twice is harmless, and on a reconnect the queue no longer holds them.
	p.mu.Lock()
	hdrs := make([]Packet, 0, 2)
	for _, h := range p.headers[:2] {
		if h != nil {
			hdrs = append(hdrs, *h)
		}
	}
	p.mu.Unlock()
	return p.sendBatch(c, streamID, hdrs, time.Time{})
}

// sendBatch writes batch. backlog, when set, is when the previous write ended
// with this batch already waiting (see linkTime).
func (p *Publisher) sendBatch(c *ClientConn, streamID uint32, batch []Packet, backlog time.Time) error {
	var video, audio uint64
	start, before := time.Now(), c.t.bytesOut.Load()
	defer func() {
		if d, ok := linkTime(start, time.Now(), backlog); ok {
			p.blockedBytes.Add(c.t.bytesOut.Load() - before)
			p.blockedNanos.Add(int64(d))
		}
	}()
	err := c.t.write(func(cw *chunkWriter) error {
		for i := range batch {
			pk := &batch[i]
			csid := uint32(csidData)
			switch pk.Type {
			case TypeVideo:
				csid = csidVideo
				if !pk.Header {
					video++
				}
			case TypeAudio:
				csid = csidAudio
				if !pk.Header {
					audio++
				}
			}
			m := Message{Type: pk.Type, StreamID: streamID, Timestamp: uint32(pk.DTS), Payload: pk.Payload}
			if err := cw.writeMessage(csid, &m); err != nil {
				return err
			}
		}
		return nil
	})
	clear(batch) // let payloads go once sent
	if err == nil {
		p.videoSent.Add(video)
		p.audioSent.Add(audio)
	}
	return err
}

// linkTime says how long the link took over a write from start to end, when
// the link was the limit. A write that had to wait went as fast as the link
// took it; one that did not only says the link was fast enough. Within a
// backlog the link was busy from the previous write's end, and the whole gap
// is counted: a write that waits for buffer space the one before left short
// (the kernel wakes writers in bursts) would otherwise be charged link time
// for bytes it was not counted for, and the link would measure 10-15 % slow.
func linkTime(start, end, backlog time.Time) (time.Duration, bool) {
	if !backlog.IsZero() {
		return end.Sub(backlog), true
	}
	d := end.Sub(start)
	return d, d > 2*time.Millisecond
}

// stop sends what is still queued (bounded by the write timeout), then unpublishes.
func (p *Publisher) stop(c *ClientConn, streamID uint32, batch []Packet) error {
	defer c.Close()
	for {
		batch = p.pop(batch)
		if len(batch) == 0 {
			break
		}
		if err := p.sendBatch(c, streamID, batch, time.Time{}); err != nil {
			return nil // stopping anyway; the server will see the close
		}
	}
	key := p.cfg.Endpoint.Key.Reveal()
	_ = c.sendCommand(0, "FCUnpublish", c.txn(), nil, key)
	_ = c.sendCommand(0, "deleteStream", c.txn(), nil, float64(streamID))
	return nil
}
