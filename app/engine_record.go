package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tallystudio/tally/encode"
)

// StartRecording records the program to path. While a session runs (live,
// or connecting), the recording joins it and starts at the next keyframe;
// with none, a session that only records starts, as OBS's Start Recording
// does beside streaming. An existing file is never overwritten: the
// recording takes the next free name (show-2.flv, show-3.flv…), which it
// returns.
func (e *Engine) StartRecording(s Settings, path string) (string, error) {
	if !encode.CanRecord(path) {
		return "", fmt.Errorf("record: %q: use a file ending in .flv, .mp4 or .mkv", path)
	}
	path, err := freeRecordingPath(path)
	if err != nil {
		return "", err
	}
	e.mu.Lock()
	sess := e.sess
	e.mu.Unlock()
	if sess != nil {
		if err := sess.StartRecording(path); err != nil {
			return "", err
		}
		return path, nil
	}
	s.Record, s.Destinations = path, nil
	if _, err := e.GoLive(s); err != nil {
		return "", err
	}
	return path, nil
}

// StopRecording finishes the recording and returns its file. A session
// that only records stops with it; a live one goes on.
func (e *Engine) StopRecording() (string, error) {
	e.mu.Lock()
	sess, run := e.sess, e.running
	e.mu.Unlock()
	if sess == nil {
		return "", ErrNotRecording
	}
	if len(run.Destinations) == 0 {
		path, _ := sess.Recording()
		if path == "" {
			return "", ErrNotRecording
		}
		e.Stop()
		return path, nil
	}
	return sess.StopRecording()
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
