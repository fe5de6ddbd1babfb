package rtmpclient

import (
	"context"
	"errors"
	"time"
)

// The queue between the encoder and the socket, and its drop policy: what a
// Publisher gives up, and in what order, when the link cannot keep up.

func typeSlot(t uint8) int {
	switch t {
	case TypeVideo:
		return 0
	case TypeAudio:
		return 1
	}
	return 2
}

// Write queues a packet. It never blocks: under congestion it drops video by
// policy and counts what it dropped.
func (p *Publisher) Write(pkt Packet) {
	p.mu.Lock()
	p.enqueue(pkt)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// WriteWait queues a packet, first waiting while the queue is over half the drop
// threshold. It is for sources that are not live (files sent as fast as the link
// allows, benchmarks), where waiting is better than dropping.
func (p *Publisher) WriteWait(ctx context.Context, pkt Packet) error {
	for {
		p.mu.Lock()
		full := p.durationLocked() > p.cfg.DropThreshold/2
		p.mu.Unlock()
		if !full {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.ended:
			return errors.New("rtmp publisher is not running")
		case <-p.space:
		}
	}
	p.Write(pkt)
	return nil
}

func (p *Publisher) enqueue(pkt Packet) {
	slot := typeSlot(pkt.Type)
	if pkt.Header {
		h := pkt
		if pkt.Type == TypeVideo && pkt.Track > 0 {
			for len(p.trackHeaders) < int(pkt.Track) {
				p.trackHeaders = append(p.trackHeaders, nil)
			}
			p.trackHeaders[pkt.Track-1] = &h
		} else {
			p.headers[slot] = &h
		}
	}
	// Timestamps must not go backwards within a type: servers reject or stall on it.
	if pkt.DTS < p.lastDTS[slot] {
		pkt.DTS = p.lastDTS[slot]
	}
	p.lastDTS[slot] = pkt.DTS

	if pkt.Type == TypeVideo && !pkt.Header {
		if pkt.Keyframe {
			p.waitKey[pkt.Track] = false
		} else if p.waitKey[pkt.Track] {
			p.droppedVideo.Add(1)
			return
		}
	}
	p.q = append(p.q, pkt)
	if p.durationLocked() > p.cfg.DropThreshold {
		p.dropForCongestion()
	}
	for p.durationLocked() > p.cfg.MaxQueue && len(p.q)-p.head > 1 {
		p.dropOldest()
	}
}

// durationLocked is the span of DTS waiting in the queue.
func (p *Publisher) durationLocked() time.Duration {
	if len(p.q)-p.head < 2 {
		return 0
	}
	first := p.q[p.head].DTS
	last := first
	for _, slot := range p.lastDTS {
		last = max(last, slot)
	}
	return time.Duration(last-first) * time.Millisecond
}

// dropForCongestion removes video the decoder can do without: disposable frames
// first; if that is not enough, every queued non-keyframe, and then every frame
// until the next keyframe, so no frame ever arrives without its reference.
func (p *Publisher) dropForCongestion() {
	if p.removeVideo(func(pk *Packet) bool { return pk.Disposable }) > 0 &&
		p.durationLocked() <= p.cfg.DropThreshold {
		return
	}
	if p.removeVideo(func(pk *Packet) bool { return !pk.Keyframe }) > 0 {
		p.waitAllKeys()
	}
	// Still over: keep only each track's newest keyframe, whose GOP is the
	// one worth sending.
	if p.durationLocked() > p.cfg.DropThreshold {
		newest := p.newestKeys()
		for i := p.head; i < len(p.q); i++ {
			if pk := &p.q[i]; pk.Type == TypeVideo && !pk.Header && i < newest[pk.Track] {
				pk.Payload = nil // marked; compacted below
			}
		}
		p.compact()
	}
}

// newestKeys is the index in the queue of each video track's newest
// keyframe, -1 for a track with none queued.
func (p *Publisher) newestKeys() *[256]int {
	var newest [256]int
	for i := range newest {
		newest[i] = -1
	}
	for i := p.head; i < len(p.q); i++ {
		if pk := &p.q[i]; pk.Type == TypeVideo && pk.Keyframe && !pk.Header {
			newest[pk.Track] = i
		}
	}
	return &newest
}

// waitAllKeys makes every video track wait for its next keyframe.
func (p *Publisher) waitAllKeys() {
	for i := range p.waitKey {
		p.waitKey[i] = true
	}
}

// removeVideo drops queued video frames (never headers) matching pred.
func (p *Publisher) removeVideo(pred func(*Packet) bool) int {
	n := 0
	for i := p.head; i < len(p.q); i++ {
		if pk := &p.q[i]; pk.Type == TypeVideo && !pk.Header && pred(pk) {
			pk.Payload = nil
			n++
		}
	}
	if n > 0 {
		p.compact()
	}
	return n
}

// compact removes packets marked with a nil payload, counting them as dropped.
func (p *Publisher) compact() {
	w := p.head
	for i := p.head; i < len(p.q); i++ {
		if p.q[i].Payload == nil {
			p.countDrop(p.q[i].Type)
			continue
		}
		p.q[w] = p.q[i]
		w++
	}
	clear(p.q[w:])
	p.q = p.q[:w]
}

func (p *Publisher) countDrop(t uint8) {
	if t == TypeVideo {
		p.droppedVideo.Add(1)
	} else {
		p.droppedAudio.Add(1)
	}
}

// dropOldest drops the head of the queue, whatever it is: the hard limit.
func (p *Publisher) dropOldest() {
	pk := p.q[p.head]
	p.q[p.head] = Packet{}
	p.head++
	if pk.Header {
		return // headers are kept in p.headers and resent anyway
	}
	p.countDrop(pk.Type)
	if pk.Type == TypeVideo {
		p.waitKey[pk.Track] = true
	}
}

// pop moves up to len(batch) packets out of the queue.
func (p *Publisher) pop(batch []Packet) []Packet {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := copy(batch[:cap(batch)], p.q[p.head:])
	clear(p.q[p.head : p.head+n])
	p.head += n
	if p.head == len(p.q) {
		p.q, p.head = p.q[:0], 0
	} else if p.head > 1024 && p.head > len(p.q)/2 {
		m := copy(p.q, p.q[p.head:])
		clear(p.q[m:])
		p.q, p.head = p.q[:m], 0
	}
	if n > 0 {
		select {
		case p.space <- struct{}{}:
		default:
		}
	}
	return batch[:n]
}
