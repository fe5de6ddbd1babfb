package cputime

import (
	"testing"
	"time"
)

// The stats' CPU figure is the rate of Process, so it must grow while this
// process computes. Waiting for 50 ms of CPU rather than a fixed wall time
// keeps the test honest on a loaded machine, and coarse clocks (Windows ticks
// at 15.6 ms) still move within it.
func TestProcessGrowsWithCPUWork(t *testing.T) {
	start := Process()
	deadline := time.Now().Add(10 * time.Second)
	x := uint64(1)
	for Process()-start < 50*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("CPU time grew by %v in 10 s of busy work, want at least 50ms", Process()-start)
		}
		for range 100_000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	if x == 0 {
		t.Log(x) // keeps the loop from being optimised away
	}
}
