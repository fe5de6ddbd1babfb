package rtmpclient

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
	"github.com/tallystudio/tally/rtmpclient/amf"
)

// rtmpdump (librtmp, Debian's build with GnuTLS) plays a live stream from
// Tally's server over rtmpe://: librtmp's handshake (C1 signed with scheme
// 1, its key where scheme 1 puts it, S1 and S2 verified, the server's key
// checked as in librtmp) and RC4 both ways, ending in an FLV that FFmpeg
// decodes without an error.
func TestRtmpdumpPlaysRTMPEFromTallysServer(t *testing.T) {
	rtmpdump := peers.Require(t, "rtmpdump")
	srv := &Server{OnPublish: func(PublishRequest) (StreamSink, error) { return newNopSink(), nil }}
	ep := startTestServer(t, srv)
	pkts := fixturePackets(t, peers.FixtureFLV(t, 4))

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := NewPublisher(PublisherConfig{Endpoint: ep, DropThreshold: 10 * time.Second,
		Metadata: amf.ECMAArray{{Key: "width", Value: 640.0}, {Key: "height", Value: 360.0}}})
	pubCtx, stopPub := context.WithCancel(ctx)
	pubDone := make(chan error, 1)
	go func() { pubDone <- p.Run(pubCtx) }()
	defer func() {
		stopPub()
		if err := <-pubDone; err != nil {
			t.Errorf("publisher: %v", err)
		}
	}()
	// The sequence headers first, so the player's start has them; the frames
	// once it plays, so it gets every one from the first keyframe.
	i := 0
	for ; i < len(pkts) && pkts[i].Header; i++ {
		if err := p.WriteWait(ctx, pkts[i]); err != nil {
			t.Fatal(err)
		}
	}
	stream := func() *liveStream {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return srv.streams[ep.App+"/"+testKey]
	}
	waitStable(t, func() bool {
		ls := stream()
		if ls == nil {
			return false
		}
		ls.mu.Lock()
		defer ls.mu.Unlock()
		return ls.audio != nil && ls.video[defaultTrack] != nil
	})

	out := filepath.Join(t.TempDir(), "rtmpe.flv")
	url := "rtmpe://127.0.0.1:" + strconv.Itoa(ep.Port) + "/" + ep.App + "/" + testKey
	var log bytes.Buffer
	// The server does not tell a player that the publisher has gone, so
	// rtmpdump ends when the stream has been silent for --timeout seconds,
	// and reports it (exit status 2) as a live download that may be
	// incomplete: the file is complete and closed.
	cmd := exec.CommandContext(ctx, rtmpdump, "-r", url, "--live", "--timeout", "3", "-o", out)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitStable(t, func() bool {
		ls := stream()
		ls.mu.Lock()
		defer ls.mu.Unlock()
		return ls.viewer != nil
	})
	want := 0
	for ; i < len(pkts); i++ {
		if err := p.WriteWait(ctx, pkts[i]); err != nil {
			t.Fatal(err)
		}
		if pkts[i].Type == TypeVideo && !pkts[i].Header {
			want++
		}
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 2) {
		t.Fatalf("rtmpdump: %v\n%s", err, log.String())
	}
	if testing.Verbose() {
		t.Logf("rtmpdump:\n%s", log.String())
	}
	pr := peers.ProbeFile(t, out)
	v, a := pr.Stream("video"), pr.Stream("audio")
	if v == nil || a == nil {
		t.Fatalf("rtmpdump's FLV lacks video or audio: %+v", pr.Streams)
	}
	if v.Codec != "h264" || v.Width != 640 || v.Height != 360 || a.Codec != "aac" {
		t.Errorf("rtmpdump's FLV holds %s %dx%d and %s, want h264 640x360 and aac", v.Codec, v.Width, v.Height, a.Codec)
	}
	if got := v.Frames(); got != want {
		t.Errorf("rtmpdump's FLV decodes to %d video frames, sent %d", got, want)
	}
	if errs := peers.DecodeErrors(t, out); errs != "" {
		t.Errorf("rtmpdump's FLV does not decode cleanly:\n%s", errs)
	}
	t.Logf("rtmpdump over rtmpe: %d video frames of %d", v.Frames(), want)
}
