package flv

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// FLV tag types, the same numbers as the RTMP message types they carry.
const (
	TagAudio  = 8
	TagVideo  = 9
	TagScript = 18
)

// Tag is one FLV tag.
type Tag struct {
	Type      uint8
	Timestamp uint32 // milliseconds (FLV's 24 bits plus the extension byte)
	Data      []byte
}

// Writer writes an FLV file. It is not safe for concurrent use.
type Writer struct {
	w   *bufio.Writer
	hdr [15]byte
}

// NewWriter writes the FLV header, declaring audio and/or video.
func NewWriter(w io.Writer, audio, video bool) (*Writer, error) {
	fw := &Writer{w: bufio.NewWriterSize(w, 256<<10)}
	flags := byte(0)
	if audio {
		flags |= 4
	}
	if video {
		flags |= 1
	}
	// Signature, version 1, flags, header size 9, then PreviousTagSize0 = 0.
	if _, err := fw.w.Write([]byte{'F', 'L', 'V', 1, flags, 0, 0, 0, 9, 0, 0, 0, 0}); err != nil {
		return nil, fmt.Errorf("flv: write header: %w", err)
	}
	return fw, nil
}

// WriteTag writes one tag and its trailing PreviousTagSize.
func (fw *Writer) WriteTag(t Tag) error {
	if len(t.Data) > 0xffffff {
		return fmt.Errorf("flv: tag of %d bytes is too large", len(t.Data))
	}
	h := fw.hdr[:11]
	h[0] = t.Type
	h[1], h[2], h[3] = byte(len(t.Data)>>16), byte(len(t.Data)>>8), byte(len(t.Data))
	h[4], h[5], h[6], h[7] = byte(t.Timestamp>>16), byte(t.Timestamp>>8), byte(t.Timestamp), byte(t.Timestamp>>24)
	h[8], h[9], h[10] = 0, 0, 0 // stream ID, always 0
	if _, err := fw.w.Write(h); err != nil {
		return err
	}
	if _, err := fw.w.Write(t.Data); err != nil {
		return err
	}
	_, err := fw.w.Write(binary.BigEndian.AppendUint32(fw.hdr[11:11], uint32(11+len(t.Data))))
	return err
}

// Flush writes buffered tags to the underlying writer.
func (fw *Writer) Flush() error { return fw.w.Flush() }

// Reader reads an FLV file.
type Reader struct {
	r       *bufio.Reader
	maxSize int
	hdr     [15]byte
}

// NewReader checks the FLV header. Tags larger than maxTag bytes are an error
// (0 means 16 MiB, the format's own limit).
func NewReader(r io.Reader, maxTag int) (*Reader, error) {
	fr := &Reader{r: bufio.NewReaderSize(r, 256<<10), maxSize: maxTag}
	if fr.maxSize <= 0 {
		fr.maxSize = 1 << 24
	}
	h := make([]byte, 9)
	if _, err := io.ReadFull(fr.r, h); err != nil {
		return nil, fmt.Errorf("flv: read header: %w", err)
	}
	if string(h[:3]) != "FLV" {
		return nil, errors.New("flv: not an FLV file (no FLV signature)")
	}
	off := binary.BigEndian.Uint32(h[5:])
	if off < 9 || off > 1<<16 {
		return nil, fmt.Errorf("flv: header size %d", off)
	}
	if _, err := fr.r.Discard(int(off-9) + 4); err != nil { // rest of header, PreviousTagSize0
		return nil, fmt.Errorf("flv: read header: %w", err)
	}
	return fr, nil
}

// Next returns the next tag, or io.EOF at the end of the file.
func (fr *Reader) Next() (Tag, error) {
	h := fr.hdr[:11]
	if _, err := io.ReadFull(fr.r, h); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return Tag{}, fmt.Errorf("flv: truncated tag header: %w", err)
		}
		return Tag{}, err
	}
	size := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	if size > fr.maxSize {
		return Tag{}, fmt.Errorf("flv: tag of %d bytes exceeds the %d-byte limit", size, fr.maxSize)
	}
	t := Tag{Type: h[0] & 0x1f, Timestamp: uint32(h[7])<<24 | uint32(h[4])<<16 | uint32(h[5])<<8 | uint32(h[6])}
	t.Data = make([]byte, size)
	if _, err := io.ReadFull(fr.r, t.Data); err != nil {
		return Tag{}, fmt.Errorf("flv: truncated tag body: %w", err)
	}
	if _, err := fr.r.Discard(4); err != nil && !errors.Is(err, io.EOF) {
		return Tag{}, fmt.Errorf("flv: read PreviousTagSize: %w", err)
	}
	return t, nil
}
