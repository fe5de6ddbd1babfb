package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// heapSampler records the largest heap seen while it runs.
type heapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

func sampleHeap() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > h.peak.Load() {
				h.peak.Store(m.HeapInuse)
			}
			select {
			case <-h.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return h
}

func (h *heapSampler) end() uint64 {
	close(h.stop)
	<-h.done
	return h.peak.Load()
}

func heapNow() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// A client sending 10 000 requests a second gets every answer, in order, at
// the rate the server allows it, while another client's requests are
// answered promptly and the heap stays bounded.
func TestFloodOfRequestsIsServedInOrderWithoutStarvingOthersOrGrowingMemory(t *testing.T) {
	f := newFake()
	s, _ := startServer(t, f, Config{})
	flood := login(t, s, new(Subscription))
	other := login(t, s, nil)
	base := heapNow()
	heap := sampleHeap()

	const n = 10_000
	start := time.Now()
	sent := make(chan error, 1)
	go func() {
		// 10 000 a second: a burst of 100 every 10 ms.
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < n; i++ {
			if i%100 == 0 {
				<-tick.C
			}
			b, _ := json.Marshal(outMessage{Op: OpRequest, D: map[string]any{"requestType": "GetVersion", "requestId": fmt.Sprint(i)}})
			if err := flood.sendRaw(b); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()

	var worst time.Duration
	var got atomic.Int64
	readDone := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			m, err := flood.read()
			if err != nil {
				readDone <- err
				return
			}
			var r response
			if err := json.Unmarshal(m.D, &r); err != nil || r.ID != fmt.Sprint(i) || !r.Status.Result {
				readDone <- fmt.Errorf("answer %d: %s", i, m.D)
				return
			}
			got.Add(1)
		}
		readDone <- nil
	}()
	// Meanwhile another client is served, and hears a scene change.
	for time.Since(start) < time.Second || got.Load() < n/2 {
		t0 := time.Now()
		other.call("GetStreamStatus", nil)
		worst = max(worst, time.Since(t0))
		time.Sleep(20 * time.Millisecond)
		if time.Since(start) > 30*time.Second {
			t.Fatal("the flood was not served in 30 s")
		}
	}
	other.call("SetCurrentProgramScene", map[string]any{"sceneName": "Camera"})
	t0 := time.Now()
	other.event("CurrentProgramSceneChanged")
	eventWait := time.Since(t0)
	if err := <-readDone; err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	peak := heap.end()
	t.Logf("%d requests answered in %v (%.0f/s); the other client's slowest answer %v, its event after %v; heap %d → peak %d KiB",
		n, took.Round(time.Millisecond), n/took.Seconds(), worst.Round(time.Microsecond), eventWait.Round(time.Microsecond), base>>10, peak>>10)
	if worst > time.Second || eventWait > 2*time.Second {
		t.Errorf("the other client waited %v for an answer, %v for an event", worst, eventWait)
	}
	if peak > base+64<<20 {
		t.Errorf("heap grew from %d to %d KiB under the flood", base>>10, peak>>10)
	}
	// The flood was slowed to the configured rate, not answered at once.
	if rate := n / took.Seconds(); rate > 2000*1.3 {
		t.Errorf("answered %.0f requests a second, above the 2000 allowed", rate)
	}
}

// A client that sends requests and never reads what comes back is dropped
// once its queue and the connection are full; it never holds up the events
// the other clients get, and the server does not grow while it waits.
func TestClientThatNeverReadsIsDroppedWithoutHoldingUpOthers(t *testing.T) {
	f := newFake()
	s, logs := startServer(t, f, Config{WriteTimeout: 500 * time.Millisecond, SendQueue: 64})
	deaf := login(t, s, nil)
	listener := login(t, s, nil)
	base := heapNow()
	heap := sampleHeap()

	// The deaf client floods big requests' answers without reading: each
	// GetVersion answer is ~700 bytes, so the socket buffers fill.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		b, _ := json.Marshal(outMessage{Op: OpRequest, D: map[string]any{"requestType": "GetVersion", "requestId": strings.Repeat("x", 4000)}})
		for ctx.Err() == nil {
			wctx, c := context.WithTimeout(ctx, time.Second)
			err := deaf.conn.Write(wctx, websocket.MessageText, b)
			c()
			if err != nil && ctx.Err() == nil && websocket.CloseStatus(err) != -1 {
				return
			}
			if err != nil && !strings.Contains(err.Error(), "deadline") {
				return // the server dropped it
			}
		}
	}()
	// Events keep reaching the listener while the deaf client is stuck.
	for i, name := range []string{"Camera", "Ending", "Starting", "Camera"} {
		t0 := time.Now()
		listener.call("SetCurrentProgramScene", map[string]any{"sceneName": name})
		if ev := listener.event("CurrentProgramSceneChanged"); ev["sceneName"] != name {
			t.Fatalf("event %d: %v", i, ev)
		}
		if d := time.Since(t0); d > time.Second {
			t.Errorf("the listener waited %v for its event", d)
		}
		time.Sleep(300 * time.Millisecond)
	}
	waitFor(t, func() bool { return s.Clients() == 1 }, "the deaf client to be dropped")
	cancel()
	wg.Wait()
	peak := heap.end()
	t.Logf("heap %d → peak %d KiB while a client did not read", base>>10, peak>>10)
	if peak > base+32<<20 {
		t.Errorf("heap grew from %d to %d KiB", base>>10, peak>>10)
	}
	if !strings.Contains(logs.String(), "does not read") {
		t.Errorf("the drop is not logged:\n%s", logs)
	}
	// The listener is still served.
	if r := listener.call("GetVersion", nil); !r.Status.Result {
		t.Fatal(r.Status)
	}
}

// Events come faster than a client that does not read takes them: its
// queue fills and it is dropped, while a reading client gets every one.
func TestEventsOverflowingADeafClientDropItAndReachTheOthersWhole(t *testing.T) {
	f := newFake()
	s, _ := startServer(t, f, Config{WriteTimeout: 500 * time.Millisecond, SendQueue: 64})
	login(t, s, nil) // deaf: it never reads again
	reader := login(t, s, nil)
	const n = 600
	pad := strings.Repeat("p", 16<<10)
	done := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			m, err := reader.read()
			if err != nil {
				done <- fmt.Errorf("event %d: %w", i, err)
				return
			}
			var ev struct {
				Data struct{ I int } `json:"eventData"`
			}
			if err := json.Unmarshal(m.D, &ev); err != nil || ev.Data.I != i {
				done <- fmt.Errorf("event %d: got %d (%v)", i, ev.Data.I, err)
				return
			}
		}
		done <- nil
	}()
	// 16 KiB every 2 ms: 8 MB/s, far more than the socket buffers hold for
	// a client that does not read.
	for i := 0; i < n; i++ {
		s.broadcast(event{Type: "TestEvent", Intent: SubGeneral, Data: map[string]any{"i": i, "pad": pad}})
		time.Sleep(2 * time.Millisecond)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.Clients() == 1 }, "the deaf client to be dropped")
}

// Closing the server ends every session and its goroutines.
func TestCloseDisconnectsClientsAndEndsItsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	f := newFake()
	s, _ := startServer(t, f, Config{})
	cs := []*client{login(t, s, nil), login(t, s, nil), dial(t, s)}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	// Each client reads at once, as a live client would, so that each
	// close handshake completes.
	codes := make(chan websocket.StatusCode, len(cs))
	for _, c := range cs {
		go func() {
			for {
				_, _, err := c.conn.Read(context.Background())
				if err != nil {
					codes <- websocket.CloseStatus(err)
					return
				}
			}
		}()
	}
	for range cs {
		if code := <-codes; code != websocket.StatusGoingAway {
			t.Errorf("close code %d, want going away", code)
		}
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		_ = c.conn.CloseNow()
	}
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before+2 }, fmt.Sprintf("goroutines to end (%d before)", before))
}

func TestTooManyClientsAreRefused(t *testing.T) {
	s, _ := startServer(t, newFake(), Config{MaxClients: 2})
	login(t, s, nil)
	login(t, s, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws://"+s.Addr().String(), nil)
	if err == nil || resp == nil || resp.StatusCode != 503 {
		t.Fatalf("third client: %v %v", err, resp)
	}
}

func TestClientThatNeverIdentifiesIsClosed(t *testing.T) {
	s, _ := startServer(t, newFake(), Config{IdentifyTimeout: 200 * time.Millisecond})
	c := dial(t, s)
	c.mustRead(OpHello)
	if code := c.closeCode(); code != websocket.StatusCode(CloseNotIdentified) {
		t.Fatalf("close code %d, want 4007", code)
	}
}
