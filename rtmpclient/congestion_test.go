package rtmpclient

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// synthStream makes a 30 fps video / 48 kHz AAC packet sequence. Frame i carries
// its index in the payload so tests can tell which frames survived. Every gop-th
// frame is a keyframe; with bframes, every third frame is disposable.
func synthStream(seconds int, gop int, bframes bool, videoBytes int) []Packet {
	var pkts []Packet
	audioNext := 0.0
	for i := 0; i < seconds*30; i++ {
		dts := int64(i) * 1000 / 30
		for audioNext <= float64(dts) {
			pkts = append(pkts, Packet{Type: TypeAudio, DTS: int64(audioNext), Payload: make([]byte, 400)})
			audioNext += 1024.0 * 1000 / 48000
		}
		p := make([]byte, max(videoBytes, 8))
		binary.BigEndian.PutUint64(p, uint64(i))
		pkts = append(pkts, Packet{Type: TypeVideo, DTS: dts, Payload: p, Keyframe: i%gop == 0,
			Disposable: bframes && i%gop != 0 && i%3 == 2})
	}
	return pkts
}

func frameIndex(p Packet) int { return int(binary.BigEndian.Uint64(p.Payload)) }

// queued returns what is waiting, as the sender would send it.
func queued(p *Publisher) []Packet {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Packet(nil), p.q[p.head:]...)
}

// decodable checks that every queued video frame's reference survived: after a
// missing frame, the next one present must be a keyframe (disposable frames are
// referenced by nothing, so their loss breaks nothing).
func decodable(t *testing.T, pkts []Packet, all []Packet) {
	t.Helper()
	disposable := map[int]bool{}
	for _, p := range all {
		if p.Type == TypeVideo {
			disposable[frameIndex(p)] = p.Disposable
		}
	}
	last := -1
	for _, p := range pkts {
		if p.Type != TypeVideo {
			continue
		}
		i := frameIndex(p)
		if last >= 0 && !p.Keyframe {
			for missing := last + 1; missing < i; missing++ {
				if !disposable[missing] {
					t.Fatalf("frame %d is queued but frame %d it depends on was dropped", i, missing)
				}
			}
		}
		last = i
	}
}

func TestQueueUnderThresholdDropsNothing(t *testing.T) {
	p := NewPublisher(PublisherConfig{DropThreshold: 700 * time.Millisecond})
	for _, pk := range synthStream(1, 60, true, 100)[:40] { // ~0.5 s
		p.Write(pk)
	}
	if st := p.Stats(); st.DroppedVideo+st.DroppedAudio != 0 {
		t.Fatalf("dropped %d/%d under the threshold", st.DroppedVideo, st.DroppedAudio)
	}
}

func TestCongestionDropsDisposableFramesFirst(t *testing.T) {
	all := synthStream(1, 300, true, 100) // no keyframe after the first
	p := NewPublisher(PublisherConfig{DropThreshold: 700 * time.Millisecond})
	for _, pk := range all {
		p.Write(pk)
	}
	q := queued(p)
	for _, pk := range q {
		if pk.Disposable {
			t.Fatalf("disposable frame %d still queued past the threshold", frameIndex(pk))
		}
	}
	st := p.Stats()
	if st.DroppedVideo == 0 || st.DroppedAudio != 0 {
		t.Fatalf("dropped video %d audio %d", st.DroppedVideo, st.DroppedAudio)
	}
	decodable(t, q, all)
}

// A link that takes nothing: the queue stays within the threshold plus one GOP,
// audio is kept, and what is queued always decodes.
func TestCongestionKeepsQueueBoundedAndDecodable(t *testing.T) {
	all := synthStream(20, 60, false, 100)
	p := NewPublisher(PublisherConfig{DropThreshold: 700 * time.Millisecond, MaxQueue: time.Minute})
	for _, pk := range all {
		p.Write(pk)
	}
	st := p.Stats()
	q := queued(p)
	decodable(t, q, all)
	video := 0
	for _, pk := range q {
		if pk.Type == TypeVideo {
			video++
		}
	}
	if st.DroppedAudio != 0 {
		t.Errorf("dropped %d audio frames below the hard limit", st.DroppedAudio)
	}
	if int(st.DroppedVideo)+video != 600 {
		t.Errorf("dropped %d + queued %d video frames, wrote 600: a frame went uncounted", st.DroppedVideo, video)
	}
	// Audio alone is never dropped below the hard cap, so the queue's span is the
	// audio backlog; the video in it must stay within threshold + one GOP.
	first, last := int64(-1), int64(0)
	for _, pk := range q {
		if pk.Type == TypeVideo {
			if first < 0 {
				first = pk.DTS
			}
			last = pk.DTS
		}
	}
	if span := time.Duration(last-first) * time.Millisecond; span > 700*time.Millisecond+2*time.Second {
		t.Errorf("queued video spans %v, more than threshold + one GOP", span)
	}
}

func TestHardQueueLimitDropsOldestIncludingAudio(t *testing.T) {
	p := NewPublisher(PublisherConfig{DropThreshold: 500 * time.Millisecond, MaxQueue: 2 * time.Second})
	for _, pk := range synthStream(10, 60, false, 100) {
		if pk.Type == TypeAudio {
			p.Write(pk)
		}
	}
	st := p.Stats()
	if st.QueueDuration > 2*time.Second || st.DroppedAudio == 0 {
		t.Fatalf("queue %v, audio dropped %d", st.QueueDuration, st.DroppedAudio)
	}
}

func TestTimestampsNeverGoBackwardsPerType(t *testing.T) {
	p := NewPublisher(PublisherConfig{})
	for _, dts := range []int64{0, 33, 20, 66} {
		p.Write(Packet{Type: TypeVideo, DTS: dts, Payload: []byte{1}, Keyframe: true})
	}
	var got []int64
	for _, pk := range queued(p) {
		got = append(got, pk.DTS)
	}
	if got[2] != 33 || got[3] != 66 {
		t.Fatalf("DTS %v: a regression must be clamped", got)
	}
}

// Random bursts of writes and sends never leave an undecodable queue.
func TestCongestionPolicyAlwaysDecodable(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := 0; trial < 50; trial++ {
		all := synthStream(10, 15+rng.IntN(90), rng.IntN(2) == 0, 100)
		p := NewPublisher(PublisherConfig{DropThreshold: time.Duration(100+rng.IntN(900)) * time.Millisecond})
		var sent []Packet
		batch := make([]Packet, 0, 8)
		for _, pk := range all {
			p.Write(pk)
			if rng.IntN(3) == 0 {
				b := p.pop(batch)
				sent = append(sent, append([]Packet(nil), b...)...)
			}
		}
		sent = append(sent, queued(p)...)
		decodable(t, sent, all)
	}
}

// Each track of a multitrack stream restarts at its own newest keyframe after
// an outage, even when another track's keyframe is a frame later, and a track
// with no keyframe queued waits for its next one while the others go on.
func TestResumeRestartsEachTrackAtItsOwnKeyframe(t *testing.T) {
	p := NewPublisher(PublisherConfig{DropThreshold: 10 * time.Second}) // no congestion here
	for _, pk := range []Packet{
		{Type: TypeVideo, Track: 0, DTS: 0, Keyframe: true},
		{Type: TypeVideo, Track: 1, DTS: 0, Keyframe: true},
		{Type: TypeVideo, Track: 2, DTS: 0, Keyframe: true},
		{Type: TypeAudio, DTS: 10},
		{Type: TypeVideo, Track: 1, DTS: 967, Keyframe: true}, // track 1's key a frame early
		{Type: TypeAudio, DTS: 980},
		{Type: TypeVideo, Track: 0, DTS: 1000, Keyframe: true},
		{Type: TypeVideo, Track: 1, DTS: 1033},
		{Type: TypeVideo, Track: 2, DTS: 1033}, // track 2's key is older: it must wait
		{Type: TypeVideo, Track: 0, DTS: 1033},
	} {
		pk.Payload = []byte{1}
		p.Write(pk)
	}
	p.resume()
	type got struct {
		typ   byte
		track uint8
		dts   int64
	}
	var q []got
	for _, pk := range queued(p) {
		q = append(q, got{pk.Type, pk.Track, pk.DTS})
	}
	want := []got{{TypeVideo, 1, 967}, {TypeAudio, 0, 980}, {TypeVideo, 0, 1000}, {TypeVideo, 1, 1033}, {TypeVideo, 0, 1033}}
	if !slices.Equal(q, want) {
		t.Fatalf("after the outage the queue is %v; want %v", q, want)
	}
	p.Write(Packet{Type: TypeVideo, Track: 2, DTS: 1066, Payload: []byte{1}})
	p.Write(Packet{Type: TypeVideo, Track: 2, DTS: 2000, Payload: []byte{1}, Keyframe: true})
	if last := queued(p); last[len(last)-1].Track != 2 || last[len(last)-1].DTS != 2000 || len(last) != len(want)+1 {
		t.Errorf("track 2 did not wait for its keyframe: %v", last)
	}
}
