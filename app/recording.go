package app

import (
	"errors"
	"fmt"
	"time"

	"github.com/tallystudio/tally/encode"
)

// A session records to a file from its start (Settings.Record), and a
// recording can also start and stop while the session runs, as OBS's Start
// and Stop Recording do beside streaming: each such recording is a file of
// its own that starts on a keyframe.

// ErrAlreadyRecording and ErrNotRecording are wrapped by StartRecording and
// StopRecording when there is a recording under way, or none.
var (
	ErrAlreadyRecording = errors.New("already recording")
	ErrNotRecording     = errors.New("not recording")
)

// heldAudio bounds the sound a recording started mid-stream keeps while it
// waits for its first keyframe, which a forced one makes a frame or two away
// (an encoder's delay): well past that, a keyframe that never comes costs
// a few seconds of sound, not memory.
const heldAudio = 5 * time.Second

// recording is one file the session writes.
type recording struct {
	path  string
	since time.Time
	rec   *encode.Recorder
	err   error        // its first failure; writing stops there
	out   *videoOutput // the encode it takes, nil without video
	// A recording started mid-stream waits for out's next keyframe, holding
	// the sound meanwhile, and shifts every time back by that keyframe's
	// decode time, so that the file starts at zero.
	waiting bool
	shift   time.Duration
	held    []encode.Packet
	// own: started by StartRecording, not with the session, so it
	// outlives the stream (Engine.Stop), as a recording OBS starts does.
	own bool
}

// recordSetup is what a recording started mid-stream needs from the open
// session: set once the encoders are open, cleared as they close.
type recordSetup struct {
	audio *encode.AudioEncoder
	open  bool
}

// recordOutput is the encode a recording takes: the one planned for it, or
// else the session's own rendition at a fixed rate, else any fixed-rate one
// (a dynamic-bitrate encode follows one destination's link), else the first.
func (s *Session) recordOutput() *videoOutput {
	own := s.settings.resolve(Rendition{})
	pick := func(ok func(*videoOutput) bool) *videoOutput {
		for _, o := range s.outs {
			if ok(o) {
				return o
			}
		}
		return nil
	}
	for _, ok := range []func(*videoOutput) bool{
		func(o *videoOutput) bool { return o.record },
		func(o *videoOutput) bool { return o.r == own && o.adjust == nil },
		func(o *videoOutput) bool { return o.adjust == nil },
		func(*videoOutput) bool { return true },
	} {
		if o := pick(ok); o != nil {
			return o
		}
	}
	return nil
}

// openRecording starts the recording the settings ask for, with the
// encoders just opened, and makes later ones possible.
func (s *Session) openRecording(audio *encode.AudioEncoder) error {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	s.recSetup = recordSetup{audio: audio, open: true}
	if s.settings.Record == "" {
		return nil
	}
	r, err := s.newRecording(s.settings.Record, false)
	if err != nil {
		return err
	}
	s.rec = r
	return nil
}

// newRecording creates the file; the caller holds recMu.
func (s *Session) newRecording(path string, midStream bool) (*recording, error) {
	r := &recording{path: path, since: time.Now(), out: s.recordOutput(), waiting: midStream, own: midStream}
	var venc *encode.VideoEncoder
	if r.out != nil {
		venc = r.out.enc
	}
	var err error
	if r.rec, err = encode.NewRecorder(path, venc, s.recSetup.audio); err != nil {
		return nil, err
	}
	return r, nil
}

// StartRecording starts recording to path while the session runs. The file
// starts at the next keyframe, which it asks of its encode.
func (s *Session) StartRecording(path string) error {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	switch {
	case !s.recSetup.open:
		return errors.New("record: the session is starting or ending; try again once it is live")
	case s.streamOver():
		return errors.New("record: the stream has ended; start a recording of its own")
	case s.rec != nil:
		return fmt.Errorf("%w to %s", ErrAlreadyRecording, s.rec.path)
	}
	r, err := s.newRecording(path, true)
	if err != nil {
		return err
	}
	s.rec = r
	if r.out != nil {
		r.out.keys.force()
	}
	s.log.Info("recording started", "path", path)
	return nil
}

// StopRecording finishes the recording under way while the session goes
// on, and returns its file and why it failed, if it did.
func (s *Session) StopRecording() (string, error) {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	r := s.rec
	if r == nil {
		return "", ErrNotRecording
	}
	s.rec = nil
	err := r.close()
	if err == nil {
		s.log.Info("recording finished", "path", r.path)
	}
	// Every destination may have failed while the recording kept the
	// session going: let watchDestinations look again.
	select {
	case s.failures <- struct{}{}:
	default:
	}
	return r.path, err
}

// Recording is the file being recorded to, "" when none, and since when.
func (s *Session) Recording() (string, time.Time) {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	if s.rec == nil {
		return "", time.Time{}
	}
	return s.rec.path, s.rec.since
}

// ownRecording is the file of a recording under way that StartRecording
// started, "" when there is none.
func (s *Session) ownRecording() string {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	if s.rec == nil || !s.rec.own {
		return ""
	}
	return s.rec.path
}

// closeRecorder finishes the recording under way as the session ends, and
// returns why it failed (again when called again); no recording starts
// after it.
func (s *Session) closeRecorder() error {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	s.recSetup = recordSetup{}
	if s.rec != nil {
		s.recErr = s.rec.close()
		s.rec = nil
	}
	return s.recErr
}

// recordVideo writes an encode's packet to the recording that takes it.
func (s *Session) recordVideo(o *videoOutput, p encode.Packet) {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	r := s.rec
	if r == nil || r.err != nil || r.out != o {
		return
	}
	if r.waiting {
		if !p.Keyframe {
			return
		}
		r.waiting, r.shift = false, p.DTS
		held := r.held
		r.held = nil
		if !s.recordWrite(r, p, r.rec.WriteVideo) {
			return
		}
		for _, a := range held {
			if a.PTS >= r.shift && !s.recordWrite(r, a, r.rec.WriteAudio) {
				return
			}
		}
		return
	}
	s.recordWrite(r, p, r.rec.WriteVideo)
}

// recordAudio writes a sound packet to the recording, or holds it until the
// recording's first keyframe.
func (s *Session) recordAudio(p encode.Packet) {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	r := s.rec
	if r == nil || r.err != nil {
		return
	}
	if r.waiting && r.out == nil { // sound alone starts anywhere
		r.waiting, r.shift = false, p.PTS
	}
	if r.waiting {
		r.held = append(r.held, p)
		if len(r.held) > 0 && p.PTS-r.held[0].PTS > heldAudio {
			r.held = r.held[1:]
		}
		return
	}
	if p.PTS >= r.shift {
		s.recordWrite(r, p, r.rec.WriteAudio)
	}
}

// recordWrite writes p, shifted, and keeps the first failure: the
// recording stops there while streaming carries on. The caller holds recMu.
func (s *Session) recordWrite(r *recording, p encode.Packet, write func(encode.Packet) error) bool {
	p.PTS -= r.shift
	p.DTS -= r.shift
	if err := write(p); err != nil {
		r.err = err
		s.log.Error("recording failed; streaming continues", "path", r.path, "err", err)
		return false
	}
	return true
}

// close finishes the file and returns the recording's first failure.
func (r *recording) close() error {
	if err := r.rec.Close(); err != nil && r.err == nil {
		r.err = err
	}
	return r.err
}
