package app

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/tallystudio/tally/capture"
)

// program holds the studio's open sources. They run from the moment they are
// picked, so the preview and the level meter work before going live; a session
// reads them through taps, which the program keeps fed across source changes.
type program struct {
	log   *slog.Logger
	mu    sync.Mutex // guards everything below; taps detach through it
	video *videoFeed
	audio *audioFeed
	// what is open, so that re-applying the same settings does not reopen devices
	vkey, akey string
	scenes     *sceneReader // the video source, when it is a scene collection
	closeFile  func()       // a media file that feeds both tracks
	// open opens sources; openSources unless a test stands in a faulty device
	open func(VideoSettings, AudioSettings) (capture.VideoReader, capture.AudioReader, func(), error)
	// closed: the engine is gone; a late set (a window applying sources as
	// it closes) must not open devices nobody will close.
	closed bool
}

func newProgram(log *slog.Logger) *program { return &program{log: log} }

// set opens the sources the settings name, reopening only what changed. Taps
// attached to a source that is replaced carry on with the new one.
func (p *program) set(v VideoSettings, a AudioSettings) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	vkey, akey := sourceKeys(v, a)
	if p.scenes != nil && vkey == p.vkey && v.Scenes != nil {
		// The same canvas and rate: a new version of the collection goes on
		// without reopening what it keeps.
		if err := p.scenes.SetCollection(v.Scenes); err != nil {
			return err
		}
	}
	if vkey == p.vkey && akey == p.akey {
		return nil
	}
	// The sound of a media file moves with its picture, and a shared file
	// goes as a whole.
	shared := a.Source == "file" || p.closeFile != nil
	changeVideo, changeAudio := vkey != p.vkey || shared, akey != p.akey || shared
	vtaps, ataps := p.release(changeVideo, changeAudio)
	vv, aa := v, a
	if !changeVideo || v.Source == "scenes" {
		vv.Source = "none"
	}
	if !changeAudio || a.Source == "scenes" {
		aa.Source = "none"
	}
	open := p.open
	if open == nil {
		open = openSources
	}
	vsrc, asrc, closeAll, err := open(vv, aa)
	if err == nil && changeVideo && v.Source == "scenes" {
		if p.scenes, err = newSceneReader(v.Scenes, v.FPS, p.log); err == nil {
			vsrc = p.scenes
		} else if closeAll != nil {
			closeAll()
		}
	}
	if err == nil && changeAudio && a.Source == "scenes" {
		if p.scenes == nil {
			err = fmt.Errorf("%w: the scene collection's sound needs the scenes as the video", ErrNoSource)
			if closeAll != nil {
				closeAll()
			}
		} else {
			asrc = p.scenes.sound()
		}
	}
	why := errSourceNone
	if err != nil {
		// The taps stay attached: they see the error, and the next
		// successful set feeds them again.
		vsrc, asrc, why = nil, nil, err
	} else if vsrc != nil && asrc != nil && a.Source == "file" {
		p.closeFile = closeAll
		vsrc, asrc = noClose{vsrc}, noCloseAudio{asrc}
	}
	if changeVideo {
		p.video = startVideoFeed(vsrc, why, v, vtaps, p.log)
		if err == nil {
			p.vkey = vkey
		}
	}
	if changeAudio {
		p.audio = startAudioFeed(asrc, why, a, ataps, p.log)
		if err == nil {
			p.akey = akey
		}
	}
	return err
}

// sourceKeys name what the settings open, so that applying the same settings
// again reopens nothing.
func sourceKeys(v VideoSettings, a AudioSettings) (vkey, akey string) {
	// A collection's edits apply to the scenes already on (SetCollection),
	// so the key leaves the collection out.
	vkey = fmt.Sprintf("%s|%v|%dx%d@%d", v.Source, v.Loop, v.Width, v.Height, v.FPS)
	akey = fmt.Sprintf("%s|%d|%d", a.Source, a.SampleRate, a.Channels)
	if a.Source == "file" || a.Source == "scenes" {
		akey += "|" + vkey // the sound of the video's file, or of its scenes, moves with it
	}
	return vkey, akey
}

// release stops the tracks that change, and returns their taps for the
// sources that replace them; the caller holds mu.
func (p *program) release(video, audio bool) (map[*videoTap]struct{}, map[*audioTap]struct{}) {
	var vtaps map[*videoTap]struct{}
	var ataps map[*audioTap]struct{}
	// Sound first: the scenes' sound is mixed from what the scenes' video
	// reader owns.
	if audio && p.audio != nil {
		ataps, p.audio, p.akey = p.audio.stop(), nil, ""
	}
	if video && p.video != nil {
		vtaps, p.video, p.vkey, p.scenes = p.video.stop(), nil, "", nil
	}
	if p.closeFile != nil {
		p.closeFile()
		p.closeFile = nil
	}
	return vtaps, ataps
}

var errSourceNone = errors.New("no source")

// noClose lets a shared media file be closed once, by the program.
type noClose struct{ capture.VideoReader }

func (noClose) Close() error { return nil }

type noCloseAudio struct{ capture.AudioReader }

func (noCloseAudio) Close() error { return nil }

// close stops every source; taps see the end of their stream.
func (p *program) close() {
	p.mu.Lock()
	var taps []io.Closer
	if p.video != nil {
		taps = append(taps, p.video.tapList()...)
	}
	if p.audio != nil {
		taps = append(taps, p.audio.tapList()...)
	}
	p.mu.Unlock()
	for _, t := range taps {
		_ = t.Close()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.release(true, true)
}

// taps gives a session readers for the current sources. A track whose source
// failed to open returns that error.
func (p *program) taps(wantVideo, wantAudio bool) (*videoTap, capture.AudioReader, func(), error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var vt *videoTap
	if wantVideo {
		if p.video == nil {
			return nil, nil, nil, fmt.Errorf("%w: no video source is open", ErrNoSource)
		}
		var err error
		if vt, err = p.video.attach(func() *videoTap { return newVideoTap(p.detachVideo) }); err != nil {
			return nil, nil, nil, fmt.Errorf("%w: video: %w", ErrNoSource, err)
		}
	}
	if !wantAudio {
		return vt, nil, func() { closeTap(vt) }, nil
	}
	err := errors.New("no audio source is open")
	var at *audioTap
	if p.audio != nil {
		at, err = p.audio.attach(func() *audioTap { return newAudioTap(p.detachAudio) })
	}
	if err != nil {
		if vt != nil {
			p.video.detach(vt)
		}
		return nil, nil, nil, fmt.Errorf("%w: audio: %w", ErrNoSource, err)
	}
	return vt, at, func() { closeTap(vt); closeTap(at) }, nil
}

// closeTap closes a tap that a session may not have asked for.
func closeTap[T tap](t T) {
	var none T
	if t != none {
		_ = t.Close()
	}
}

// detachVideo and detachAudio remove a tap from whichever source feeds it
// now: taps outlive the sources they were attached to.
func (p *program) detachVideo(t *videoTap) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.video != nil {
		p.video.detach(t)
	}
}

func (p *program) detachAudio(t *audioTap) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.audio != nil {
		p.audio.detach(t)
	}
}

// latestFrame returns the newest video frame, or nil when there is no signal;
// the caller must unref it.
func (p *program) latestFrame() *sharedFrame {
	p.mu.Lock()
	f := p.video
	p.mu.Unlock()
	if f == nil {
		return nil
	}
	return f.latest()
}

// level is the audio meter's reading.
func (p *program) level() Level {
	p.mu.Lock()
	f := p.audio
	p.mu.Unlock()
	if f == nil {
		return silence
	}
	return f.level.read()
}

// lastFrameTime is when the video source last delivered a frame, zero if never.
func (p *program) lastFrameTime() time.Time {
	f := p.latestFrame()
	if f == nil {
		return time.Time{}
	}
	defer f.unref()
	return f.captured
}

// sourceErrors says which sources were lost (and are replaced by a slate or
// silence), for the window.
func (p *program) sourceErrors() []string {
	p.mu.Lock()
	v, a, sc := p.video, p.audio, p.scenes
	p.mu.Unlock()
	var out []string
	if v != nil {
		out = v.appendLost(out)
	}
	if sc != nil {
		out = append(out, sc.sourceErrors()...)
	}
	if a != nil {
		out = a.appendLost(out)
	}
	return out
}

// switchScene puts a scene of the collection on air.
func (p *program) switchScene(name string) error {
	p.mu.Lock()
	sc := p.scenes
	p.mu.Unlock()
	if sc == nil {
		return fmt.Errorf("%w: the program is not composing scenes", ErrNoScene)
	}
	return sc.Switch(name)
}

// scene is the name of the scene on air, "" without scenes.
func (p *program) scene() string {
	p.mu.Lock()
	sc := p.scenes
	p.mu.Unlock()
	if sc == nil {
		return ""
	}
	return sc.Active()
}

// soundLevels is each scene source's sound level, without scenes none.
func (p *program) soundLevels() []SoundLevel {
	p.mu.Lock()
	sc := p.scenes
	p.mu.Unlock()
	if sc == nil {
		return nil
	}
	return sc.soundLevels()
}
