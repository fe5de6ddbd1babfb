package capture

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/mediadevices/pkg/wave"
)

// Tone parameters. The beep starts on every wall-clock second, as the test
// pattern's flash does, and is an octave-plus away from the tone so a filter
// separates them easily when measuring sync.
const (
	toneHz      = 440
	beepHz      = 1000
	beepLength  = 100 * time.Millisecond
	toneLevel   = 0.1  // -20 dBFS
	beepLevel   = 0.35 // about -9 dBFS
	toneChunkMs = 10
)

// testTone is the test tone t seconds after the start of some wall-clock
// second, full scale ±1: the 440 Hz tone, or the beep in the first
// beepLength of each second. The test tone device and a drifting one
// (NewDriftingTestTone) both sound like this.
func testTone(t float64) float64 {
	if sec := math.Mod(t, 1); sec < beepLength.Seconds() {
		return beepLevel * math.Sin(2*math.Pi*beepHz*sec)
	}
	return toneLevel * math.Sin(2*math.Pi*toneHz*t)
}

// tone is a sine source with a beep once a second.
type tone struct{ openState }

func (d *tone) Properties() []prop.Media {
	var ps []prop.Media
	for _, rate := range []int{48000, 44100} {
		ps = append(ps, prop.Media{Audio: prop.Audio{SampleRate: rate, ChannelCount: 2, SampleSize: 2,
			IsInterleaved: true, Latency: toneChunkMs * time.Millisecond}})
	}
	return ps
}

// AudioRecord starts the tone. Read blocks until the next 10 ms chunk is due.
func (d *tone) AudioRecord(p prop.Media) (audio.Reader, error) {
	rate, channels := p.SampleRate, p.ChannelCount
	if rate < 8000 || rate > 192000 {
		return nil, fmt.Errorf("test tone: sample rate %d out of range", rate)
	}
	if channels < 1 || channels > 8 {
		return nil, fmt.Errorf("test tone: %d channels out of range", channels)
	}
	chunk := rate * toneChunkMs / 1000
	start := time.Now()
	// Sample s plays at wall time start + s/rate; the beep follows wall seconds.
	startFrac := float64(start.UnixNano()%1e9) / 1e9
	var s int64
	return audio.ReaderFunc(func() (wave.Audio, func(), error) {
		if d.isClosed() {
			return nil, nil, io.EOF
		}
		if wait := time.Until(start.Add(time.Duration(s) * time.Second / time.Duration(rate))); wait > 0 {
			time.Sleep(wait)
		}
		a := wave.NewInt16Interleaved(wave.ChunkInfo{Len: chunk, Channels: channels, SamplingRate: rate})
		for i := 0; i < chunk; i++ {
			sample := wave.Int16Sample(testTone(startFrac+float64(s+int64(i))/float64(rate)) * math.MaxInt16)
			for c := 0; c < channels; c++ {
				a.SetInt16(i, c, sample)
			}
		}
		s += int64(chunk)
		return a, func() {}, nil
	}), nil
}
