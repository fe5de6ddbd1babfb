package rtmpclient

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tallystudio/tally/rtmpclient/amf"
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
	// Track is the video track of an Enhanced RTMP multitrack stream (0 for
	// any other): each track's header is kept and resent on its own.
	Track uint8
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
	Metadata amf.ECMAArray
	// Reconnect says what to do when a live connection fails.
	Reconnect ReconnectPolicy
	// OnReconnect, when set, is called each time publishing resumes after an
	// outage: the place to ask the encoder for a keyframe, since video resumes
	// only at one.
	OnReconnect func()
	// Conn, when set, is a connection Dial made to Endpoint, such as the one
	// that asked the server what it takes (ServerCaps) before the encoders
	// were chosen. Run's first attempt publishes on it instead of dialling,
	// as OBS does, so a server that takes a single connection (FFmpeg's
	// listener) still gets the stream. Run owns it from its start and closes
	// it; the caller closes it if Run never runs. If it has died meanwhile,
	// Run dials afresh.
	Conn *ClientConn
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
	headers [3]*Packet // latest video header, audio header, metadata: resent on connect
	// trackHeaders are the latest headers of video tracks 1 and up (index
	// track-1) of a multitrack stream, resent on connect after track 0's.
	trackHeaders []*Packet
	// waitKey drops a video track's frames until its next keyframe, by
	// track: the tracks of a multitrack stream have keyframes of their own.
	waitKey [256]bool
	lastDTS [3]int64      // per type, to keep timestamps monotonic
	wake    chan struct{} // the sender has work
	space   chan struct{} // the sender made room, for WriteWait
	ended   chan struct{} // closed when Run returns
	endOnce sync.Once

	state        atomic.Int32
	conn         atomic.Pointer[ClientConn]
	caps         atomic.Pointer[ServerCaps] // from the latest connection that connected
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

func (p *Publisher) connect(ctx context.Context) (*ClientConn, uint32, error) {
	if c := p.cfg.Conn; c != nil {
		p.cfg.Conn = nil
		if err := ctx.Err(); err != nil {
			c.Close()
			return nil, 0, err
		}
		c, streamID, err := p.publishOn(ctx, c)
		var se *StatusError
		if err == nil || errors.As(err, &se) || ctx.Err() != nil {
			return c, streamID, err // the server answered, or the stop came
		}
		p.cfg.Options.Logger.Info("rtmp: the connection kept from asking the server is gone; dialling again",
			"server", p.cfg.Endpoint.String(), "err", err)
	}
	c, err := Dial(ctx, p.cfg.Endpoint, p.cfg.Options)
	if err != nil {
		return nil, 0, err
	}
	return p.publishOn(ctx, c)
}

// publishOn publishes the stream on c, a connection the server has
// answered connect on; it closes c if that fails.
func (p *Publisher) publishOn(ctx context.Context, c *ClientConn) (*ClientConn, uint32, error) {
	ep := p.cfg.Endpoint
	caps := c.ServerCaps()
	p.caps.Store(&caps)
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
		b, err := amf.AppendAMF0(nil, "@setDataFrame", "onMetaData", p.cfg.Metadata)
		if err != nil {
			return fmt.Errorf("rtmp metadata: %w", err)
		}
		if err := c.t.send(csidData, &Message{Type: TypeDataAMF0, StreamID: streamID, Payload: b}); err != nil {
			return fmt.Errorf("rtmp metadata: %w", err)
		}
	}
	// Headers written before the connection was up are still in the queue,
	// and go out from there; the kept ones are for a reconnect, whose queue
	// no longer holds them. Sending one twice is not harmless: gortmplib
	// (and so MediaMTX) refuses a second Enhanced RTMP SequenceStart.
	p.mu.Lock()
	hdrs := make([]Packet, 0, 2)
	for _, h := range append(p.headers[:2:2], p.trackHeaders...) {
		if h != nil && !p.queuedHeaderLocked(h) {
			hdrs = append(hdrs, *h)
		}
	}
	p.mu.Unlock()
	return p.sendBatch(c, streamID, hdrs, time.Time{})
}

// queuedHeaderLocked tells whether the queue holds a header for h's track.
func (p *Publisher) queuedHeaderLocked(h *Packet) bool {
	for i := p.head; i < len(p.q); i++ {
		if pk := &p.q[i]; pk.Header && pk.Type == h.Type && pk.Track == h.Track {
			return true
		}
	}
	return false
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
