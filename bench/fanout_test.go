package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
	"github.com/tallystudio/tally/rtmpclient"
)

// BenchmarkDestinations is one encode's packets fanned out to 1, 2 and 4
// destinations (nginx-rtmp, its own process). Each op publishes the 60 s,
// 6 Mb/s stream to every destination; cpu-ms/stream-s is the client's CPU per
// second of stream and peak-RSS-MB the process's high-water mark while
// publishing (the 46 MB of packets every row shares included), so the cost of
// each extra destination at 6 Mb/s is the difference between rows (target
// ≤ 1 % of a core, 10 ms per second).
func BenchmarkDestinations(b *testing.B) {
	ng := peers.StartNginx(b, peers.NginxOptions{})
	addr := "127.0.0.1:" + strconv.Itoa(ng.Port)
	pkts, total := stream()
	name := 0
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("%d", n), func(b *testing.B) {
			b.SetBytes(total * int64(n))
			b.ReportAllocs()
			resetPeakRSS()
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
			b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
		})
	}
}

// resetPeakRSS restarts the kernel's high-water mark of this process's
// resident memory (VmHWM), so each sub-benchmark reports its own peak.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMB is VmHWM from /proc/self/status in MB (0 where there is none).
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}
