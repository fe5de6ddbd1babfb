package rtmpclient

import "sync"

// playFilter is what a player has asked of the media it is sent:
// receiveAudio and receiveVideo off, or a live stream paused. Video that is
// turned back on (or resumed, or switched to with play2) waits for a
// keyframe, since frames that refer to ones the player never got would
// only show as corruption.
type playFilter struct {
	mu      sync.Mutex
	noAudio bool
	noVideo bool
	paused  bool
	needKey bool
}

// pass says whether m goes to the player, and notes the keyframe it was
// waiting for.
func (f *playFilter) pass(m *Message) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.paused {
		return false
	}
	switch m.Type {
	case TypeAudio:
		return !f.noAudio
	case TypeVideo:
		if f.noVideo {
			return false
		}
		if f.needKey {
			if !isKeyframe(m.Payload) {
				return isVideoHeader(m.Payload)
			}
			f.needKey = false
		}
	}
	return true
}

// receive turns audio or video on or off.
func (f *playFilter) receive(video, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if video {
		if on && f.noVideo {
			f.needKey = true
		}
		f.noVideo = !on
	} else {
		f.noAudio = !on
	}
}

// pause pauses or resumes; a resumed live stream waits for a keyframe.
func (f *playFilter) pause(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !on && f.paused {
		f.needKey = true
	}
	f.paused = on
}

// awaitKeyframe holds video back until the next keyframe.
func (f *playFilter) awaitKeyframe() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.needKey = true
}
