package rtmpclient

import (
	"cmp"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tallystudio/tally/rtmpclient/amf"
)

// StreamSink receives what a publisher sends to the Server.
type StreamSink interface {
	// WriteMessage receives audio, video and data messages (onMetaData without the
	// @setDataFrame wrapper) in arrival order. The sink owns m.Payload.
	WriteMessage(m Message) error
	// Close is called once, when the publisher stops or disconnects.
	Close() error
}

// PublishRequest describes a client asking to publish.
type PublishRequest struct {
	App        string
	Name       StreamKey // the stream name is the key: keep it masked
	RemoteAddr net.Addr
}

// Server is a small RTMP server: clients publish to it and, one at a time per
// stream, play from it. It exists for `tally ingest` and tests; it is not built
// to serve an audience.
type Server struct {
	// OnPublish accepts a publish by returning a sink, or refuses it with an error
	// (sent to the client as NetStream.Publish.BadName; ErrDropPublisher hangs up
	// instead).
	OnPublish func(PublishRequest) (StreamSink, error)
	// HandshakeTimeout bounds the handshake and the wait for each command. Default 10s.
	HandshakeTimeout time.Duration
	Logger           *slog.Logger
	// VideoFourCCs are the video codecs the server states it takes, to a
	// client whose connect advertises Enhanced RTMP. Nil states what the
	// server really takes: it relays and records any codec, so avc1, hvc1 and
	// av01 by name and "*" besides. Tests set fewer to make a client fall back.
	VideoFourCCs []string
	// OpenRecording, when set, lets players play recorded streams, with
	// seek, pause and play2: it opens the recording a play names in an
	// application (the name as the player sent it, "flv:" prefix and
	// "?query" removed). ErrNoRecording says there is none.
	OpenRecording func(app, name string) (Recording, error)

	mu      sync.Mutex
	ln      []net.Listener
	conns   map[net.Conn]struct{}
	streams map[string]*liveStream
	closed  bool
	wg      sync.WaitGroup
}

// liveStream is a stream being published, with what a late player needs first.
// Its entry in Server.streams belongs to the session that claimed the name.
type liveStream struct {
	mu      sync.Mutex
	started bool // OnPublish accepted it: players may join
	meta    *Message
	// video holds the newest sequence header of each video track: one per
	// multitrack track ID, and at defaultTrack the stream's own. A multitrack
	// message carrying several tracks' headers is kept once, under each of them.
	video   [defaultTrack + 1]*keptHeader
	audio   *Message // the audio sequence header
	arrived uint64   // counts headers kept, to replay them in their order
	viewer  *serverSession
}

// keptHeader is a sequence header and when it arrived among the others.
type keptHeader struct {
	m   *Message
	seq uint64
}

// defaultTrack is where the header of a stream without multitrack tracks is
// kept, past the 256 track IDs a multitrack message can name.
const defaultTrack = 256

// ErrDropPublisher, returned (or wrapped) by OnPublish, closes the connection
// without an answer: what nginx-rtmp does when its on_publish callback refuses,
// and Twitch on a key it does not know.
var ErrDropPublisher = errors.New("rtmp server: publisher dropped without an answer")

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("rtmp: server closed")

// Serve accepts connections on l until Close. Each connection gets a goroutine,
// which Close ends and waits for. For RTMPS, l is a tls.NewListener: each
// connection's TLS handshake is bounded by HandshakeTimeout as RTMP's is.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.ln = append(s.ln, l)
	if s.conns == nil {
		s.conns = make(map[net.Conn]struct{})
		s.streams = make(map[string]*liveStream)
	}
	s.mu.Unlock()
	for {
		nc, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("rtmp server accept: %w", err)
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return ErrServerClosed
		}
		s.conns[nc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.serveConn(nc)
			s.mu.Lock()
			delete(s.conns, nc)
			s.mu.Unlock()
		}()
	}
}

// Close stops accepting, closes every connection and waits for their goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for _, l := range s.ln {
		l.Close()
	}
	for c := range s.conns {
		// A TLS connection's own Close first sends close_notify, which can
		// wait seconds on a peer that does not read, here under s.mu.
		if tc, ok := c.(*tls.Conn); ok {
			tc.NetConn().Close()
		} else {
			c.Close()
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Server) timeout() time.Duration {
	if s.HandshakeTimeout > 0 {
		return s.HandshakeTimeout
	}
	return 10 * time.Second
}

// serverSession is one client connection.
type serverSession struct {
	s        *Server
	t        *transport
	log      *slog.Logger
	app      string
	sink     StreamSink
	pubKey   string      // the live stream this session publishes, if any
	pub      *liveStream // its entry, to remove only if it is still this one
	playKey  string      // the live stream this session plays, if any
	streamID uint32
	vod      *vodPlayer // the recording this session plays, if any
	filter   playFilter // what the player asked not to receive
	// bufferMs is the buffer the player asked for (Set Buffer Length): how
	// far ahead of real time a recording is sent.
	bufferMs  atomic.Uint32
	rtmpe     bool        // the session is RTMPE: the chunk size waits for a play
	chunked   bool        // our chunk size has been sent
	switching atomic.Bool // a play2 switch on a live stream waits for its keyframe
}

// setChunkSize raises the chunk size we send, once. Over RTMPE it waits for
// a play: FFmpeg's RTMPE publisher echoes a Set Chunk Size back through its
// cipher, which encrypts the message in place before it reads the size, and
// so fails on any. A publisher is only sent small commands, for which the
// default 128 bytes is no cost.
func (ss *serverSession) setChunkSize() error {
	if ss.chunked {
		return nil
	}
	ss.chunked = true
	return ss.t.setChunkSize(sendChunkSize)
}

// lead is how far ahead of real time a recording is sent: the player's
// buffer, at least a second.
func (ss *serverSession) lead() time.Duration {
	return min(max(time.Duration(ss.bufferMs.Load())*time.Millisecond, time.Second), maxLead)
}

func (s *Server) serveConn(nc net.Conn) {
	log := s.logger().With("client", nc.RemoteAddr().String())
	// One deadline bounds TLS and RTMP handshakes together: a client that
	// opens TCP and never finishes either holds this goroutine no longer.
	_ = nc.SetDeadline(time.Now().Add(s.timeout()))
	if tc, ok := nc.(*tls.Conn); ok {
		// Done here rather than on the first read, so that a failure is
		// logged as TLS's and not as a short RTMP handshake.
		if err := tc.Handshake(); err != nil {
			log.Debug("rtmps server: TLS handshake failed", "err", err)
			nc.Close()
			return
		}
		log = log.With("tls", tls.VersionName(tc.ConnectionState().Version))
	}
	// C0 selects plain RTMP or RTMPE; sc is RC4 over nc for RTMPE.
	sc, rtmpe, err := acceptSession(nc)
	if err != nil {
		log.Debug("rtmp server handshake failed", "err", err)
		nc.Close()
		return
	}
	if rtmpe {
		log = log.With("rtmpe", true)
	}
	_ = nc.SetDeadline(time.Time{})
	ss := &serverSession{s: s, t: newTransport(sc, defaultReadLimits), log: log, rtmpe: rtmpe}
	err = ss.run()
	ss.endPublish()
	nc.Close() // first: a recording's player may be blocked writing to it
	ss.endPlay()
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		log.Info("rtmp session ended", "err", err)
	}
}

// run serves the connection until it ends, and returns why (never nil).
func (ss *serverSession) run() error {
	for {
		m, err := ss.t.readMessage()
		if err != nil {
			return err
		}
		switch m.Type {
		case TypeCommandAMF0, TypeCommandAMF3:
			cmd, err := parseCommand(m)
			if err != nil {
				return err
			}
			if err := ss.command(cmd, m.StreamID); err != nil {
				return err
			}
		case TypeDataAMF0, TypeDataAMF3:
			if err := ss.data(m); err != nil {
				return err
			}
		case TypeUserControl:
			if len(m.Payload) >= 10 && binary.BigEndian.Uint16(m.Payload) == eventSetBufferLength {
				ss.bufferMs.Store(binary.BigEndian.Uint32(m.Payload[6:]))
			}
		case TypeAudio, TypeVideo:
			if ss.sink == nil {
				continue // media before publish: ignore, as servers do
			}
			ss.relay(m)
			if err := ss.sink.WriteMessage(m); err != nil {
				return err
			}
		}
	}
}

func (ss *serverSession) reply(streamID uint32, name string, txn float64, obj any, args ...any) error {
	b, err := appendCommand(nil, name, txn, obj, args...)
	if err != nil {
		return err
	}
	return ss.t.send(csidCommand, &Message{Type: TypeCommandAMF0, StreamID: streamID, Payload: b})
}

func status(level, code, desc string) amf.Object {
	return amf.Object{{Key: "level", Value: level}, {Key: "code", Value: code}, {Key: "description", Value: desc}}
}

func (ss *serverSession) command(c Command, streamID uint32) error {
	switch c.Name {
	case "connect":
		obj, _ := c.Object.(amf.Object)
		ss.app = obj.String("app")
		if err := ss.t.sendWindowAckSize(clientAckWindow); err != nil {
			return err
		}
		if err := ss.t.sendControl(TypeSetPeerBandwidth, []byte{0, 0x26, 0x25, 0xa0, 2}); err != nil {
			return err
		}
		if !ss.rtmpe {
			if err := ss.setChunkSize(); err != nil {
				return err
			}
		}
		props := amf.Object{{Key: "fmsVer", Value: "FMS/3,0,1,123"}, {Key: "capabilities", Value: 31.0}}
		if advertisesERTMP(c.Object) {
			props = append(props, ss.s.statedCaps()...)
		}
		return ss.reply(0, "_result", c.Transaction, props,
			append(status("status", "NetConnection.Connect.Success", "Connection succeeded."),
				amf.Property{Key: "objectEncoding", Value: 0.0}))
	case "createStream":
		ss.streamID = 1
		return ss.reply(0, "_result", c.Transaction, nil, float64(ss.streamID))
	case "releaseStream", "FCPublish", "FCUnpublish":
		if c.Transaction != 0 {
			return ss.reply(0, "_result", c.Transaction, nil, amf.Undefined{})
		}
	case "publish":
		name, _ := c.Arg(0).(string)
		return ss.publish(name, streamID)
	case "play":
		if err := ss.setChunkSize(); err != nil {
			return err
		}
		name, _ := c.Arg(0).(string)
		start, ok := c.Arg(1).(float64)
		if !ok {
			start = -2 // live if there is one, else recorded: the spec's default
		}
		length, _ := c.Arg(2).(float64)
		ss.endPlay()
		return ss.play(name, streamID, start, length)
	case "play2":
		if err := ss.setChunkSize(); err != nil {
			return err
		}
		return ss.play2(c, streamID)
	case "seek":
		ms, _ := c.Arg(0).(float64)
		return ss.seek(streamID, ms)
	case "pause", "pauseRaw", "pauseraw":
		on, _ := c.Arg(0).(bool)
		return ss.pause(streamID, on)
	case "receiveAudio", "receiveVideo":
		on, _ := c.Arg(0).(bool)
		return ss.receive(streamID, c.Name == "receiveVideo", on)
	case "deleteStream", "closeStream":
		ss.endPublish()
		ss.endPlay()
	}
	return nil
}

func (ss *serverSession) publish(name string, streamID uint32) error {
	if name == "" || ss.s.OnPublish == nil || ss.sink != nil {
		return ss.reply(streamID, "onStatus", 0, nil, status("error", "NetStream.Publish.BadName", "Cannot publish here."))
	}
	key := ss.app + "/" + name
	// The name is claimed before OnPublish runs, in the same critical section
	// as the check: OnPublish may take a while (the ingest creates a file), and
	// a publisher arriving meanwhile must find the name taken.
	ls := &liveStream{}
	ss.s.mu.Lock()
	_, busy := ss.s.streams[key]
	if !busy {
		ss.s.streams[key] = ls
	}
	ss.s.mu.Unlock()
	if busy {
		return ss.reply(streamID, "onStatus", 0, nil, status("error", "NetStream.Publish.BadName", "Already publishing."))
	}
	sink, err := ss.s.OnPublish(PublishRequest{App: ss.app, Name: StreamKey(name), RemoteAddr: ss.t.nc.RemoteAddr()})
	if errors.Is(err, ErrDropPublisher) {
		ss.s.release(key, ls)
		return err
	}
	if err != nil {
		ss.s.release(key, ls)
		return ss.reply(streamID, "onStatus", 0, nil, status("error", "NetStream.Publish.BadName", err.Error()))
	}
	ls.mu.Lock()
	ls.started = true
	ls.mu.Unlock()
	ss.sink, ss.pubKey, ss.pub = sink, key, ls
	if err := ss.t.sendUserControl(eventStreamBegin, streamID); err != nil {
		return err
	}
	return ss.reply(streamID, "onStatus", 0, nil, status("status", "NetStream.Publish.Start", "Start publishing."))
}

func (ss *serverSession) endPublish() {
	if ss.sink == nil {
		return
	}
	// The name is free before the sink hears the stream has ended: whoever
	// learns of the end from the sink (a report) may publish again at once.
	ss.s.release(ss.pubKey, ss.pub)
	if err := ss.sink.Close(); err != nil {
		ss.log.Warn("rtmp server: closing stream", "err", err)
	}
	ss.sink = nil
	ss.pubKey, ss.pub = "", nil
}

// release frees a stream name, unless it has been claimed again since ls got it.
func (s *Server) release(key string, ls *liveStream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.streams[key] == ls {
		delete(s.streams, key)
	}
}

// data handles @setDataFrame: the metadata is kept for players and passed on.
func (ss *serverSession) data(m Message) error {
	if ss.sink == nil {
		return nil
	}
	vals, err := amf.DecodeAMF0(m.Payload)
	if err != nil || len(vals) == 0 {
		return nil // unreadable data messages are not worth dropping the stream for
	}
	if s, _ := vals[0].(string); s == "@setDataFrame" {
		b, err := amf.AppendAMF0(nil, vals[1:]...)
		if err != nil {
			return nil
		}
		m.Payload = b
	}
	ss.relay(m)
	return ss.sink.WriteMessage(m)
}

// relay passes a message to the stream's player, remembering what a player
// joining later needs first (metadata and sequence headers).
func (ss *serverSession) relay(m Message) {
	ls := ss.pub
	if ls == nil {
		return
	}
	ls.mu.Lock()
	switch {
	case m.Type == TypeDataAMF0:
		mm := m
		ls.meta = &mm
	case m.Type == TypeVideo:
		if h, ok := parseVideoHeader(m.Payload); ok {
			mm := m
			ls.arrived++
			k := &keptHeader{m: &mm, seq: ls.arrived}
			for i := range ls.video {
				if h.has(i) {
					ls.video[i] = k
				}
			}
		}
	case m.Type == TypeAudio && len(m.Payload) > 1 && m.Payload[0]>>4 == 10 && m.Payload[1] == 0:
		mm := m
		ls.audio = &mm
	}
	viewer := ls.viewer
	ls.mu.Unlock()
	if viewer != nil {
		if err := viewer.sendLive(m); err != nil {
			ls.mu.Lock()
			ls.viewer = nil
			ls.mu.Unlock()
			viewer.t.close()
		}
	}
}

// isVideoHeader says whether a video tag body is a sequence header, of any track.
func isVideoHeader(p []byte) bool {
	_, ok := parseVideoHeader(p)
	return ok
}

// videoTracks is a set of video track IDs: the 256 a multitrack message can
// name, and defaultTrack.
type videoTracks [(defaultTrack + 64) / 64]uint64

func (t *videoTracks) add(id int)      { t[id/64] |= 1 << (id % 64) }
func (t *videoTracks) has(id int) bool { return t[id/64]&(1<<(id%64)) != 0 }

// Enhanced RTMP's ExVideoTagHeader: the packet types and the frame type that
// matter to finding sequence headers, and the AvMultitrackTypes.
const (
	videoPacketSequenceStart = 0
	videoPacketMetadata      = 4
	videoPacketMultitrack    = 6
	videoPacketModEx         = 7
	videoFrameCommand        = 5

	multitrackOneTrack             = 0
	multitrackManyTracks           = 1
	multitrackManyTracksManyCodecs = 2
)

// parseVideoHeader says whether a video tag body is a sequence header, and
// whose: the stream's own (defaultTrack) or, for an Enhanced RTMP multitrack
// message, each track it carries. It reads only the tag headers, which is all
// the server needs to replay headers to a late player, so it lives here
// rather than in flv/. A body that is malformed or truncated anywhere is not
// a header: replaying it would hand a player garbage.
func parseVideoHeader(p []byte) (videoTracks, bool) {
	var tracks videoTracks
	if len(p) < 2 {
		return tracks, false
	}
	if p[0]&0x80 == 0 {
		if p[0]&0x0f == 7 && p[1] == 0 { // legacy AVC, AVCPacketType 0
			tracks.add(defaultTrack)
			return tracks, true
		}
		return tracks, false
	}
	frame, packet := p[0]>>4&7, p[0]&0x0f
	p = p[1:]
	// Each ModEx prefix is a size (UI8+1, or UI16+1 past 255), its data, then
	// a byte whose low nibble is the packet type that follows. Every round
	// consumes bytes, so a hostile chain ends with the message.
	for packet == videoPacketModEx {
		if len(p) < 1 {
			return tracks, false
		}
		n := int(p[0]) + 1
		p = p[1:]
		if n == 256 {
			if len(p) < 2 {
				return tracks, false
			}
			n = int(binary.BigEndian.Uint16(p)) + 1
			p = p[2:]
		}
		if len(p) < n+1 {
			return tracks, false
		}
		packet = p[n] & 0x0f
		p = p[n+1:]
	}
	if frame == videoFrameCommand && packet != videoPacketMetadata {
		return tracks, false // a video command: no body at all
	}
	if packet != videoPacketMultitrack {
		if packet == videoPacketSequenceStart && len(p) >= 4 { // the FourCC
			tracks.add(defaultTrack)
			return tracks, true
		}
		return tracks, false
	}
	if len(p) < 1 {
		return tracks, false
	}
	// The multitrack byte: AvMultitrackType, then the packet type of every
	// track in the message.
	multi, packet := p[0]>>4, p[0]&0x0f
	p = p[1:]
	if packet != videoPacketSequenceStart {
		return tracks, false
	}
	switch multi {
	case multitrackOneTrack: // FourCC, track ID, the rest is the track's
		if len(p) < 5 {
			return tracks, false
		}
		tracks.add(int(p[4]))
		return tracks, true
	case multitrackManyTracks, multitrackManyTracksManyCodecs:
		if multi == multitrackManyTracks { // one FourCC for every track
			if len(p) < 4 {
				return tracks, false
			}
			p = p[4:]
		}
		if len(p) == 0 {
			return tracks, false
		}
		// A track cut short spoils the message: none of its tracks count.
		for len(p) > 0 {
			if multi == multitrackManyTracksManyCodecs { // a FourCC per track
				if len(p) < 4 {
					return videoTracks{}, false
				}
				p = p[4:]
			}
			if len(p) < 4 { // track ID, UI24 size of the track's data
				return videoTracks{}, false
			}
			id, size := int(p[0]), int(p[1])<<16|int(p[2])<<8|int(p[3])
			p = p[4:]
			if size > len(p) {
				return videoTracks{}, false
			}
			tracks.add(id)
			p = p[size:]
		}
		return tracks, true
	}
	return tracks, false // a reserved AvMultitrackType
}

// firstMessages is what a player joining the stream is sent before the live
// media: the metadata, each video track's sequence header in the order they
// arrived (a newer header for a track after an older one, so the newer
// counts), and the audio header.
func (ls *liveStream) firstMessages() []*Message {
	var video []*keptHeader
	for _, k := range ls.video {
		if k != nil && !slices.Contains(video, k) {
			video = append(video, k)
		}
	}
	slices.SortFunc(video, func(a, b *keptHeader) int { return cmp.Compare(a.seq, b.seq) })
	out := []*Message{ls.meta}
	for _, k := range video {
		out = append(out, k.m)
	}
	return append(out, ls.audio)
}

// sendLive sends a live stream's message, unless the player asked not to
// receive it; the first keyframe after a play2 switch is announced.
func (ss *serverSession) sendLive(m Message) error {
	if m.Type != TypeDataAMF0 && !ss.filter.pass(&m) {
		return nil
	}
	if err := ss.sendMedia(m); err != nil {
		return err
	}
	if m.Type == TypeVideo && ss.switching.Load() && isKeyframe(m.Payload) {
		ss.switching.Store(false)
		return ss.sendPlayStatus("NetStream.Play.TransitionComplete", 0)
	}
	return nil
}

// sendPlayStatus sends onPlayStatus, the data message that tells a player
// about a switch completed or a recording's end.
func (ss *serverSession) sendPlayStatus(code string, durationSec float64) error {
	b, err := amf.AppendAMF0(nil, "onPlayStatus", amf.Object{{Key: "level", Value: "status"}, {Key: "code", Value: code},
		{Key: "duration", Value: durationSec}})
	if err != nil {
		return err
	}
	return ss.t.send(csidData, &Message{Type: TypeDataAMF0, StreamID: ss.streamID, Payload: b})
}

func (ss *serverSession) sendMedia(m Message) error {
	csid := uint32(csidData)
	switch m.Type {
	case TypeVideo:
		csid = csidVideo
	case TypeAudio:
		csid = csidAudio
	}
	m.StreamID = ss.streamID
	return ss.t.send(csid, &m)
}

func (ss *serverSession) play(name string, streamID uint32, start, length float64) error {
	name = streamName(name)
	// start: -1 live only; other negatives live first; from 0 on, a recorded
	// stream from that position first.
	if start < 0 {
		err := ss.playLive(name, streamID)
		if !errors.Is(err, errNotLive) || start == -1 || ss.s.OpenRecording == nil {
			return ss.notFound(err, streamID)
		}
		return ss.notFound(ss.playRecorded(name, streamID, 0, length), streamID)
	}
	err := ss.playRecorded(name, streamID, start, length)
	if errors.Is(err, ErrNoRecording) {
		err = ss.playLive(name, streamID)
	}
	return ss.notFound(err, streamID)
}

// errNotLive says no live stream of that name is being published.
var errNotLive = errors.New("rtmp server: no such live stream")

// notFound answers a play that found nothing with NetStream.Play.StreamNotFound.
func (ss *serverSession) notFound(err error, streamID uint32) error {
	switch {
	case errors.Is(err, errNotLive), errors.Is(err, ErrNoRecording):
		return ss.reply(streamID, "onStatus", 0, nil, status("error", "NetStream.Play.StreamNotFound", "No such stream."))
	case errors.Is(err, ErrBadRecording):
		ss.log.Warn("rtmp server: cannot play a recording", "err", err)
		return ss.reply(streamID, "onStatus", 0, nil, status("error", "NetStream.Play.Failed", "The recording cannot be played."))
	}
	return err
}

// streamName is the stream a play names: without the "flv:" prefix that
// Flash-era players put before a recording's name, or any "?query".
func streamName(name string) string {
	name = strings.TrimPrefix(name, "flv:")
	if i := strings.IndexByte(name, '?'); i >= 0 {
		name = name[:i]
	}
	return name
}

// openRecording opens and indexes a recording, or says why not.
func (ss *serverSession) openRecording(name string) (Recording, *recordingIndex, error) {
	if ss.s.OpenRecording == nil || name == "" {
		return nil, nil, ErrNoRecording
	}
	rec, err := ss.s.OpenRecording(ss.app, name)
	if err != nil && !errors.Is(err, ErrNoRecording) {
		err = fmt.Errorf("%w: %w", ErrBadRecording, err)
	}
	if err != nil {
		return nil, nil, err
	}
	idx, err := indexRecording(rec)
	if err != nil {
		_ = rec.Close()
		return nil, nil, err
	}
	return rec, idx, nil
}

func (ss *serverSession) playRecorded(name string, streamID uint32, start, length float64) error {
	rec, idx, err := ss.openRecording(name)
	if err != nil {
		return err
	}
	ss.streamID = streamID
	ss.filter = playFilter{}
	if err := ss.t.sendUserControl(eventStreamBegin, streamID); err != nil {
		_ = rec.Close()
		return err
	}
	if err := ss.reply(streamID, "onStatus", 0, nil, status("status", "NetStream.Play.Reset", "Playing and resetting "+name+".")); err != nil {
		_ = rec.Close()
		return err
	}
	if err := ss.reply(streamID, "onStatus", 0, nil, status("status", "NetStream.Play.Start", "Started playing "+name+".")); err != nil {
		_ = rec.Close()
		return err
	}
	ss.startVOD(name, rec, idx, streamID, start, length)
	return nil
}

// liveStream is the stream published under name in this session's
// application, nil when there is none, and its key.
func (ss *serverSession) liveStream(name string) (string, *liveStream) {
	key := ss.app + "/" + name
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	return key, ss.s.streams[key]
}

func (ss *serverSession) playLive(name string, streamID uint32) error {
	key, ls := ss.liveStream(name)
	if ls == nil {
		return errNotLive
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if !ls.started {
		// Claimed, but OnPublish has not accepted it yet (and may refuse it).
		return errNotLive
	}
	if ls.viewer != nil {
		return ss.reply(streamID, "onStatus", 0, nil, status("error", "NetStream.Play.Failed", "This stream already has a player."))
	}
	ss.streamID = streamID
	ss.filter = playFilter{}
	if err := ss.t.sendUserControl(eventStreamBegin, streamID); err != nil {
		return err
	}
	if err := ss.reply(streamID, "onStatus", 0, nil, status("status", "NetStream.Play.Reset", "Playing and resetting.")); err != nil {
		return err
	}
	if err := ss.reply(streamID, "onStatus", 0, nil, status("status", "NetStream.Play.Start", "Started playing.")); err != nil {
		return err
	}
	for _, m := range ls.firstMessages() {
		if m != nil {
			if err := ss.sendMedia(*m); err != nil {
				return err
			}
		}
	}
	ls.viewer = ss
	ss.playKey = key
	return nil
}

// play2 switches what this player plays (Flash's NetStream.play2, for
// switching renditions or streams without stopping): a recording to
// another recording goes on at the same position from its keyframe; any
// other switch stops the old stream and starts the new one, video waiting
// for a keyframe.
func (ss *serverSession) play2(c Command, streamID uint32) error {
	opts := c.Info()
	name := streamName(opts.String("streamName"))
	transition := opts.String("transition")
	start := -1.0 // go on from where the old stream is
	if v, ok := opts.Get("start").(float64); ok {
		start = v
	}
	if transition == "stop" {
		ss.endPlay()
		return ss.reply(streamID, "onStatus", 0, nil, status("status", "NetStream.Play.Stop", "Stopped playing."))
	}
	if ss.vod != nil && transition != "reset" {
		rec, idx, err := ss.openRecording(name)
		if err == nil {
			ss.vod.control(vodControl{op: vodSwitch, name: name, rec: rec, idx: idx, start: start})
			return nil
		}
		if !errors.Is(err, ErrNoRecording) {
			return ss.notFound(err, streamID)
		}
	}
	if ss.playKey != "" && transition != "reset" {
		if err := ss.switchLive(name, streamID); !errors.Is(err, errNotLive) {
			return err
		}
	}
	ss.endPlay()
	if start < 0 {
		start = -2
	}
	length, _ := opts.Get("len").(float64)
	return ss.play(name, streamID, start, length)
}

// switchLive moves this player from its live stream to another: the new
// one's headers at once, then its media from its next keyframe.
func (ss *serverSession) switchLive(name string, streamID uint32) error {
	key, ls := ss.liveStream(name)
	if ls == nil {
		return errNotLive
	}
	// Leave the old stream before taking the new one's lock: holding one
	// stream's lock while taking another's could deadlock two players
	// switching each way.
	ss.endPlay()
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if !ls.started || ls.viewer != nil {
		return errNotLive
	}
	if err := ss.reply(streamID, "onStatus", 0, nil, append(status("status", "NetStream.Play.Transition", "Transitioning to "+name+"."),
		amf.Property{Key: "details", Value: name})); err != nil {
		return err
	}
	for _, m := range ls.firstMessages() {
		if m != nil {
			if err := ss.sendMedia(*m); err != nil {
				return err
			}
		}
	}
	ss.filter.awaitKeyframe()
	ss.switching.Store(true)
	ls.viewer = ss
	ss.playKey = key
	return nil
}

// seek moves a recording's playback; a live stream cannot seek.
func (ss *serverSession) seek(streamID uint32, ms float64) error {
	if ss.vod == nil {
		return ss.reply(streamID, "onStatus", 0, nil, status("error", "NetStream.Seek.Failed", "Only a recorded stream can seek."))
	}
	ss.vod.control(vodControl{op: vodSeek, ms: msec(ms)})
	return nil
}

// pause pauses or resumes: a recording where it was, a live stream from
// its next keyframe.
func (ss *serverSession) pause(streamID uint32, on bool) error {
	if ss.vod != nil {
		ss.vod.control(vodControl{op: vodPause, on: on})
		return nil
	}
	if ss.playKey == "" {
		return nil
	}
	ss.filter.pause(on)
	code, event := "NetStream.Unpause.Notify", uint16(eventStreamBegin)
	if on {
		code, event = "NetStream.Pause.Notify", eventStreamEOF
	}
	if err := ss.t.sendUserControl(event, streamID); err != nil {
		return err
	}
	return ss.reply(streamID, "onStatus", 0, nil, status("status", code, code[len("NetStream."):]))
}

// receive turns audio or video on or off. Turning one on is answered as the
// specification says, with Seek.Notify and Play.Start; off, with nothing.
func (ss *serverSession) receive(streamID uint32, video, on bool) error {
	ss.filter.receive(video, on)
	if !on {
		return nil
	}
	if err := ss.reply(streamID, "onStatus", 0, nil, status("status", "NetStream.Seek.Notify", "Receiving again.")); err != nil {
		return err
	}
	return ss.reply(streamID, "onStatus", 0, nil, status("status", "NetStream.Play.Start", "Started playing."))
}

func (ss *serverSession) endPlay() {
	if ss.vod != nil {
		ss.vod.stop()
		ss.vod = nil
	}
	if ss.playKey == "" {
		return
	}
	ss.s.mu.Lock()
	ls := ss.s.streams[ss.playKey]
	ss.s.mu.Unlock()
	if ls != nil {
		ls.mu.Lock()
		if ls.viewer == ss {
			ls.viewer = nil
		}
		ls.mu.Unlock()
	}
	ss.playKey = ""
}
