package ui

import (
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/tallystudio/tally/app"
	"github.com/tallystudio/tally/rtmpclient"
)

// serveRTMP runs an RTMP server on loopback for the test, deciding publishes
// with onPublish, and returns its address.
func serveRTMP(t *testing.T, onPublish func(rtmpclient.PublishRequest) (rtmpclient.StreamSink, error)) string {
	t.Helper()
	srv := &rtmpclient.Server{OnPublish: onPublish}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// A server that hangs up on the publish without a word: the studio says why
// in a streamer's words, stops, and does not try again.
func TestStudioStopsWhenTheServerHangsUpOnTheKey(t *testing.T) {
	var publishes atomic.Int32
	addr := serveRTMP(t, func(rtmpclient.PublishRequest) (rtmpclient.StreamSink, error) {
		publishes.Add(1)
		return nil, rtmpclient.ErrDropPublisher
	})

	s, _ := newTestStudio(t, &app.MemoryKeys{})
	onUI(func() {
		r := s.dests.rows[0]
		r.service.SetSelected("Custom RTMP server")
		test.Type(r.url, "rtmp://"+addr+"/live")
		test.Type(r.key, secret)
		test.Tap(s.liveButton)
	})
	eventually(t, "the error", func() bool { return s.stateLabel.Text == "Error" })
	onUI(func() {
		if !strings.Contains(s.detail.Text, "stream key is probably wrong") {
			t.Errorf("error detail %q does not name the likely cause", s.detail.Text)
		}
	})
	// Stopped for good: no reconnect behind the error.
	time.Sleep(3 * time.Second)
	if n := publishes.Load(); n != 1 {
		t.Errorf("%d publishes, want 1", n)
	}
	onUI(func() {
		if s.stateLabel.Text != "Error" {
			t.Errorf("state %q after the refusal", s.stateLabel.Text)
		}
	})
	noKeyShown(t, s)
}
