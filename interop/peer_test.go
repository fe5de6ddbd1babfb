package interop

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
)

// Read deadlines of the peer: for the handshake, connect, publish and the
// Reader's first two seconds of stream (which it reads before it names the
// tracks), and then for each message.
const (
	setupDeadline = 15 * time.Second
	readDeadline  = 5 * time.Second
)

// frame is one access unit (H.264, HEVC: NAL units) or temporal unit (AV1:
// OBUs) as gortmplib's Reader delivered it.
type frame struct {
	pts, dts time.Duration
	units    [][]byte
}

// videoTrack is one video track the Reader named, and what it delivered.
type videoTrack struct {
	codec  codecs.Codec
	frames []frame
}

// received is what gortmplib's server side made of one publishing
// connection.
type received struct {
	streamURL   string   // the publish command's URL
	c0          byte     // the handshake's first byte: 3 for RTMP, 6 for RTMPE
	fourCcList  []string // the connect command's fourCcList
	video       []*videoTrack
	audio       []codecs.Codec
	audioFrames int
	// err ended the connection: io.EOF when Tally hung up, anything else is
	// gortmplib refusing what it read, or a deadline.
	err error
}

// peer is gortmplib v1.0.1's server side on 127.0.0.1, run by the test that
// starts it: it reads the first publishing connection with a Reader, as
// MediaMTX does, and refuses any later one.
type peer struct {
	addr   string
	ln     net.Listener
	result chan *received
	extra  chan string // later connections, by remote address

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

// startPeer listens on a free port and serves until the test ends.
func startPeer(t *testing.T) *peer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{addr: ln.Addr().String(), ln: ln, result: make(chan *received, 1), extra: make(chan string, 16)}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.stop)
	return p
}

func (p *peer) accept() {
	defer p.wg.Done()
	for first := true; ; first = false {
		conn, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns = append(p.conns, conn)
		p.mu.Unlock()
		if !first {
			select {
			case p.extra <- conn.RemoteAddr().String():
			default:
			}
			conn.Close()
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer conn.Close()
			p.result <- serve(conn)
		}()
	}
}

// stop closes the listener and every connection, and waits for the
// goroutines.
func (p *peer) stop() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// wait returns what the peer read once the connection has ended; after
// timeout it closes the connections and returns what was read by then.
func (p *peer) wait(t *testing.T, timeout time.Duration) *received {
	t.Helper()
	select {
	case r := <-p.result:
		return r
	case <-time.After(timeout):
	}
	t.Errorf("gortmplib's connection did not end within %v of Tally's session; closing it", timeout)
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	select {
	case r := <-p.result:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("gortmplib's connection did not end when closed")
		return nil
	}
}

// extraConnections lists the connections after the first: Tally with
// AssumeEnhanced makes one.
func (p *peer) extraConnections() []string {
	var out []string
	for {
		select {
		case a := <-p.extra:
			out = append(out, a)
		default:
			return out
		}
	}
}

// serve is the publisher half of gortmplib's examples/server/main.go,
// recording instead of forwarding.
func serve(conn net.Conn) *received {
	r := &received{}
	r.err = func() error {
		conn.SetReadDeadline(time.Now().Add(setupDeadline))
		sc := &gortmplib.ServerConn{RW: &firstByte{Conn: conn, b: &r.c0}}
		if err := sc.Initialize(); err != nil {
			return fmt.Errorf("ServerConn.Initialize: %w", err)
		}
		for _, v := range sc.FourCcList {
			r.fourCcList = append(r.fourCcList, fmt.Sprint(v))
		}
		if err := sc.AcceptConn(); err != nil {
			return fmt.Errorf("ServerConn.AcceptConn: %w", err)
		}
		if !sc.Publish {
			return errors.New("the client asked to play, not to publish")
		}
		r.streamURL = sc.URL.String()
		rd := &gortmplib.Reader{Conn: sc}
		if err := rd.Initialize(); err != nil {
			return fmt.Errorf("Reader.Initialize: %w", err)
		}
		for _, tr := range rd.Tracks() {
			if !tr.Codec.IsVideo() {
				r.audio = append(r.audio, tr.Codec)
				if _, ok := tr.Codec.(*codecs.MPEG4Audio); ok {
					rd.OnDataMPEG4Audio(tr, func(time.Duration, []byte) { r.audioFrames++ })
				}
				continue
			}
			// Tracks lists the video tracks first, by track ID.
			vt := &videoTrack{codec: tr.Codec}
			r.video = append(r.video, vt)
			onAU := func(pts, dts time.Duration, au [][]byte) {
				vt.frames = append(vt.frames, frame{pts: pts, dts: dts, units: cloneUnits(au)})
			}
			switch tr.Codec.(type) {
			case *codecs.H264:
				rd.OnDataH264(tr, onAU)
			case *codecs.H265:
				rd.OnDataH265(tr, onAU)
			case *codecs.AV1:
				rd.OnDataAV1(tr, func(pts time.Duration, tu [][]byte) { onAU(pts, pts, tu) })
			}
		}
		for {
			conn.SetReadDeadline(time.Now().Add(readDeadline))
			if err := rd.Read(); err != nil {
				return err
			}
		}
	}()
	return r
}

func cloneUnits(in [][]byte) [][]byte {
	out := make([][]byte, len(in))
	for i, u := range in {
		out[i] = slices.Clone(u)
	}
	return out
}

// ended reports how the connection ended, failing the test unless Tally
// hung up.
func (r *received) ended(t *testing.T) {
	t.Helper()
	if r.err != nil && !errors.Is(r.err, io.EOF) {
		t.Errorf("gortmplib ended the connection: %v", r.err)
	}
}

// firstByte notes the first byte read from a connection.
type firstByte struct {
	net.Conn
	b    *byte
	seen bool
}

func (f *firstByte) Read(p []byte) (int, error) {
	n, err := f.Conn.Read(p)
	if n > 0 && !f.seen {
		*f.b, f.seen = p[0], true
	}
	return n, err
}
