package app

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tallystudio/tally/rtmpclient"
)

// firstFrame is a server sink that notes when publishing started and when the
// first video frame (not the sequence header) arrived.
type firstFrame struct {
	mu      sync.Mutex
	publish time.Time
	video   time.Time
	got     chan struct{}
}

func (f *firstFrame) WriteMessage(m rtmpclient.Message) error {
	if m.Type == rtmpclient.TypeVideo && len(m.Payload) > 1 && m.Payload[1] == 1 {
		f.mu.Lock()
		if f.video.IsZero() {
			f.video = time.Now()
			close(f.got)
		}
		f.mu.Unlock()
	}
	return nil
}

func (f *firstFrame) Close() error { return nil }

// BenchmarkTimeToLive measures, from Go Live in an open studio (sources
// already running, as when the user presses the button), the time until the
// server accepts the publish and until it receives the first video frame.
// Target: ≤ 1 s on loopback.
func BenchmarkTimeToLive(b *testing.B) {
	var cur *firstFrame
	var mu sync.Mutex
	srv := &rtmpclient.Server{OnPublish: func(rtmpclient.PublishRequest) (rtmpclient.StreamSink, error) {
		mu.Lock()
		defer mu.Unlock()
		cur.publish = time.Now()
		return cur, nil
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	e := NewEngine(nil)
	defer e.Close()
	s := DefaultSettings()
	s.Destinations = []Destination{{Service: "custom", URL: "rtmp://" + ln.Addr().String() + "/live", Key: "bench"}}
	if err := e.SetSources(s.Video, s.Audio); err != nil {
		b.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	var toPublish, toVideo time.Duration
	b.ResetTimer()
	for range b.N {
		ff := &firstFrame{got: make(chan struct{})}
		mu.Lock()
		cur = ff
		mu.Unlock()
		start := time.Now()
		if _, err := e.GoLive(s); err != nil {
			b.Fatal(err)
		}
		select {
		case <-ff.got:
		case <-time.After(10 * time.Second):
			b.Fatal("no video within 10 s")
		}
		ff.mu.Lock()
		toPublish += ff.publish.Sub(start)
		toVideo += ff.video.Sub(start)
		ff.mu.Unlock()
		b.StopTimer()
		e.Stop()
		_ = e.Wait(context.Background())
		b.StartTimer()
	}
	b.ReportMetric(float64(toPublish.Milliseconds())/float64(b.N), "ms-to-publish")
	b.ReportMetric(float64(toVideo.Milliseconds())/float64(b.N), "ms-to-first-video")
}
