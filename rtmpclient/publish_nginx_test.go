package rtmpclient

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
	"github.com/tallystudio/tally/rtmpclient/amf"
)

const testKey = "live_8f3kq2x9zz_secretkey_x9"

// publishAll runs a Publisher, feeds it every packet as fast as the link takes
// them, stops it cleanly and returns its final stats.
func publishAll(t testing.TB, ep Endpoint, opts Options, pkts []Packet) PublisherStats {
	t.Helper()
	p := NewPublisher(PublisherConfig{Endpoint: ep, Options: opts, DropThreshold: 2 * time.Second,
		Metadata: amf.ECMAArray{{Key: "width", Value: 640.0}, {Key: "height", Value: 360.0}, {Key: "encoder", Value: "Tally test"}}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	for _, pk := range pkts {
		if err := p.WriteWait(ctx, pk); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	// Let the queue drain before the clean stop.
	for p.Stats().QueuePackets > 0 {
		select {
		case err := <-done:
			t.Fatalf("publisher ended early: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("publisher: %v", err)
	}
	return p.Stats()
}

// waitFile waits for nginx to finish a recording (it closes it on unpublish).
func waitStable(t *testing.T, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the server")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func checkRecording(t *testing.T, path string, wantFrames int) {
	t.Helper()
	pr := peers.ProbeFile(t, path)
	v, a := pr.Stream("video"), pr.Stream("audio")
	if v == nil || a == nil {
		t.Fatalf("recording lacks video or audio: %+v", pr.Streams)
	}
	if v.Codec != "h264" || v.Width != 640 || v.Height != 360 {
		t.Errorf("video is %s %dx%d, want h264 640x360", v.Codec, v.Width, v.Height)
	}
	if a.Codec != "aac" || a.SampleRate != "44100" || a.Channels != 2 {
		t.Errorf("audio is %s %s Hz %d ch, want aac 44100 Hz stereo", a.Codec, a.SampleRate, a.Channels)
	}
	if got := v.Frames(); got != wantFrames {
		t.Errorf("recording decodes to %d video frames, sent %d", got, wantFrames)
	}
	if errs := peers.DecodeErrors(t, path); errs != "" {
		t.Errorf("recording does not decode cleanly:\n%s", errs)
	}
	ts := peers.PacketTimes(t, path, "v:0")
	for i := 1; i < len(ts); i++ {
		if ts[i] < ts[i-1] {
			t.Errorf("video DTS goes backwards at packet %d: %v after %v", i, ts[i], ts[i-1])
			break
		}
	}
}

func TestPublishToNginxRecordsEveryFrameDecodable(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})
	pkts := fixturePackets(t, peers.FixtureFLV(t, 4))
	ep, err := ParseURL(ng.URL(), testKey)
	if err != nil {
		t.Fatal(err)
	}
	st := publishAll(t, ep, Options{}, pkts)
	if want := uint64(countVideo(pkts)); st.VideoFramesSent != want || st.DroppedVideo != 0 {
		t.Errorf("sent %d video frames, dropped %d; want %d and 0", st.VideoFramesSent, st.DroppedVideo, want)
	}
	rec := ng.Recording(testKey)
	waitStable(t, func() bool { return strings.Contains(ng.ErrorLog(), "deleteStream") || fileSize(rec) > 0 })
	time.Sleep(300 * time.Millisecond) // nginx finalises the file on unpublish
	checkRecording(t, rec, countVideo(pkts))
	if strings.Contains(ng.ErrorLog(), "[error]") {
		t.Errorf("nginx logged errors:\n%s", ng.ErrorLog())
	}
}
