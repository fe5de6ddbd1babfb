package rtmpclient

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

const (
	defaultChunkSize = 128        // until a Set Chunk Size says otherwise
	maxChunkSize     = 0x7fffffff // the top bit of Set Chunk Size must be 0
	maxCSID          = 65599      // largest chunk stream ID a 3-byte basic header holds
	extendedTS       = 0xffffff   // the 3-byte timestamp value that means "read 4 more"

	readStep = 64 << 10 // bytes read into a message at a time

	// Tally's own outgoing chunk size: large chunks mean fewer headers and syscalls,
	// and every server accepts up to at least 64 KiB.
	sendChunkSize = 4096
)

// chunkWriter splits messages into chunks, compressing headers against the last
// message sent on the same chunk stream. It allocates nothing per message.
type chunkWriter struct {
	w     *bufio.Writer
	size  uint32
	last  [csidVideo + 1]outHeader // Tally only sends on the low chunk stream IDs
	extra map[uint32]*outHeader    // other IDs, used by tests and the server side
	hdr   [3 + 11 + 4]byte
}

type outHeader struct {
	used     bool
	hasDelta bool // the last header carried a delta a type-3 header may repeat
	ext      bool // the last header used an extended timestamp
	streamID uint32
	length   uint32
	typ      uint8
	ts       uint32
	delta    uint32
}

func newChunkWriter(w *bufio.Writer) *chunkWriter {
	return &chunkWriter{w: w, size: defaultChunkSize}
}

func (cw *chunkWriter) state(csid uint32) *outHeader {
	if csid < uint32(len(cw.last)) {
		return &cw.last[csid]
	}
	if cw.extra == nil {
		cw.extra = make(map[uint32]*outHeader)
	}
	h := cw.extra[csid]
	if h == nil {
		h = &outHeader{}
		cw.extra[csid] = h
	}
	return h
}

// appendBasicHeader encodes the chunk basic header: 1, 2 or 3 bytes by csid.
func appendBasicHeader(b []byte, fmtType byte, csid uint32) []byte {
	switch {
	case csid < 64:
		return append(b, fmtType<<6|byte(csid))
	case csid < 320:
		return append(b, fmtType<<6, byte(csid-64))
	default:
		return append(b, fmtType<<6|1, byte(csid-64), byte((csid-64)>>8))
	}
}

func appendUint24(b []byte, v uint32) []byte {
	return append(b, byte(v>>16), byte(v>>8), byte(v))
}

// writeMessage sends m on chunk stream csid. It does not flush.
func (cw *chunkWriter) writeMessage(csid uint32, m *Message) error {
	if csid < 2 || csid > maxCSID {
		return fmt.Errorf("rtmp chunk: chunk stream id %d out of range 2..%d", csid, maxCSID)
	}
	length := uint32(len(m.Payload))
	if length > 0xffffff {
		return fmt.Errorf("rtmp chunk: %s message of %d bytes exceeds the 16 MiB limit", typeName(m.Type), length)
	}
	prev := cw.state(csid)

	// Choose the smallest header the previous one allows. A timestamp going
	// backwards (signed difference, so a 2^32 wrap still counts as forwards) gets a
	// full header, since deltas are unsigned.
	var fmtType byte
	delta := m.Timestamp - prev.ts
	switch {
	case !prev.used || prev.streamID != m.StreamID || int32(delta) < 0:
		fmtType = 0
	case prev.typ != m.Type || prev.length != length:
		fmtType = 1
	case !prev.hasDelta || prev.delta != delta:
		fmtType = 2
	default:
		fmtType = 3
	}

	tsField := delta
	if fmtType == 0 {
		tsField = m.Timestamp
	}
	ext := tsField >= extendedTS
	if fmtType == 3 {
		ext = prev.ext
	}

	h := appendBasicHeader(cw.hdr[:0], fmtType, csid)
	if fmtType <= 2 {
		h = appendUint24(h, min(tsField, extendedTS))
	}
	if fmtType <= 1 {
		h = appendUint24(h, length)
		h = append(h, m.Type)
	}
	if fmtType == 0 {
		h = binary.LittleEndian.AppendUint32(h, m.StreamID) // the one little-endian field
	}
	if ext {
		h = binary.BigEndian.AppendUint32(h, tsField)
	}
	*prev = outHeader{used: true, hasDelta: fmtType != 0, ext: ext, streamID: m.StreamID,
		length: length, typ: m.Type, ts: m.Timestamp, delta: delta}

	// The first chunk carries the header; each continuation a type-3 basic header,
	// repeating the extended timestamp as the spec (and nginx, FFmpeg) expect.
	p := m.Payload
	for {
		if _, err := cw.w.Write(h); err != nil {
			return err
		}
		n := min(uint32(len(p)), cw.size)
		if _, err := cw.w.Write(p[:n]); err != nil {
			return err
		}
		p = p[n:]
		if len(p) == 0 {
			return nil
		}
		h = appendBasicHeader(cw.hdr[:0], 3, csid)
		if ext {
			h = binary.BigEndian.AppendUint32(h, tsField)
		}
	}
}

// Limits on what a peer may make the reader hold.
type readLimits struct {
	maxMessage uint32 // largest message accepted, bytes
	maxStreams int    // distinct chunk stream IDs in use at once
}

var defaultReadLimits = readLimits{maxMessage: 8 << 20, maxStreams: 64}

// chunkReader reassembles messages from chunks. Partial messages grow only as
// their bytes arrive, so a header claiming 16 MiB costs nothing until it is sent.
type chunkReader struct {
	r       *bufio.Reader
	size    uint32
	limits  readLimits
	streams map[uint32]*inStream
	scratch [11]byte
}

type inStream struct {
	ts       uint32
	delta    uint32
	length   uint32
	typ      uint8
	streamID uint32
	ext      bool
	buf      []byte // the message being assembled
	started  bool   // buf holds part of a message
}

func newChunkReader(r *bufio.Reader, limits readLimits) *chunkReader {
	return &chunkReader{r: r, size: defaultChunkSize, limits: limits, streams: make(map[uint32]*inStream)}
}

// ErrProtocol wraps every violation of the chunk protocol by the peer.
var ErrProtocol = errors.New("rtmp protocol violation")

func protoErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrProtocol, fmt.Sprintf(format, args...))
}

// setChunkSize applies a peer's Set Chunk Size.
func (cr *chunkReader) setChunkSize(n uint32) error {
	if n == 0 || n > maxChunkSize {
		return protoErr("peer set chunk size %d, valid range is 1..%d", n, maxChunkSize)
	}
	cr.size = n
	return nil
}

// abort drops the partial message on csid (Abort message).
func (cr *chunkReader) abort(csid uint32) {
	if s := cr.streams[csid]; s != nil {
		s.buf, s.started = s.buf[:0], false
	}
}

func (cr *chunkReader) readFull(n int) ([]byte, error) {
	b := cr.scratch[:n]
	_, err := io.ReadFull(cr.r, b)
	return b, err
}

// readMessage reads chunks until one message is complete.
func (cr *chunkReader) readMessage() (Message, error) {
	for {
		m, done, err := cr.readChunk()
		if err != nil || done {
			return m, err
		}
	}
}

// readChunk reads one chunk and says whether it completed a message. It is
// long because it follows the chunk header's layout (basic header, message
// header of type 0-3, extended timestamp, payload) in the order of the wire,
// with every bound checked where the field is read.
func (cr *chunkReader) readChunk() (Message, bool, error) {
	b0, err := cr.r.ReadByte()
	if err != nil {
		return Message{}, false, err
	}
	fmtType := b0 >> 6
	csid := uint32(b0 & 0x3f)
	switch csid {
	case 0:
		b, err := cr.readFull(1)
		if err != nil {
			return Message{}, false, err
		}
		csid = 64 + uint32(b[0])
	case 1:
		b, err := cr.readFull(2)
		if err != nil {
			return Message{}, false, err
		}
		csid = 64 + uint32(b[0]) + uint32(b[1])<<8
	}

	s := cr.streams[csid]
	if s == nil {
		if fmtType != 0 {
			return Message{}, false, protoErr("chunk stream %d starts with a type-%d header", csid, fmtType)
		}
		if len(cr.streams) >= cr.limits.maxStreams {
			return Message{}, false, protoErr("peer opened more than %d chunk streams", cr.limits.maxStreams)
		}
		s = &inStream{}
		cr.streams[csid] = s
	}

	var tsField uint32
	if fmtType <= 2 {
		n := [3]int{11, 7, 3}[fmtType]
		h, err := cr.readFull(n)
		if err != nil {
			return Message{}, false, err
		}
		tsField = uint32(h[0])<<16 | uint32(h[1])<<8 | uint32(h[2])
		if fmtType <= 1 {
			s.length = uint32(h[3])<<16 | uint32(h[4])<<8 | uint32(h[5])
			s.typ = h[6]
		}
		if fmtType == 0 {
			s.streamID = binary.LittleEndian.Uint32(h[7:11])
		}
		s.ext = tsField == extendedTS
		if s.started && fmtType != 3 {
			return Message{}, false, protoErr("chunk stream %d: new type-%d header in the middle of a message", csid, fmtType)
		}
	}
	if s.ext {
		h, err := cr.readFull(4)
		if err != nil {
			return Message{}, false, err
		}
		if fmtType <= 2 {
			tsField = binary.BigEndian.Uint32(h)
		}
	}

	if !s.started {
		switch fmtType {
		case 0:
			s.ts, s.delta = tsField, 0
		case 1, 2:
			s.delta = tsField
			s.ts += tsField
		case 3:
			s.ts += s.delta
		}
		if err := cr.checkLength(s); err != nil {
			return Message{}, false, err
		}
		s.started = true
		s.buf = s.buf[:0]
	}

	// Read the chunk in bounded steps so the buffer grows with the bytes that
	// actually arrive, never with what a header or chunk size claims.
	for n := min(s.length-uint32(len(s.buf)), cr.size); n > 0; {
		step := min(n, readStep)
		start := len(s.buf)
		s.buf = append(s.buf, make([]byte, step)...)
		if _, err := io.ReadFull(cr.r, s.buf[start:]); err != nil {
			return Message{}, false, err
		}
		n -= step
	}
	if uint32(len(s.buf)) < s.length {
		return Message{}, false, nil
	}
	m := Message{Type: s.typ, StreamID: s.streamID, Timestamp: s.ts, Payload: s.buf}
	s.buf, s.started = nil, false // the caller owns the payload now
	return m, true, nil
}

func (cr *chunkReader) checkLength(s *inStream) error {
	if limit, ok := maxControlPayload(s.typ); ok && s.length > limit {
		return protoErr("%s message of %d bytes (at most %d expected)", typeName(s.typ), s.length, limit)
	}
	if s.length > cr.limits.maxMessage {
		return protoErr("%s message of %d bytes exceeds the %d-byte limit", typeName(s.typ), s.length, cr.limits.maxMessage)
	}
	return nil
}
