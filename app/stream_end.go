package app

import "time"

// Streaming and recording are separate outputs, as in OBS: Stop Streaming
// leaves a recording that runs within the same session going on. EndStream
// unpublishes the destinations and lets the session carry on for its
// recording alone; the engine then holds it as a recording (engine_record.go).

// EndStream unpublishes every destination while the session goes on for its
// recording, and returns once they have unpublished. The encodes only the
// destinations took stop; the recording's goes on. A session that has not
// started its publishers yet starts none.
func (s *Session) EndStream() {
	s.streamMu.Lock()
	s.streamEnded = true
	pubs := s.pubs
	s.streamMu.Unlock()
	idled := s.idleOutputs()
	if pubs == nil {
		return
	}
	// The encode loop flushes the idled encoders at its next frame, or as it
	// ends: their last frames go out before the unpublish. A loop that
	// stalls does not hold the stop longer than drainWait.
	wait := time.NewTimer(drainWait)
	defer wait.Stop()
wait:
	for _, o := range idled {
		select {
		case <-o.drained:
		case <-wait.C:
			s.log.Warn("stopping the stream without the encoders' last frames: the encode loop did not flush them", "within", drainWait)
			break wait
		}
	}
	// Then what the interleavers hold (up to half a second of sound) still
	// goes out, and each Publisher gets its tracks' ends itself: the encode
	// loops keep writing to the fans. A Publisher keeps its timestamps
	// rising, so a 0 there is its last.
	for _, st := range s.streams {
		st.il.Flush()
	}
	for _, d := range s.dests {
		d.stream.fan.Remove(d.pub)
		for _, pk := range d.stream.sequenceEnds(func(*videoOutput) int64 { return 0 }) {
			d.pub.Write(pk)
		}
	}
	pubs.stop()
	s.log.Info("stream ended; the recording goes on")
}

// streamOver tells whether EndStream has ended the stream.
func (s *Session) streamOver() bool {
	s.streamMu.Lock()
	defer s.streamMu.Unlock()
	return s.streamEnded
}

// drainWait bounds how long EndStream waits for the encode loop to flush
// the encoders it stops: a frame interval is enough when the loop runs.
const drainWait = 2 * time.Second

// idleOutputs stops every encode but the recording's, and returns them:
// nothing else takes their packets any more. The recording cannot move to
// another encode later, since stopping it ends the session.
func (s *Session) idleOutputs() []*videoOutput {
	s.recMu.Lock()
	var keep *videoOutput
	if s.rec != nil {
		keep = s.rec.out
	}
	s.recMu.Unlock()
	var idled []*videoOutput
	for _, o := range s.outs {
		if o != keep && !o.idle.Load() {
			o.drained = make(chan struct{}) // before idle: the loop reads it after
			o.idle.Store(true)
			idled = append(idled, o)
		}
	}
	return idled
}
