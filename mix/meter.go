package mix

import (
	"math"
	"sync"
)

// Level is a meter reading in dBFS, -inf when silent. PeakDB is the highest
// sample of the last 100 ms, PeakHoldDB the highest of the last 1.5 s, RMSDB
// the RMS of the last 300 ms, both channels together (a sine's RMS is 3 dB
// under its peak).
type Level struct{ PeakDB, PeakHoldDB, RMSDB float64 }

// The meter's windows, in blocks.
const (
	peakBlocks = 10
	rmsBlocks  = 30
	holdBlocks = 150
)

// meter keeps each block's peak and energy for the last holdBlocks blocks:
// Mix adds a block, the window reads them at its own pace.
type meter struct {
	mu   sync.Mutex
	peak [holdBlocks]float32
	sq   [holdBlocks]float64 // sum of the squares of the block's samples
	next int                 // the slot the next block goes in
	n    int                 // blocks held, up to holdBlocks
}

func (m *meter) add(peak float32, sq float64) {
	m.mu.Lock()
	m.peak[m.next], m.sq[m.next] = peak, sq
	m.next = (m.next + 1) % holdBlocks
	m.n = min(m.n+1, holdBlocks)
	m.mu.Unlock()
}

func (m *meter) level() Level {
	m.mu.Lock()
	defer m.mu.Unlock()
	var peak, hold float32
	var sq float64
	for k := 1; k <= m.n; k++ {
		i := (m.next - k + holdBlocks) % holdBlocks
		hold = max(hold, m.peak[i])
		if k <= peakBlocks {
			peak = max(peak, m.peak[i])
		}
		if k <= rmsBlocks {
			sq += m.sq[i]
		}
	}
	rms := 0.0
	if n := min(m.n, rmsBlocks); n > 0 {
		rms = math.Sqrt(sq / float64(n*BlockFrames*Channels))
	}
	return Level{PeakDB: gainToDB(float64(peak)), PeakHoldDB: gainToDB(float64(hold)), RMSDB: gainToDB(rms)}
}
