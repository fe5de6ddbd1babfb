package rtmpclient

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tallystudio/tally/rtmpclient/amf"
)

// vodPlayer plays a recording to one player, in real time plus the lead the
// player's buffer asks for, and obeys seek, pause and play2 switches. It
// owns the recording and the pacing; it is the only goroutine that sends
// the recording's media, and it sends the status answers to the commands
// it obeys itself, so a player never sees a frame from before a seek after
// the Seek.Notify.
type vodPlayer struct {
	ss       *serverSession
	streamID uint32
	name     string
	rec      Recording
	idx      *recordingIndex
	ctl      chan vodControl
	// shift is taken from every timestamp sent: a play that starts past the
	// beginning counts from there, as Flash Media Server's do (librtmp adds
	// the start it asked for back). A seek goes back to the recording's own
	// timestamps, which players expect after Seek.Notify.
	shift uint32
	quit  chan struct{}
	done  chan struct{}
}

// vodControl is one command for the player goroutine.
type vodControl struct {
	op    vodOp
	ms    uint32 // seek: where to
	on    bool   // pause: on or off
	name  string // switch: the new recording's name, its file and index,
	rec   Recording
	idx   *recordingIndex
	start float64 // and where to start in it: negative, where the old one was
}

type vodOp int

const (
	vodSeek vodOp = iota
	vodPause
	vodSwitch // play2 to another recording, at the current position
)

// maxLead bounds how far ahead of real time a player is sent. rtmpdump asks
// for a buffer of ten hours to download a recording at full speed, which
// a server serving files may grant: TCP's flow control still bounds what is
// in flight.
const maxLead = 10 * time.Hour

// startVOD starts playing rec from startMs; lenMs > 0 stops after that much.
func (ss *serverSession) startVOD(name string, rec Recording, idx *recordingIndex, streamID uint32, startMs, lenMs float64) {
	p := &vodPlayer{ss: ss, streamID: streamID, name: name, rec: rec, idx: idx,
		ctl: make(chan vodControl, 8), quit: make(chan struct{}), done: make(chan struct{})}
	ss.vod = p
	ss.s.wg.Add(1)
	go func() {
		defer ss.s.wg.Done()
		defer close(p.done)
		defer func() { _ = p.rec.Close() }()
		if err := p.run(msec(startMs), msec(lenMs)); err != nil {
			ss.log.Debug("rtmp server: playing a recording ended", "err", err)
			ss.t.close() // a write failed: the player is gone or stuck
		}
	}()
}

// msec turns a command's milliseconds into a timestamp, negative as 0.
func msec(v float64) uint32 {
	if v <= 0 || v != v {
		return 0
	}
	return uint32(min(v, float64(^uint32(0))))
}

// control hands c to the player, unless it has ended.
func (p *vodPlayer) control(c vodControl) {
	select {
	case p.ctl <- c:
	case <-p.done:
		if c.rec != nil {
			_ = c.rec.Close()
		}
	}
}

// stop ends the player and waits for it.
func (p *vodPlayer) stop() {
	close(p.quit)
	<-p.done
}

func (p *vodPlayer) status(code, desc string) error {
	return p.ss.reply(p.streamID, "onStatus", 0, nil, append(status("status", code, desc), amf.Property{Key: "details", Value: p.name}))
}

func (p *vodPlayer) playStatus(code string) error {
	return p.ss.sendPlayStatus(code, float64(p.idx.last)/1000)
}

// sendFirst sends the metadata and headers a player starting past the first
// tag has not seen, stamped ts: the first tag's own, since a player reads a
// timestamp that goes back as one that wrapped around.
func (p *vodPlayer) sendFirst(ts uint32) error {
	ts -= min(p.shift, ts)
	if p.idx.meta != nil {
		m := *p.idx.meta
		m.Timestamp = ts
		if err := p.ss.sendMedia(m); err != nil {
			return err
		}
	}
	for _, m := range p.idx.headers {
		m.Timestamp = ts
		if err := p.ss.sendMedia(m); err != nil {
			return err
		}
	}
	return nil
}

func (p *vodPlayer) run(start, length uint32) error {
	if err := p.ss.t.sendUserControl(eventStreamIsRecorded, p.streamID); err != nil {
		return err
	}
	st := vodState{rebase: true}
	off, ts := p.idx.seek(start)
	st.off = off
	if start > 0 {
		p.shift = ts
	}
	if off != p.idx.first {
		if err := p.sendFirst(ts); err != nil {
			return err
		}
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var (
		m    Message
		next int64
		have bool // m is read and waits for its time
	)
	for {
		var wait <-chan time.Time
		ready := false
		if !st.paused && !st.ended {
			if !have {
				var err error
				m, next, err = readTag(p.rec, st.off)
				if err == nil && length > 0 && m.Timestamp > start && m.Timestamp-start > length {
					err = io.EOF // the length asked for is played
				}
				if err != nil {
					if !errors.Is(err, io.EOF) {
						return fmt.Errorf("playing %s: %w", p.name, err)
					}
					st.ended = true
					if err := p.end(); err != nil {
						return err
					}
					continue
				}
				have = true
			}
			if st.rebase {
				st.base, st.baseTS, st.rebase = time.Now(), m.Timestamp, false
			}
			due := st.base.Add(time.Duration(int64(m.Timestamp)-int64(st.baseTS))*time.Millisecond - p.ss.lead())
			if d := time.Until(due); d > 0 {
				timer.Reset(d)
				wait = timer.C
			} else {
				ready = true
			}
		}
		// A command is taken as soon as it comes, between any two tags: a
		// seek must not wait behind a download's worth of them.
		if ready {
			wait = alreadyDue
		}
		select {
		case <-p.quit:
			return nil
		case c := <-p.ctl:
			if err := p.apply(c, &st); err != nil {
				return err
			}
			have = false
			continue
		case <-wait:
		}
		if !ready {
			continue
		}
		have, st.off = false, next
		if m.Type != TypeDataAMF0 && !p.ss.filter.pass(&m) {
			continue
		}
		st.sent = m.Timestamp
		m.Timestamp -= min(p.shift, m.Timestamp)
		if err := p.ss.sendMedia(m); err != nil {
			return err
		}
		if st.switched && m.Type == TypeVideo && isKeyframe(m.Payload) {
			st.switched = false
			if err := p.playStatus("NetStream.Play.TransitionComplete"); err != nil {
				return err
			}
		}
	}
}

// alreadyDue is a channel that is always ready: the wait for a tag that is
// due now.
var alreadyDue = func() <-chan time.Time {
	c := make(chan time.Time)
	close(c)
	return c
}()

// vodState is where a vodPlayer is in its recording.
type vodState struct {
	off      int64 // the next tag
	paused   bool
	ended    bool      // the end of the recording, or of the length asked for
	sent     uint32    // the timestamp of the last tag sent
	base     time.Time // when the tag at baseTS was due
	baseTS   uint32
	rebase   bool // the clock restarts at the next tag
	switched bool // play2 switched, and the new recording's first keyframe has not gone
}

// end tells the player the recording is over, as Flash Media Server does:
// onPlayStatus Complete, Stream EOF, and NetStream.Play.Stop. A player may
// still seek back into it.
func (p *vodPlayer) end() error {
	if err := p.playStatus("NetStream.Play.Complete"); err != nil {
		return err
	}
	if err := p.ss.t.sendUserControl(eventStreamEOF, p.streamID); err != nil {
		return err
	}
	return p.status("NetStream.Play.Stop", "Stopped playing.")
}

// apply obeys a command, answers it, and moves st.
func (p *vodPlayer) apply(c vodControl, st *vodState) error {
	st.rebase = true
	switch c.op {
	case vodSeek:
		off, ts := p.idx.seek(c.ms)
		st.off, st.ended, p.shift = off, false, 0
		if err := p.ss.t.sendUserControl(eventStreamBegin, p.streamID); err != nil {
			return err
		}
		if err := p.status("NetStream.Seek.Notify", fmt.Sprintf("Seeking %d (stream ID: %d).", c.ms, p.streamID)); err != nil {
			return err
		}
		if err := p.status("NetStream.Play.Start", "Started playing."); err != nil {
			return err
		}
		if off != p.idx.first {
			return p.sendFirst(ts)
		}
	case vodPause:
		// Resuming goes on from the next tag not sent: what the player had
		// buffered before the pause is still good.
		st.paused = c.on
		if c.on {
			if err := p.ss.t.sendUserControl(eventStreamEOF, p.streamID); err != nil {
				return err
			}
			return p.status("NetStream.Pause.Notify", "Paused.")
		}
		if err := p.ss.t.sendUserControl(eventStreamBegin, p.streamID); err != nil {
			return err
		}
		return p.status("NetStream.Unpause.Notify", "Unpaused.")
	case vodSwitch:
		_ = p.rec.Close()
		p.rec, p.idx, p.name = c.rec, c.idx, c.name
		// Go on where the old one was, from the new one's keyframe at or
		// before it: no gap, and decoding starts on a keyframe.
		at := st.sent
		if c.start >= 0 {
			at = msec(c.start)
		}
		off, ts := p.idx.seek(at)
		st.off, st.ended, st.switched = off, false, true
		if err := p.status("NetStream.Play.Transition", "Transitioning to "+c.name+"."); err != nil {
			return err
		}
		if off != p.idx.first {
			return p.sendFirst(ts)
		}
	}
	return nil
}
