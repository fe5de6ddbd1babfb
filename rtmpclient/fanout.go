package rtmpclient

import (
	"sync"
	"time"
)

// Interleaver puts the packets of separately encoded tracks into decode-timestamp
// order, which servers and players expect of an FLV stream: the audio, and one
// or more video tracks (an Enhanced RTMP multitrack stream's renditions, each
// from an encoder of its own). A track that falls silent (a stalled
// microphone) does not hold the others back for more than MaxDelay of media
// time.
type Interleaver struct {
	// MaxDelay is how far ahead one track may run while waiting for the
	// sound; VideoMaxDelay while waiting for another video track. Video
	// tracks come from one clock, each encoder only some frames behind (a
	// lookahead of ten frames at 15 fps is most of a second): one that
	// released its frames early would send the other's out of order.
	MaxDelay      time.Duration
	VideoMaxDelay time.Duration
	out           func(Packet)
	videos        int // video tracks: slots 0..videos-1; the audio's slot follows

	mu      sync.Mutex
	pending [][]Packet
	active  []bool
	// floor is, per track, a DTS no later packet of that track will be below:
	// promised by the producer through Advance.
	floor []int64
}

// NewInterleaver emits ordered packets to out. video and audio say which
// tracks the stream has; with only one, packets pass straight through.
func NewInterleaver(video, audio bool, out func(Packet)) *Interleaver {
	n := 0
	if video {
		n = 1
	}
	return NewInterleaverTracks(n, audio, out)
}

// NewInterleaverTracks is NewInterleaver for a stream of videos video tracks
// (Packet.Track tells them apart) and, when audio is set, the sound.
func NewInterleaverTracks(videos int, audio bool, out func(Packet)) *Interleaver {
	il := &Interleaver{MaxDelay: 500 * time.Millisecond, VideoMaxDelay: 3 * time.Second, out: out, videos: videos,
		pending: make([][]Packet, videos+1), active: make([]bool, videos+1), floor: make([]int64, videos+1)}
	for i := range il.active {
		il.active[i] = i < videos || audio
		il.floor[i] = -1 << 62
	}
	return il
}

// slot is the track a packet belongs to, -1 for data, which is not held.
func (il *Interleaver) slot(typ, track uint8) int {
	switch {
	case typ == TypeVideo && int(track) < il.videos:
		return int(track)
	case typ == TypeVideo:
		return 0
	case typ == TypeAudio:
		return il.videos
	}
	return -1
}

// Advance promises that no later packet of track typ (video track 0, or
// the audio) will have a DTS below dts. It lets the other tracks' packets go
// without waiting for one of this track's to arrive: an audio encoder knows
// its next packet's time one frame ahead.
func (il *Interleaver) Advance(typ uint8, dts int64) {
	il.mu.Lock()
	defer il.mu.Unlock()
	if slot := il.slot(typ, 0); slot >= 0 && dts > il.floor[slot] {
		il.floor[slot] = dts
		il.drain(false)
	}
}

// Push adds a packet. Safe for concurrent use by the track encoders. Sequence
// headers and metadata go out at once: they carry no media time.
func (il *Interleaver) Push(pk Packet) {
	il.mu.Lock()
	defer il.mu.Unlock()
	slot := il.slot(pk.Type, pk.Track)
	if pk.Header || slot < 0 || !il.active[slot] || il.tracks() < 2 {
		il.out(pk)
		return
	}
	il.pending[slot] = append(il.pending[slot], pk)
	il.drain(false)
}

// tracks counts the active tracks.
func (il *Interleaver) tracks() int {
	n := 0
	for _, a := range il.active {
		if a {
			n++
		}
	}
	return n
}

// Flush emits everything still held, in order (at the end of a stream).
func (il *Interleaver) Flush() {
	il.mu.Lock()
	defer il.mu.Unlock()
	il.drain(true)
}

func (il *Interleaver) drain(all bool) {
	for {
		best := -1
		for i, q := range il.pending {
			if len(q) > 0 && (best < 0 || q[0].DTS < il.pending[best][0].DTS) {
				best = i
			}
		}
		if best < 0 {
			return
		}
		q := &il.pending[best]
		if !all {
			// Another track is empty: the earliest head may go if that track
			// promised nothing earlier will come; else wait, unless this
			// track has run too far ahead.
			spread := time.Duration((*q)[len(*q)-1].DTS-(*q)[0].DTS) * time.Millisecond
			for i, p := range il.pending {
				limit := il.MaxDelay
				if i < il.videos {
					limit = il.VideoMaxDelay
				}
				if il.active[i] && len(p) == 0 && (*q)[0].DTS > il.floor[i] && spread < limit {
					return
				}
			}
		}
		il.out((*q)[0])
		(*q)[0] = Packet{}
		*q = (*q)[1:]
		if len(*q) == 0 {
			*q = (*q)[:0:0] // let the backing array go rather than creep forward
		}
	}
}

// Fanout sends one encoded stream to several destinations. Each Publisher has its
// own queue, so a slow destination costs the others nothing.
type Fanout struct {
	mu   sync.RWMutex
	pubs []*Publisher
}

// Add starts sending to p. Its sequence headers come from its own record of them
// once they are written, so add destinations before the first packet.
func (f *Fanout) Add(p *Publisher) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pubs = append(f.pubs, p)
}

// Remove stops sending to p.
func (f *Fanout) Remove(p *Publisher) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, q := range f.pubs {
		if q == p {
			f.pubs = append(f.pubs[:i], f.pubs[i+1:]...)
			return
		}
	}
}

// Write gives the packet to every destination; it never blocks.
func (f *Fanout) Write(pk Packet) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, p := range f.pubs {
		p.Write(pk)
	}
}
