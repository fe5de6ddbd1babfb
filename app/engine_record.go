package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tallystudio/tally/encode"
)

// recordRun is a session the engine runs for its recording alone.
type recordRun struct {
	sess     *Session
	cancel   context.CancelFunc
	done     chan struct{}
	settings Settings
}

// sameProgram refuses settings that would change the program under the
// recording: a stream going live beside it takes the same picture and sound.
func (r *recordRun) sameProgram(s Settings) error {
	a, b := r.settings.Video, s.Video
	if a.Source != b.Source || a.Width != b.Width || a.Height != b.Height || a.FPS != b.FPS ||
		r.settings.Audio.Source != s.Audio.Source || r.settings.Audio.SampleRate != s.Audio.SampleRate {
		return fmt.Errorf("go live: the recording under way takes %s at %dx%d, %d fps; stop it to change the program",
			a.Source, a.Width, a.Height, a.FPS)
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
		p, _ := rec.sess.Recording()
		return "", fmt.Errorf("%w to %s", ErrAlreadyRecording, p)
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

// StopRecording finishes the recording and returns its file; a stream
// under way goes on. It returns at once: the file is finished as the
// session that recorded alone ends.
func (e *Engine) StopRecording() (string, error) {
	e.mu.Lock()
	sess, rec := e.sess, e.rec
	e.mu.Unlock()
	switch {
	case rec != nil:
		path, _ := rec.sess.Recording()
		rec.cancel()
		return path, nil
	case sess != nil:
		return sess.StopRecording()
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
