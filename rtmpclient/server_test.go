package rtmpclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// nopSink accepts everything and reports its Close on closed.
type nopSink struct {
	once   sync.Once
	closed chan struct{}
}

func newNopSink() *nopSink                    { return &nopSink{closed: make(chan struct{})} }
func (s *nopSink) WriteMessage(Message) error { return nil }
func (s *nopSink) Close() error               { s.once.Do(func() { close(s.closed) }); return nil }

// startTestServer serves srv on a loopback port until the test ends and returns
// the URL of application "live".
func startTestServer(t *testing.T, srv *Server) Endpoint {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveTest(t, srv, ln)
}

// serveTest serves srv on ln until the test ends and returns the URL of
// application "live".
func serveTest(t *testing.T, srv *Server, ln net.Listener) Endpoint {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	ep, err := ParseURL("rtmp://"+ln.Addr().String()+"/live", testKey)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// dialStream connects and creates a message stream, everything a publisher
// does before the publish command itself.
func dialStream(ctx context.Context, ep Endpoint) (*ClientConn, uint32, error) {
	c, err := Dial(ctx, ep, Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, 0, err
	}
	id, err := c.createStream(ctx)
	if err != nil {
		c.Close()
		return nil, 0, err
	}
	return c, id, nil
}

// publishOn sends publish and returns the server's verdict: nil on
// NetStream.Publish.Start, a *StatusError on a refusal.
func publishOn(ctx context.Context, c *ClientConn, streamID uint32, name string) error {
	if err := c.sendCommand(streamID, "publish", 0, nil, name, "live"); err != nil {
		return fmt.Errorf("send publish: %w", err)
	}
	_, err := c.waitStatus(ctx, "publish", "NetStream.Publish.Start")
	return err
}

func isBadName(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == "NetStream.Publish.BadName"
}

// Two publishers of one name arriving together: one gets the name, the other is
// told it is taken. The OnPublish delay stands for what a real sink does first
// (the ingest creates a recording file); it is the window in which a check made
// apart from the claim lets both through.
func TestServerGivesANameToOnlyOneOfTwoSimultaneousPublishers(t *testing.T) {
	srv := &Server{OnPublish: func(PublishRequest) (StreamSink, error) {
		time.Sleep(2 * time.Millisecond)
		return newNopSink(), nil
	}}
	ep := startTestServer(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	const iterations = 40
	for i := range iterations {
		name := fmt.Sprintf("race-%d", i)
		var conns [2]*ClientConn
		var ids [2]uint32
		for j := range conns {
			c, id, err := dialStream(ctx, ep)
			if err != nil {
				t.Fatalf("iteration %d: %v", i, err)
			}
			conns[j], ids[j] = c, id
		}
		barrier := make(chan struct{})
		var results [2]error
		var wg sync.WaitGroup
		for j := range conns {
			wg.Go(func() {
				<-barrier
				results[j] = publishOn(ctx, conns[j], ids[j], name)
			})
		}
		close(barrier)
		wg.Wait()
		started, refused := 0, 0
		for _, err := range results {
			switch {
			case err == nil:
				started++
			case isBadName(err):
				refused++
			default:
				t.Fatalf("iteration %d: publish: %v", i, err)
			}
		}
		for _, c := range conns {
			c.Close()
		}
		if started != 1 || refused != 1 {
			t.Fatalf("iteration %d: %d publishers started and %d were refused, want 1 and 1", i, started, refused)
		}
	}
}

// A publisher that ends must not free a name another publisher now holds: the
// name would then be given out twice and players could not find the live one.
// OnPublish is held for each caller so that the second publisher's publish is
// handled while the first one's is still being accepted, deterministically.
func TestServerFirstPublisherEndingKeepsLaterPublishersName(t *testing.T) {
	type call struct {
		gate chan struct{}
		sink *nopSink
	}
	calls := make(chan call)
	srv := &Server{OnPublish: func(PublishRequest) (StreamSink, error) {
		c := call{gate: make(chan struct{}), sink: newNopSink()}
		calls <- c
		<-c.gate
		return c.sink, nil
	}}
	ep := startTestServer(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const name = "shared"

	first, firstID, err := dialStream(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, secondID, err := dialStream(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()

	firstRes := make(chan error, 1)
	go func() { firstRes <- publishOn(ctx, first, firstID, name) }()
	firstCall := <-calls

	secondRes := make(chan error, 1)
	go func() { secondRes <- publishOn(ctx, second, secondID, name) }()
	var secondErr error
	select {
	case secondCall := <-calls:
		// The server let the second publisher through while the first was being
		// accepted; let the first finish, then the second, so the second's claim
		// is the later one.
		close(firstCall.gate)
		if err := <-firstRes; err != nil {
			t.Fatalf("first publish: %v", err)
		}
		close(secondCall.gate)
		secondErr = <-secondRes
	case secondErr = <-secondRes:
		close(firstCall.gate)
		if err := <-firstRes; err != nil {
			t.Fatalf("first publish: %v", err)
		}
	}
	if secondErr != nil && !isBadName(secondErr) {
		t.Fatalf("second publish: %v", secondErr)
	}

	first.Close()
	select {
	case <-firstCall.sink.closed:
	case <-ctx.Done():
		t.Fatal("the server never ended the first publisher's stream")
	}

	if secondErr != nil {
		// Refused while the name was taken, the second publisher may have it now.
		go func() {
			c := <-calls
			close(c.gate)
		}()
		if err := publishOn(ctx, second, secondID, name); err != nil {
			t.Fatalf("second publish after the first ended: %v", err)
		}
	}

	third, thirdID, err := dialStream(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	go func() {
		// Only reached when the server wrongly lets the third publisher in.
		select {
		case c := <-calls:
			close(c.gate)
		case <-ctx.Done():
		}
	}()
	if err := publishOn(ctx, third, thirdID, name); !isBadName(err) {
		t.Errorf("a third publisher of the name got %v while the second is live, want BadName", err)
	}

	player, err := Dial(ctx, ep, Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer player.Close()
	if _, err := player.Play(ctx, name); err != nil {
		t.Errorf("playing the second publisher's stream: %v", err)
	}
}

// Video tag bodies for the header tests: legacy AVC, Enhanced RTMP's single
// track, and its multitrack forms (E-RTMP v2, "Enhanced Video").
func exVideo(frame, packet byte, rest ...[]byte) []byte {
	return slices.Concat(append([][]byte{{0x80 | frame<<4 | packet}}, rest...)...)
}

// mtOne is a OneTrack multitrack message: FourCC, track ID, the track's data.
func mtOne(packet byte, fourcc string, track byte, data string) []byte {
	return exVideo(1, videoPacketMultitrack, []byte{multitrackOneTrack<<4 | packet}, []byte(fourcc), []byte{track}, []byte(data))
}

type mtTrack struct {
	fourcc string // for ManyTracksManyCodecs only
	id     byte
	data   string
}

// mtMany is a ManyTracks message (one FourCC for all) or, with fourcc "",
// a ManyTracksManyCodecs one (a FourCC per track).
func mtMany(packet byte, fourcc string, tracks ...mtTrack) []byte {
	multi := byte(multitrackManyTracks)
	if fourcc == "" {
		multi = multitrackManyTracksManyCodecs
	}
	b := exVideo(1, videoPacketMultitrack, []byte{multi<<4 | packet}, []byte(fourcc))
	for _, tr := range tracks {
		b = append(b, tr.fourcc...)
		b = append(b, tr.id)
		b = appendUint24(b, uint32(len(tr.data)))
		b = append(b, tr.data...)
	}
	return b
}

var videoHeaderCases = []struct {
	name   string
	body   []byte
	tracks []int // nil: not a header
}{
	{"legacy AVC sequence header", mustHex("17 00 000000 01640028ff"), []int{defaultTrack}},
	{"legacy AVC keyframe", mustHex("17 01 000000 00000005 65"), nil},
	{"legacy AVC, one byte", []byte{0x17}, nil},
	{"enhanced HEVC SequenceStart", exVideo(1, videoPacketSequenceStart, []byte("hvc1"), []byte{1, 2}), []int{defaultTrack}},
	{"enhanced SequenceStart without its FourCC", exVideo(1, videoPacketSequenceStart, []byte("hv")), nil},
	{"enhanced CodedFrames", exVideo(1, 1, []byte("hvc1"), []byte{0, 0, 0}), nil},
	{"enhanced video command frame", exVideo(videoFrameCommand, videoPacketSequenceStart, []byte{0}), nil},
	{"OneTrack SequenceStart, track 5", mtOne(videoPacketSequenceStart, "av01", 5, "cfg"), []int{5}},
	{"OneTrack SequenceStart, track 0", mtOne(videoPacketSequenceStart, "hvc1", 0, "cfg"), []int{0}},
	{"OneTrack CodedFrames", mtOne(1, "hvc1", 1, "frame"), nil},
	{"OneTrack without its track ID", exVideo(1, videoPacketMultitrack, []byte{videoPacketSequenceStart}, []byte("hvc1")), nil},
	{"ManyTracks SequenceStart", mtMany(videoPacketSequenceStart, "av01", mtTrack{id: 2, data: "cfg2"}, mtTrack{id: 3, data: "cfg3"}), []int{2, 3}},
	{"ManyTracksManyCodecs SequenceStart", mtMany(videoPacketSequenceStart, "", mtTrack{"hvc1", 1, "h"}, mtTrack{"av01", 255, "a"}), []int{1, 255}},
	{"ManyTracks CodedFrames", mtMany(1, "av01", mtTrack{id: 2, data: "f"}), nil},
	{"ManyTracks whose size overruns the message", mtMany(videoPacketSequenceStart, "av01", mtTrack{id: 2, data: "cfg"})[:12], nil},
	{"ManyTracks with no track", mtMany(videoPacketSequenceStart, "av01"), nil},
	{"a reserved AvMultitrackType", exVideo(1, videoPacketMultitrack, []byte{3<<4 | videoPacketSequenceStart}, []byte("hvc1"), []byte{0}), nil},
	{"multitrack inside multitrack", exVideo(1, videoPacketMultitrack, []byte{videoPacketMultitrack}, []byte("hvc1"), []byte{0}), nil},
	{"ModEx (nano offset) before SequenceStart", exVideo(1, videoPacketModEx, []byte{2, 0, 0x01, 0xf4, 1<<4 | videoPacketSequenceStart}, []byte("hvc1")), []int{defaultTrack}},
	{"ModEx before a multitrack SequenceStart", exVideo(1, videoPacketModEx, []byte{0, 9, videoPacketMultitrack}, mtOne(0, "av01", 7, "c")[1:]), []int{7}},
	{"ModEx of 256+ bytes", exVideo(1, videoPacketModEx, []byte{255, 0x01, 0x00}, make([]byte, 257), []byte{videoPacketSequenceStart}, []byte("vp09")), []int{defaultTrack}},
	{"ModEx cut short", exVideo(1, videoPacketModEx, []byte{9, 0, 0}), nil},
}

func TestVideoSequenceHeadersAreFoundForEveryTrack(t *testing.T) {
	t.Parallel()
	for _, tc := range videoHeaderCases {
		h, ok := parseVideoHeader(tc.body)
		var got []int
		for i := 0; i <= defaultTrack; i++ {
			if h.has(i) {
				got = append(got, i)
			}
		}
		if ok != (tc.tracks != nil) || !slices.Equal(got, tc.tracks) {
			t.Errorf("%s (% x): header %v for tracks %v; want %v", tc.name, tc.body, ok, got, tc.tracks)
		}
	}
}

// A player joining a multitrack stream gets, before the live media, the newest
// sequence header of every track: the stream's own, each multitrack track's
// (a message that carried several tracks' once), each in the order they came,
// and no header a newer one replaced.
func TestServerGivesALatePlayerEachVideoTracksNewestHeader(t *testing.T) {
	t.Parallel()
	srv := &Server{OnPublish: func(PublishRequest) (StreamSink, error) { return newNopSink(), nil }}
	ep := startTestServer(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pub, id, err := dialStream(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := publishOn(ctx, pub, id, "multi"); err != nil {
		t.Fatal(err)
	}
	var (
		avc    = mustHex("17 00 000000 01640028ff")
		track1 = mtOne(videoPacketSequenceStart, "hvc1", 1, "old")
		tracks = mtMany(videoPacketSequenceStart, "av01", mtTrack{id: 2, data: "cfg2"}, mtTrack{id: 3, data: "cfg3"})
		frame1 = mtOne(1, "hvc1", 1, "frame")
		newer1 = mtOne(videoPacketSequenceStart, "hvc1", 1, "new")
		aac    = mustHex("af 00 1210")
		marker = mustHex("17 01 000000 00000001 65")
	)
	send := func(typ uint8, p []byte) {
		t.Helper()
		csid := uint32(csidVideo)
		if typ == TypeAudio {
			csid = csidAudio
		}
		if err := pub.t.send(csid, &Message{Type: typ, StreamID: id, Payload: p}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range [][]byte{avc, track1, tracks, frame1, newer1} {
		send(TypeVideo, p)
	}
	send(TypeAudio, aac)
	waitStable(t, func() bool {
		srv.mu.Lock()
		ls := srv.streams["live/multi"]
		srv.mu.Unlock()
		ls.mu.Lock()
		defer ls.mu.Unlock()
		return ls.audio != nil
	})

	player, err := Dial(ctx, ep, Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer player.Close()
	if _, err := player.Play(ctx, "multi"); err != nil {
		t.Fatal(err)
	}
	send(TypeVideo, marker)
	want := [][]byte{avc, tracks, newer1, aac, marker}
	var got [][]byte
	for len(got) < len(want) {
		select {
		case m, ok := <-player.Media():
			if !ok {
				t.Fatalf("player's connection ended after %d messages: %v", len(got), player.Err())
			}
			got = append(got, m.Payload)
		case <-ctx.Done():
			t.Fatalf("player got %d messages, want %d", len(got), len(want))
		}
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("message %d is % x, want % x", i, got[i], want[i])
		}
	}
}
