package rtmpclient

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// transport is one RTMP connection after the handshake: the chunk stream in both
// directions plus the protocol control messages every peer must answer. Client
// and server sessions are built on it.
type transport struct {
	nc net.Conn
	br *bufio.Reader
	cr *chunkReader

	wmu          sync.Mutex // guards bw, cw and the write deadline
	bw           *bufio.Writer
	cw           *chunkWriter
	writeTimeout time.Duration
	stopping     atomic.Bool // writes get only stopGrace once a stop has begun

	// Read side, touched only by the goroutine that reads.
	ackWindow   uint32 // the peer wants an Acknowledgement every ackWindow bytes
	lastAckSent uint64

	start      time.Time
	bytesIn    atomic.Uint64
	bytesOut   atomic.Uint64
	peerAcked  atomic.Uint64 // bytes the peer says it has received (unwrapped)
	acksIn     atomic.Uint64
	rtt        atomic.Int64  // nanoseconds, from our pings the peer answered
	pingSeq    atomic.Uint32 // the payload of our outstanding ping
	pingSent   atomic.Int64  // when it was sent, nanoseconds since start
	peerWindow atomic.Uint32
}

// countingConn counts bytes on the raw connection, which is what the protocol's
// acknowledgements count.
type countingReader struct {
	r io.Reader
	n *atomic.Uint64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(uint64(n))
	return n, err
}

type countingWriter struct {
	w io.Writer
	n *atomic.Uint64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(uint64(n))
	return n, err
}

const ioBufferSize = 64 << 10

// stopGrace bounds the writes of a clean stop (the last queued media, then
// FCUnpublish and deleteStream), so stopping never waits on a dead link.
const stopGrace = 2 * time.Second

// beginStop cuts any write in progress, and every later one, to stopGrace.
func (t *transport) beginStop() {
	t.stopping.Store(true)
	_ = t.nc.SetWriteDeadline(time.Now().Add(stopGrace))
}

func newTransport(nc net.Conn, limits readLimits) *transport {
	t := &transport{nc: nc, start: time.Now(), writeTimeout: 10 * time.Second}
	t.br = bufio.NewReaderSize(countingReader{nc, &t.bytesIn}, ioBufferSize)
	t.bw = bufio.NewWriterSize(countingWriter{nc, &t.bytesOut}, ioBufferSize)
	t.cr = newChunkReader(t.br, limits)
	t.cw = newChunkWriter(t.bw)
	return t
}

// write sends messages and flushes them as one batch, so a burst becomes as few
// syscalls as the buffer allows. A peer that stops reading makes it fail after the
// write timeout rather than block forever.
func (t *transport) write(fn func(cw *chunkWriter) error) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	switch {
	case t.stopping.Load():
		_ = t.nc.SetWriteDeadline(time.Now().Add(stopGrace))
	case t.writeTimeout > 0:
		_ = t.nc.SetWriteDeadline(time.Now().Add(t.writeTimeout))
	}
	if err := fn(t.cw); err != nil {
		return err
	}
	return t.bw.Flush()
}

func (t *transport) send(csid uint32, m *Message) error {
	return t.write(func(cw *chunkWriter) error { return cw.writeMessage(csid, m) })
}

// setChunkSize tells the peer our chunk size and starts using it.
func (t *transport) setChunkSize(n uint32) error {
	return t.write(func(cw *chunkWriter) error {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], n)
		if err := cw.writeMessage(csidControl, &Message{Type: TypeSetChunkSize, Payload: b[:]}); err != nil {
			return err
		}
		cw.size = n
		return nil
	})
}

func (t *transport) sendControl(typ uint8, payload []byte) error {
	return t.send(csidControl, &Message{Type: typ, Payload: payload})
}

func (t *transport) sendUserControl(event uint16, data uint32) error {
	var b [6]byte
	binary.BigEndian.PutUint16(b[:], event)
	binary.BigEndian.PutUint32(b[2:], data)
	return t.sendControl(TypeUserControl, b[:])
}

func (t *transport) sendWindowAckSize(n uint32) error {
	return t.sendControl(TypeWindowAckSize, binary.BigEndian.AppendUint32(nil, n))
}

// ping sends a Ping Request whose answer measures the round-trip time. Servers
// echo the payload untouched, so it is a sequence number and the send time
// stays here, at full resolution.
func (t *transport) ping() error {
	seq := t.pingSeq.Add(1)
	t.pingSent.Store(int64(time.Since(t.start)))
	return t.sendUserControl(eventPingRequest, seq)
}

// readMessage returns the next message that is not protocol control. Control
// messages are handled here: chunk size and abort, acknowledgements both ways,
// and pings. User Control events other than pings come back as messages of type
// TypeUserControl.
func (t *transport) readMessage() (Message, error) {
	for {
		m, err := t.cr.readMessage()
		if err != nil {
			return m, err
		}
		if t.ackWindow > 0 {
			if in := t.bytesIn.Load(); in-t.lastAckSent >= uint64(t.ackWindow) {
				t.lastAckSent = in
				// The sequence number is the byte count so far, wrapping at 2^32.
				if err := t.sendControl(TypeAck, binary.BigEndian.AppendUint32(nil, uint32(in))); err != nil {
					return Message{}, err
				}
			}
		}
		switch m.Type {
		case TypeSetChunkSize:
			if len(m.Payload) < 4 {
				return Message{}, protoErr("Set Chunk Size of %d bytes", len(m.Payload))
			}
			if err := t.cr.setChunkSize(binary.BigEndian.Uint32(m.Payload) & maxChunkSize); err != nil {
				return Message{}, err
			}
		case TypeAbort:
			if len(m.Payload) < 4 {
				return Message{}, protoErr("Abort of %d bytes", len(m.Payload))
			}
			t.cr.abort(binary.BigEndian.Uint32(m.Payload))
		case TypeAck:
			if len(m.Payload) < 4 {
				return Message{}, protoErr("Acknowledgement of %d bytes", len(m.Payload))
			}
			t.acksIn.Add(1)
			t.peerAcked.Store(unwrap32(t.bytesOut.Load(), binary.BigEndian.Uint32(m.Payload)))
		case TypeWindowAckSize:
			if len(m.Payload) < 4 {
				return Message{}, protoErr("Window Acknowledgement Size of %d bytes", len(m.Payload))
			}
			t.ackWindow = binary.BigEndian.Uint32(m.Payload)
		case TypeSetPeerBandwidth:
			if len(m.Payload) < 5 {
				return Message{}, protoErr("Set Peer Bandwidth of %d bytes", len(m.Payload))
			}
			t.peerWindow.Store(binary.BigEndian.Uint32(m.Payload))
		case TypeUserControl:
			if len(m.Payload) < 2 {
				return Message{}, protoErr("User Control message of %d bytes", len(m.Payload))
			}
			event := binary.BigEndian.Uint16(m.Payload)
			var data uint32
			if len(m.Payload) >= 6 {
				data = binary.BigEndian.Uint32(m.Payload[2:])
			}
			switch event {
			case eventPingRequest:
				if err := t.sendUserControl(eventPingResponse, data); err != nil {
					return Message{}, err
				}
			case eventPingResponse:
				if data == t.pingSeq.Load() { // ignore stale answers and pings we never sent
					t.rtt.Store(max(int64(time.Since(t.start))-t.pingSent.Load(), 1))
				}
			default:
				return m, nil
			}
		default:
			return m, nil
		}
	}
}

// unwrap32 turns a 32-bit byte count from the peer into a 64-bit one, given our
// own 64-bit count of bytes sent, which is never behind it.
func unwrap32(sent uint64, seq uint32) uint64 {
	v := sent&^0xffffffff | uint64(seq)
	if v > sent && v >= 1<<32 {
		v -= 1 << 32
	}
	return v
}

func (t *transport) close() error { return t.nc.Close() }

// abandon makes the next close reset the connection rather than finish it:
// after a failed write the server is stuck or gone, and a reset tells it (and
// anything in between) at once, where an orderly close would queue behind the
// data it is not reading. nginx-rtmp, for one, holds the stream name until
// the old connection ends, refusing the reconnect meanwhile.
func (t *transport) abandon() {
	nc := t.nc
	if wc, ok := nc.(interface{ NetConn() net.Conn }); ok { // TLS, or RTMPE's RC4
		nc = wc.NetConn()
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
}
