package rtmpclient

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Recording is a recorded FLV file a Server plays to players: an *os.File
// will do. The server reads it at offsets, so a seek never disturbs a read.
type Recording interface {
	io.ReaderAt
	io.Closer
}

// ErrNoRecording is what Server.OpenRecording returns (or wraps) for a name
// that has no recording: the player gets NetStream.Play.StreamNotFound.
var ErrNoRecording = errors.New("rtmp server: no such recording")

// ErrBadRecording wraps every reason a recording cannot be played: not an
// FLV file, or a tag that claims more than the file holds.
var ErrBadRecording = errors.New("rtmp server: unplayable recording")

// recordingIndex is what a player needs to know of a recorded FLV before
// sending any of it: where its tags start and end, where its keyframes are
// (for seek), and the metadata and sequence headers a player starting
// anywhere but the first tag must be sent first.
//
// The headers are those before the first video frame: a recording made by
// `tally ingest` is one publish, whose headers come first and do not change.
type recordingIndex struct {
	first, end int64 // the first tag's offset; past the last complete tag
	keys       []keyframe
	meta       *Message
	headers    []Message
	last       uint32 // the timestamp of the last tag
}

// keyframe is a video keyframe's timestamp and its tag's offset.
type keyframe struct {
	ts  uint32
	off int64
}

// Bounds on what an index keeps, whatever the file claims: a keyframe per
// entry (a day of keyframes every 100 ms fits), and the headers.
const (
	maxIndexKeys     = 1 << 20
	maxIndexHeaders  = 16
	maxHeaderBytes   = 4 << 20
	flvTagHeaderSize = 11
)

// indexRecording reads a recording's tag headers, and the bodies of the few
// tags that matter (keyframes, headers, metadata), to build its index. A
// file cut short (a recording still being written, or a crash) ends at its
// last complete tag.
func indexRecording(r io.ReaderAt) (*recordingIndex, error) {
	var h [13]byte
	if _, err := r.ReadAt(h[:9], 0); err != nil {
		return nil, fmt.Errorf("%w: reading the FLV header: %v", ErrBadRecording, err)
	}
	if string(h[:3]) != "FLV" {
		return nil, fmt.Errorf("%w: not an FLV file", ErrBadRecording)
	}
	hdrSize := int64(binary.BigEndian.Uint32(h[5:9]))
	if hdrSize < 9 || hdrSize > 1<<16 {
		return nil, fmt.Errorf("%w: FLV header size %d", ErrBadRecording, hdrSize)
	}
	idx := &recordingIndex{first: hdrSize + 4} // PreviousTagSize0 follows the header
	idx.end = idx.first
	headerBytes := 0
	framesSeen := false
	for off := idx.first; ; {
		m, size, err := readTagHeader(r, off, h[:])
		if err != nil {
			if errors.Is(err, io.EOF) {
				return idx, nil
			}
			return nil, err
		}
		next := off + flvTagHeaderSize + int64(size) + 4
		if size > 0 {
			// The last byte of the body must be there; the PreviousTagSize
			// after it may be missing from a file cut short.
			var b [1]byte
			if _, err := r.ReadAt(b[:], off+flvTagHeaderSize+int64(size)-1); err != nil {
				return idx, nil
			}
		}
		body := func() ([]byte, error) {
			b := make([]byte, size)
			if _, err := r.ReadAt(b, off+flvTagHeaderSize); err != nil {
				return nil, fmt.Errorf("%w: tag at %d: %v", ErrBadRecording, off, err)
			}
			return b, nil
		}
		first := h[flvTagHeaderSize]
		switch {
		case m.Type == TypeVideo && size > 0 && (first>>4)&7 == 1: // a keyframe, or a header
			b, err := body()
			if err != nil {
				return nil, err
			}
			if isVideoHeader(b) {
				if !framesSeen && len(idx.headers) < maxIndexHeaders && headerBytes+size <= maxHeaderBytes {
					m.Payload, headerBytes = b, headerBytes+size
					idx.headers = append(idx.headers, m)
				}
				break
			}
			framesSeen = true
			if len(idx.keys) < maxIndexKeys {
				idx.keys = append(idx.keys, keyframe{ts: m.Timestamp, off: off})
			}
		case m.Type == TypeVideo:
			framesSeen = true
		case !framesSeen && m.Type == TypeAudio && size > 1 && first>>4 == 10 && h[flvTagHeaderSize+1] == 0:
			if len(idx.headers) < maxIndexHeaders && headerBytes+size <= maxHeaderBytes {
				b, err := body()
				if err != nil {
					return nil, err
				}
				m.Payload, headerBytes = b, headerBytes+size
				idx.headers = append(idx.headers, m)
			}
		case idx.meta == nil && m.Type == TypeDataAMF0 && size <= 1<<16:
			b, err := body()
			if err != nil {
				return nil, err
			}
			m.Payload = b
			idx.meta = &m
		}
		idx.last, idx.end, off = m.Timestamp, next, next
	}
}

// readTagHeader reads the tag header at off (and the first two body bytes,
// when there are any, into h[11:13]). io.EOF means no complete header is there.
func readTagHeader(r io.ReaderAt, off int64, h []byte) (Message, int, error) {
	n, err := r.ReadAt(h[:13], off)
	if n < flvTagHeaderSize {
		if err == nil || errors.Is(err, io.EOF) {
			return Message{}, 0, io.EOF
		}
		return Message{}, 0, fmt.Errorf("%w: tag at %d: %v", ErrBadRecording, off, err)
	}
	size := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	if n < flvTagHeaderSize+min(size, 2) {
		return Message{}, 0, io.EOF
	}
	typ := h[0] & 0x1f
	switch typ {
	case TypeAudio, TypeVideo, TypeDataAMF0:
	default:
		return Message{}, 0, fmt.Errorf("%w: tag of type %d at %d", ErrBadRecording, typ, off)
	}
	ts := uint32(h[7])<<24 | uint32(h[4])<<16 | uint32(h[5])<<8 | uint32(h[6])
	return Message{Type: typ, Timestamp: ts}, size, nil
}

// readTag reads the whole tag at off, and returns it with the next tag's offset.
func readTag(r io.ReaderAt, off int64) (Message, int64, error) {
	var h [13]byte
	m, size, err := readTagHeader(r, off, h[:])
	if err != nil {
		return Message{}, 0, err
	}
	m.Payload = make([]byte, size)
	if _, err := r.ReadAt(m.Payload, off+flvTagHeaderSize); err != nil {
		if errors.Is(err, io.EOF) {
			return Message{}, 0, io.EOF // cut short: the end of what can be played
		}
		return Message{}, 0, fmt.Errorf("%w: tag at %d: %v", ErrBadRecording, off, err)
	}
	return m, off + flvTagHeaderSize + int64(size) + 4, nil
}

// seek returns where playing from ms starts: the last keyframe at or before
// it, or the first tag when there is none; and that tag's timestamp.
func (idx *recordingIndex) seek(ms uint32) (int64, uint32) {
	lo, hi := 0, len(idx.keys)
	for lo < hi { // the first keyframe after ms
		mid := (lo + hi) / 2
		if idx.keys[mid].ts <= ms {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		return idx.first, 0
	}
	return idx.keys[lo-1].off, idx.keys[lo-1].ts
}

// isKeyframe says whether a video message is a keyframe (of any codec, legacy
// or Enhanced RTMP), headers excluded.
func isKeyframe(p []byte) bool {
	return len(p) > 0 && (p[0]>>4)&7 == 1 && !isVideoHeader(p)
}
