package remote

import (
	"encoding/json"
	"fmt"
	"testing"
)

// BenchmarkRequestRoundTrip is what one client gets without the rate limit:
// a request written, answered and read back, one at a time.
func BenchmarkRequestRoundTrip(b *testing.B) {
	s, _ := startServer(b, newFake(), Config{RequestsPerSecond: 1e9, Burst: 1 << 30})
	c := login(b, s, new(Subscription))
	req, _ := json.Marshal(outMessage{Op: OpRequest, D: map[string]any{"requestType": "GetStreamStatus", "requestId": "r"}})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.sendRaw(req); err != nil {
			b.Fatal(err)
		}
		if _, err := c.read(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPipelinedRequests keeps 64 requests in flight: the server's
// throughput for one client when it is not held to a rate.
func BenchmarkPipelinedRequests(b *testing.B) {
	s, _ := startServer(b, newFake(), Config{RequestsPerSecond: 1e9, Burst: 1 << 30})
	c := login(b, s, new(Subscription))
	errs := make(chan error, 1)
	go func() {
		for i := 0; i < b.N; i++ {
			if _, err := c.read(); err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := json.Marshal(outMessage{Op: OpRequest, D: map[string]any{"requestType": "GetStreamStatus", "requestId": fmt.Sprint(i)}})
		if err := c.sendRaw(req); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}
