package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tallystudio/tally/encode"
)

// recordRun is a session the engine runs for its recording alone.
type recordRun struct {
	sess     *Session
	cancel   context.CancelFunc
	done     chan struct{}
	settings Settings
}

// path is the file it records to, "" once the recording has stopped.
func (r *recordRun) path() string {
	p, _ := r.sess.Recording()
	return p
}

// ErrProgramInUse is wrapped by GoLive when its settings would change the
// picture or sound under a recording that runs alone.
var ErrProgramInUse = errors.New("the recording under way uses another program")

// sameProgram refuses settings that would reopen the sources under the
// recording: a stream going live beside it takes the same picture and sound.
func (r *recordRun) sameProgram(s Settings) error {
	rv, ra := sourceKeys(r.settings.Video, r.settings.Audio)
	sv, sa := sourceKeys(s.Video, s.Audio)
	if rv != sv || ra != sa {
		v := r.settings.Video
		return fmt.Errorf("go live: %w (%s at %dx%d, %d fps): stop the recording to change it",
			ErrProgramInUse, v.Source, v.Width, v.Height, v.FPS)
	}
	return nil
}

// StartRecording records the program to path. While live (or connecting),
// the recording joins the stream and starts at the next keyframe; with
// nothing live, a session that only records starts, as OBS's Start
// Recording does beside streaming. Either way it outlives the stream (see
// Stop). An existing file is never overwritten: the recording takes the
// next free name (show-2.flv, show-3.flv…), which it returns.
func (e *Engine) StartRecording(s Settings, path string) (string, error) {
	if !encode.CanRecord(path) {
		return "", fmt.Errorf("record: %q: use a file ending in .flv, .mp4 or .mkv", path)
	}
	path, err := freeRecordingPath(path)
	if err != nil {
		return "", err
	}
	e.mu.Lock()
	sess, rec := e.sess, e.rec
	e.mu.Unlock()
	switch {
	case rec != nil:
		return "", fmt.Errorf("%w to %s", ErrAlreadyRecording, rec.path())
	case sess != nil:
		if err := sess.StartRecording(path); err != nil {
			return "", err
		}
		return path, nil
	}
	s.Record, s.Destinations = path, nil
	if _, err := e.start(s, true); err != nil {
		return "", err
	}
	return path, nil
}

// recordingFinish bounds how long StopRecording waits for a recording that
// ran alone to finish its file.
const recordingFinish = 15 * time.Second

// StopRecording finishes the recording and returns its file, and why the
// recording failed if it did; a stream under way goes on.
func (e *Engine) StopRecording() (string, error) {
	e.mu.Lock()
	sess, rec := e.sess, e.rec
	e.mu.Unlock()
	switch {
	case rec != nil:
		path := rec.path()
		if path == "" {
			return "", ErrNotRecording
		}
		rec.cancel()
		select {
		case <-rec.done:
		case <-time.After(recordingFinish):
			return path, fmt.Errorf("record: %s is still being finished after %v", path, recordingFinish)
		}
		// The session has ended: this is the recording's own failure, if any.
		return path, rec.sess.closeRecorder()
	case sess != nil:
		path, err := sess.StopRecording()
		e.mu.Lock()
		if e.rec != nil && e.rec.sess == sess {
			// Stop handed the session to its recording meanwhile: with the
			// recording stopped, nothing is left for it to do.
			e.rec.cancel()
		}
		e.mu.Unlock()
		return path, err
	}
	return "", ErrNotRecording
}

// freeRecordingPath is path, or when a file is there, the first of
// name-2.ext, name-3.ext… that is free: a recording never replaces what the
// streamer recorded before.
func freeRecordingPath(path string) (string, error) {
	ext := filepath.Ext(path)
	base := strings.TrimSuffix(path, ext)
	for i := 1; i < 10000; i++ {
		p := path
		if i > 1 {
			p = fmt.Sprintf("%s-%d%s", base, i, ext)
		}
		_, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return p, nil
		}
		if err != nil {
			return "", fmt.Errorf("record: %w", err)
		}
	}
	return "", fmt.Errorf("record: %s and 9998 numbered names after it are all taken", path)
}
