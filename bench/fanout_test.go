package bench

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
	"github.com/tallystudio/tally/rtmpclient"
)

// BenchmarkDestinations is one encode's packets fanned out to 1, 2 and 4
// destinations (nginx-rtmp, its own process). Each op publishes the 60 s,
// 6 Mb/s stream to every destination; cpu-ms/stream-s is the client's CPU per
// second of stream, so the cost of each extra destination at 6 Mb/s is the
// difference between rows (target ≤ 1 % of a core, 10 ms per second).
func BenchmarkDestinations(b *testing.B) {
	ng := peers.StartNginx(b, peers.NginxOptions{})
	addr := "127.0.0.1:" + strconv.Itoa(ng.Port)
	pkts, total := stream()
	name := 0
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("%d", n), func(b *testing.B) {
			b.SetBytes(total * int64(n))
			b.ReportAllocs()
			cpu := cpuTime()
			b.ResetTimer()
			for range b.N {
				var fan rtmpclient.Fanout
				var pubs []*rtmpclient.Publisher
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, n)
				for range n {
					name++
					ep, _ := rtmpclient.ParseURL("rtmp://"+addr+"/live", fmt.Sprintf("fan%d", name))
					p := rtmpclient.NewPublisher(rtmpclient.PublisherConfig{Endpoint: ep, DropThreshold: 5 * time.Second})
					pubs = append(pubs, p)
					fan.Add(p)
					go func() { done <- p.Run(ctx) }()
				}
				for _, pk := range pkts {
					typ := uint8(rtmpclient.TypeAudio)
					if pk.video {
						typ = rtmpclient.TypeVideo
					}
					// Pace by the slowest queue, as a live encoder's clock would.
					for _, p := range pubs {
						for p.Stats().QueueDuration > time.Second {
							time.Sleep(200 * time.Microsecond)
						}
					}
					fan.Write(rtmpclient.Packet{Type: typ, DTS: pk.dts, Payload: pk.body, Keyframe: pk.key})
				}
				for _, p := range pubs {
					for p.Stats().QueuePackets > 0 {
						time.Sleep(time.Millisecond)
					}
				}
				cancel()
				for range n {
					if err := <-done; err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			streamSeconds := 60 * float64(b.N)
			b.ReportMetric(float64((cpuTime()-cpu).Milliseconds())/streamSeconds, "cpu-ms/stream-s")
		})
	}
}
