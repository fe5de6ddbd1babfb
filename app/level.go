package app

import (
	"math"
	"sync"
	"time"
)

// Level is the audio meter's reading in dBFS (0 is full scale); -Inf is silence
// or no source.
type Level struct {
	PeakDB, RMSDB float64
}

var silence = Level{PeakDB: math.Inf(-1), RMSDB: math.Inf(-1)}

// levelMeter measures peak and RMS over windows of about 50 ms, the ballistics
// of a simple VU-style meter, so the UI can poll it at any rate.
type levelMeter struct {
	mu      sync.Mutex
	sumSq   float64
	peak    float64
	n       int // samples in the window (all channels)
	window  int
	last    Level
	updated time.Time
}

func (m *levelMeter) add(s []int16, rate, channels int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.window = max(rate*max(channels, 1)/20, 1)
	for _, v := range s {
		f := float64(v) / 32768
		m.sumSq += f * f
		if a := math.Abs(f); a > m.peak {
			m.peak = a
		}
		m.n++
		if m.n >= m.window {
			m.last = Level{PeakDB: dbfs(m.peak), RMSDB: dbfs(math.Sqrt(m.sumSq / float64(m.n)))}
			m.updated = time.Now()
			m.sumSq, m.peak, m.n = 0, 0, 0
		}
	}
}

func (m *levelMeter) read() Level {
	m.mu.Lock()
	defer m.mu.Unlock()
	// A source that stopped delivering is silent, not stuck at its last level.
	if m.updated.IsZero() || time.Since(m.updated) > 500*time.Millisecond {
		return silence
	}
	return m.last
}

func (m *levelMeter) reset() {
	m.mu.Lock()
	m.sumSq, m.peak, m.n, m.updated = 0, 0, 0, time.Time{}
	m.mu.Unlock()
}

func dbfs(a float64) float64 {
	if a <= 0 {
		return math.Inf(-1)
	}
	return math.Round(20*math.Log10(a)*10) / 10
}
