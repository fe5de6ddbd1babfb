package rtmpclient

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// sinkServer accepts publishers, answers the publish sequence, and then reads
// and discards everything: the far end of a loopback link with no server cost.
func sinkServer(tb testing.TB) Endpoint {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				if serverHandshake(nc) != nil {
					return
				}
				tr := newTransport(nc, defaultReadLimits)
				if c, ok := answerUntil(tr, "publish"); ok {
					_ = c
					replyCmd(tr, 1, "onStatus", 0, nil, status("status", "NetStream.Publish.Start", ""))
				}
				_, _ = io.Copy(io.Discard, tr.br)
			}()
		}
	}()
	tb.Cleanup(func() { l.Close() })
	ep, err := ParseURL("rtmp://"+l.Addr().String()+"/live", testKey)
	if err != nil {
		tb.Fatal(err)
	}
	return ep
}

// publishThrough sends pkts through a Publisher as fast as the link takes them.
func publishThrough(tb testing.TB, ep Endpoint, pkts []Packet) PublisherStats {
	p := NewPublisher(PublisherConfig{Endpoint: ep, DropThreshold: 2 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	for _, pk := range pkts {
		if err := p.WriteWait(ctx, pk); err != nil {
			tb.Fatal(err)
		}
	}
	for p.Stats().QueuePackets > 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		tb.Fatal(err)
	}
	return p.Stats()
}

// BenchmarkPublisherLoopback is the whole send path on a real socket: queue,
// batching, chunking and the kernel's loopback, at 6 Mb/s-sized frames.
func BenchmarkPublisherLoopback(b *testing.B) {
	ep := sinkServer(b)
	pkts := synthStream(60, 60, true, 25_000)
	var bytes int64
	for _, p := range pkts {
		bytes += int64(len(p.Payload))
	}
	b.SetBytes(bytes)
	b.ReportAllocs()
	for b.Loop() {
		st := publishThrough(b, ep, pkts)
		if st.DroppedVideo != 0 {
			b.Fatalf("dropped %d frames", st.DroppedVideo)
		}
	}
}

// BenchmarkPublishHourAtSixMbps publishes one hour of a 6 Mb/s stream (30 fps
// video, 160 kb/s audio) through loopback and reports the wall time it took.
func BenchmarkPublishHourAtSixMbps(b *testing.B) {
	ep := sinkServer(b)
	// Payloads come from a small pool, as an encoder's output would be fresh in
	// cache; two hours of distinct buffers would measure page faults instead.
	hour := synthStream(benchSeconds, 60, true, 0)
	var pool [][]byte
	for _, p := range synthStream(2, 60, true, 6_000_000/8/30) {
		if p.Type == TypeVideo {
			pool = append(pool, p.Payload)
		}
	}
	for i, n := 0, 0; i < len(hour); i++ {
		if hour[i].Type == TypeVideo {
			hour[i].Payload = pool[n%len(pool)]
			n++
		}
	}
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		st := publishThrough(b, ep, hour)
		b.ReportMetric(time.Since(start).Seconds(), "wall-s/hour")
		b.ReportMetric(float64(st.BytesSent)/1e9, "GB/hour")
	}
}

// benchSeconds is the stream length BenchmarkPublishHourAtSixMbps sends.
var benchSeconds = 3600

func newStallListener(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	stop := make(chan struct{})
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				// A small receive buffer, so the stall shows after kilobytes, not megabytes.
				_ = nc.(*net.TCPConn).SetReadBuffer(16 << 10)
				if serverHandshake(nc) != nil {
					return
				}
				tr := newTransport(nc, defaultReadLimits)
				if _, ok := answerUntil(tr, "publish"); ok {
					replyCmd(tr, 1, "onStatus", 0, nil, status("status", "NetStream.Publish.Start", ""))
				}
				<-stop // never read again
			}()
		}
	}()
	tb.Cleanup(func() { close(stop); l.Close() })
	return l.Addr().String()
}
