package rtmpclient

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// fakeServer accepts clients on loopback, completes the handshake with each,
// and hands the connection to handle. It returns the server's address.
func fakeServer(tb testing.TB, handle func(nc net.Conn, tr *transport)) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				if serverHandshake(nc) != nil {
					return
				}
				handle(nc, newTransport(nc, defaultReadLimits))
			}()
		}
	}()
	tb.Cleanup(func() { l.Close(); wg.Wait() })
	return l.Addr().String()
}

func endpointAt(tb testing.TB, addr string) Endpoint {
	tb.Helper()
	ep, err := ParseURL("rtmp://"+addr+"/live", testKey)
	if err != nil {
		tb.Fatal(err)
	}
	return ep
}

// acceptPublish plays a server through the publish sequence and says Start.
func acceptPublish(tr *transport) bool {
	if _, ok := answerUntil(tr, "publish"); !ok {
		return false
	}
	replyCmd(tr, 1, "onStatus", 0, nil, status("status", "NetStream.Publish.Start", ""))
	return true
}

// sinkServer accepts publishers and reads and discards everything they send:
// the far end of a loopback link with no server cost.
func sinkServer(tb testing.TB) Endpoint {
	return endpointAt(tb, fakeServer(tb, func(nc net.Conn, tr *transport) {
		if acceptPublish(tr) {
			_, _ = io.Copy(io.Discard, tr.br)
		}
	}))
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
		st := publishAll(b, ep, Options{}, pkts)
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
		st := publishAll(b, ep, Options{}, hour)
		b.ReportMetric(time.Since(start).Seconds(), "wall-s/hour")
		b.ReportMetric(float64(st.BytesSent)/1e9, "GB/hour")
	}
}

// benchSeconds is the stream length BenchmarkPublishHourAtSixMbps sends.
var benchSeconds = 3600
