package mix

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// Sources push from goroutines of their own while Mix runs and the settings
// change under them: filters rebuilt, delays, gains, SetActive, strips added
// and removed, the master changed, meters and stats read; then Close while
// the sources still push. Run under -race.
func TestConcurrentPushMixAndChanges(t *testing.T) {
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var stop atomic.Bool
	errs := make(chan error, 16)
	push := func(s *Strip, tn *tone) {
		defer wg.Done()
		for !stop.Load() {
			err := s.Push(tn.next(int(tn.rate)/100), int(tn.rate), tn.channels)
			if errors.Is(err, ErrClosed) {
				return
			}
			if err != nil {
				errs <- err
				return
			}
		}
	}
	var strips []*Strip
	for i, tn := range []*tone{newTone(440, 48000, 2, -12), newTone(550, 44100, 1, -12), newTone(660, 32000, 2, -12)} {
		s, err := m.AddStrip(fmt.Sprint("src", i), StripConfig{Filters: []Filter{{Kind: NoiseGate}}})
		if err != nil {
			t.Fatal(err)
		}
		strips = append(strips, s)
		wg.Add(1)
		go push(s, tn)
	}

	wg.Add(1)
	go func() { // the program clock
		defer wg.Done()
		out := make([]int16, Channels*BlockFrames)
		for !stop.Load() {
			if err := m.Mix(out); err != nil {
				if !errors.Is(err, ErrClosed) {
					errs <- err
				}
				return
			}
		}
	}()

	for i := range 40 { // the user
		s := strips[i%len(strips)]
		cfg := StripConfig{GainDB: float64(-i % 12), SyncMS: 10 * (i % 3), Mono: i%2 == 0}
		if i%4 == 0 {
			cfg.Filters = []Filter{{Kind: Compressor}, {Kind: Limiter}}
		}
		if err := s.SetConfig(cfg); err != nil {
			t.Fatal(err)
		}
		m.SetActive(s.ID(), i%3 != 0)
		m.SetMaster(float64(-i%6), i%5 != 0, -1)
		_, _, _ = s.Level(), s.Stats(), m.MasterLevel()
		if i%10 == 0 {
			id := fmt.Sprint("extra", i)
			x, err := m.AddStrip(id, StripConfig{})
			if err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go push(x, newTone(880, 48000, 2, -12))
			defer m.RemoveStrip(id)
		}
		if i%10 == 5 {
			m.RemoveStrip(fmt.Sprint("extra", i-5))
		}
	}
	m.Close()
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := strips[0].Push(make([]int16, 960), 48000, 2); !errors.Is(err, ErrClosed) {
		t.Errorf("Push after Close: %v, want ErrClosed", err)
	}
}
