package app

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
	s.idleOutputs()
	if pubs == nil {
		return
	}
	// What the interleavers hold (up to half a second of sound) still goes
	// out, then each Publisher gets its tracks' ends itself: the encode
	// loops keep writing to the fans. A Publisher keeps its timestamps
	// rising, so a 0 there is its last. The idled encoders' last few frames
	// (their lookahead) are not flushed: that is the encode loop's to do.
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

// idleOutputs stops every encode but the recording's: nothing else takes
// their packets any more. The recording cannot move to another encode
// later, since stopping it ends the session.
func (s *Session) idleOutputs() {
	s.recMu.Lock()
	var keep *videoOutput
	if s.rec != nil {
		keep = s.rec.out
	}
	s.recMu.Unlock()
	for _, o := range s.outs {
		if o != keep {
			o.idle.Store(true)
		}
	}
}
