package rtmpclient

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"
)

func TestInterleaverEmitsInDecodeOrder(t *testing.T) {
	var got []Packet
	il := NewInterleaver(true, true, func(p Packet) { got = append(got, p) })
	// Video arrives in bursts ahead of audio, as a slower encoder would deliver it.
	all := synthStream(3, 60, false, 8)
	var video, audio []Packet
	for _, p := range all {
		if p.Type == TypeVideo {
			video = append(video, p)
		} else {
			audio = append(audio, p)
		}
	}
	// Each track is delivered in bursts up to a moving time, video first.
	for until := int64(150); len(video) > 0 || len(audio) > 0; until += 150 {
		for len(video) > 0 && video[0].DTS < until {
			il.Push(video[0])
			video = video[1:]
		}
		for len(audio) > 0 && audio[0].DTS < until {
			il.Push(audio[0])
			audio = audio[1:]
		}
	}
	il.Flush()
	if len(got) != len(all) {
		t.Fatalf("emitted %d of %d", len(got), len(all))
	}
	for i := 1; i < len(got); i++ {
		if got[i].DTS < got[i-1].DTS {
			t.Fatalf("packet %d at %d ms after one at %d ms", i, got[i].DTS, got[i-1].DTS)
		}
	}
}

func TestInterleaverDoesNotWaitForeverForASilentTrack(t *testing.T) {
	var got []Packet
	il := NewInterleaver(true, true, func(p Packet) { got = append(got, p) })
	for i := 0; i < 30; i++ { // one second of video, no audio at all
		il.Push(Packet{Type: TypeVideo, DTS: int64(i * 33), Payload: []byte{1}})
	}
	if len(got) < 10 {
		t.Fatalf("held %d of 30 video frames waiting for audio that never came", 30-len(got))
	}
	il.Push(Packet{Type: TypeVideo, Header: true, Payload: []byte{2}})
	if !got[len(got)-1].Header {
		t.Fatal("a sequence header was held back")
	}
}

// One slow destination must not slow the others: each has its own queue.
func TestFanoutSlowDestinationDoesNotStallOthers(t *testing.T) {
	fast := sinkServer(t)
	stuck := stalledServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var f Fanout
	pf := NewPublisher(PublisherConfig{Endpoint: fast, DropThreshold: 700 * time.Millisecond})
	ps := NewPublisher(PublisherConfig{Endpoint: stuck, DropThreshold: 700 * time.Millisecond, Options: Options{WriteTimeout: 30 * time.Second}})
	f.Add(pf)
	f.Add(ps)
	var wg sync.WaitGroup
	for _, p := range []*Publisher{pf, ps} {
		wg.Add(1)
		go func() { defer wg.Done(); _ = p.Run(ctx) }()
	}
	waitStable(t, func() bool { return pf.Stats().State == StateLive && ps.Stats().State == StateLive })
	// Four seconds of 24 Mb/s media (more than any socket buffer holds), written
	// in real time as an encoder would.
	start := time.Now()
	for _, pk := range synthStream(4, 60, true, 100_000) {
		if wait := time.Duration(pk.DTS)*time.Millisecond - time.Since(start); wait > 0 {
			time.Sleep(wait)
		}
		f.Write(pk)
	}
	if took := time.Since(start); took > 6*time.Second {
		t.Errorf("writing took %v: the stalled destination blocked the writer", took)
	}
	// Empty queue is not enough: the last batch may still be on its way out.
	waitStable(t, func() bool {
		st := pf.Stats()
		return st.QueuePackets == 0 && st.VideoFramesSent+st.DroppedVideo >= 120
	})
	sf, ss := pf.Stats(), ps.Stats()
	if sf.VideoFramesSent != 120 || sf.DroppedVideo != 0 {
		t.Errorf("fast destination sent %d, dropped %d; want 120 and 0", sf.VideoFramesSent, sf.DroppedVideo)
	}
	if ss.DroppedVideo == 0 || ss.QueueDuration > 700*time.Millisecond+2*time.Second {
		t.Errorf("stalled destination: dropped %d, queue %v", ss.DroppedVideo, ss.QueueDuration)
	}
	cancel()
	wg.Wait()
}

// stalledServer completes the publish sequence and then never reads again, as a
// server behind a dead link would look. Its small receive buffer makes the stall
// show after kilobytes rather than megabytes.
func stalledServer(tb testing.TB) Endpoint {
	stop := make(chan struct{})
	addr := fakeServer(tb, func(nc net.Conn, tr *transport) {
		_ = nc.(*net.TCPConn).SetReadBuffer(16 << 10)
		if acceptPublish(tr) {
			<-stop
		}
	})
	// Registered after fakeServer's own clean-up, so it runs first (LIFO) and
	// releases the handlers that clean-up waits for.
	tb.Cleanup(func() { close(stop) })
	return endpointAt(tb, addr)
}

// A promise about the next audio time lets video go without waiting for the
// audio packet itself, and order is still kept.
func TestInterleaverAdvanceReleasesWithoutBreakingOrder(t *testing.T) {
	var got []Packet
	il := NewInterleaver(true, true, func(p Packet) { got = append(got, p) })
	il.Push(Packet{Type: TypeAudio, DTS: 0, Payload: []byte{1}})
	il.Push(Packet{Type: TypeVideo, DTS: 10, Payload: []byte{1}})
	il.Push(Packet{Type: TypeVideo, DTS: 40, Payload: []byte{1}})
	if len(got) != 1 {
		t.Fatalf("%d emitted before any promise, want only the audio at 0", len(got))
	}
	il.Advance(TypeAudio, 21) // the next audio packet is at 21 ms or later
	if len(got) != 2 || got[1].DTS != 10 {
		t.Fatalf("after Advance(21): %v", got)
	}
	il.Push(Packet{Type: TypeAudio, DTS: 21, Payload: []byte{1}})
	il.Flush()
	for i := 1; i < len(got); i++ {
		if got[i].DTS < got[i-1].DTS {
			t.Fatalf("out of order: %v", got)
		}
	}
}

func TestInterleaverOrdersSeveralVideoTracksAndTheSound(t *testing.T) {
	var got []Packet
	il := NewInterleaverTracks(2, true, func(p Packet) { got = append(got, p) })
	// Track 1's encoder runs three frames behind track 0's, as a slower
	// codec's lookahead would: its packets arrive late but must not go out
	// after later ones of track 0.
	for i := 0; i < 30; i++ {
		il.Push(Packet{Type: TypeVideo, Track: 0, DTS: int64(i * 33), Payload: []byte{0}})
		if i >= 3 {
			il.Push(Packet{Type: TypeVideo, Track: 1, DTS: int64((i - 3) * 33), Payload: []byte{1}})
		}
		il.Push(Packet{Type: TypeAudio, DTS: int64(i * 33), Payload: []byte{2}})
	}
	il.Push(Packet{Type: TypeVideo, Track: 1, Header: true, Payload: []byte{3}})
	if last := got[len(got)-1]; !last.Header || last.Track != 1 {
		t.Errorf("track 1's header was held back: last out %+v", last)
	}
	il.Flush()
	seen := map[uint8]int{}
	var last int64 = -1
	for _, p := range got {
		if p.Header {
			continue
		}
		if p.DTS < last {
			t.Fatalf("a packet at %d ms went out after one at %d ms", p.DTS, last)
		}
		last = p.DTS
		if p.Type == TypeVideo {
			seen[p.Track]++
		}
	}
	if seen[0] != 30 || seen[1] != 27 {
		t.Errorf("sent %d frames of track 0 and %d of track 1; want 30 and 27", seen[0], seen[1])
	}
}
