package rtmpclient

import (
	"sync"
	"time"
)

// Interleaver puts the packets of separately encoded tracks into decode-timestamp
// order, which servers and players expect of an FLV stream. A track that falls
// silent (a stalled microphone) does not hold the other back for more than
// MaxDelay of media time.
type Interleaver struct {
	// MaxDelay is how far ahead one track may run while waiting for the other.
	MaxDelay time.Duration
	out      func(Packet)

	mu      sync.Mutex
	pending [2][]Packet // video, audio
	active  [2]bool
	// floor is, per track, a DTS no later packet of that track will be below:
	// promised by the producer through Advance.
	floor [2]int64
}

// NewInterleaver emits ordered packets to out. video and audio say which
// tracks the stream has; with only one, packets pass straight through.
func NewInterleaver(video, audio bool, out func(Packet)) *Interleaver {
	return &Interleaver{MaxDelay: 500 * time.Millisecond, out: out, active: [2]bool{video, audio},
		floor: [2]int64{-1 << 62, -1 << 62}}
}

// Advance promises that no later packet of track typ will have a DTS below dts.
// It lets the other track's packets go without waiting for one of this track's
// to arrive: an audio encoder knows its next packet's time one frame ahead.
func (il *Interleaver) Advance(typ uint8, dts int64) {
	il.mu.Lock()
	defer il.mu.Unlock()
	if slot := typeSlot(typ); slot <= 1 && dts > il.floor[slot] {
		il.floor[slot] = dts
		il.drain(false)
	}
}

// Push adds a packet. Safe for concurrent use by the track encoders. Sequence
// headers and metadata go out at once: they carry no media time.
func (il *Interleaver) Push(pk Packet) {
	il.mu.Lock()
	defer il.mu.Unlock()
	slot := typeSlot(pk.Type)
	if pk.Header || slot > 1 || !il.active[0] || !il.active[1] {
		il.out(pk)
		return
	}
	il.pending[slot] = append(il.pending[slot], pk)
	il.drain(false)
}

// Flush emits everything still held, in order (at the end of a stream).
func (il *Interleaver) Flush() {
	il.mu.Lock()
	defer il.mu.Unlock()
	il.drain(true)
}

func (il *Interleaver) drain(all bool) {
	v, a := &il.pending[0], &il.pending[1]
	for len(*v) > 0 || len(*a) > 0 {
		var q *[]Packet
		switch {
		case len(*v) > 0 && len(*a) > 0:
			q = v
			if (*a)[0].DTS < (*v)[0].DTS {
				q = a
			}
		case all:
			q = v
			if len(*a) > 0 {
				q = a
			}
		default:
			// One track is empty: its head may go if the empty track promised
			// nothing earlier will come; else wait, unless it has run too far ahead.
			q = v
			other := 1
			if len(*a) > 0 {
				q, other = a, 0
			}
			if (*q)[0].DTS > il.floor[other] &&
				time.Duration((*q)[len(*q)-1].DTS-(*q)[0].DTS)*time.Millisecond < il.MaxDelay {
				return
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
