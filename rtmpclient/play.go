package rtmpclient

import (
	"context"
	"encoding/binary"
	"fmt"
)

// Play starts playing a stream on this connection and returns its message
// stream ID. Media then arrives on Media until the connection ends.
func (c *ClientConn) Play(ctx context.Context, name string) (uint32, error) {
	c.playing.Store(true)
	streamID, err := c.createStream(ctx)
	if err != nil {
		return 0, err
	}
	// Ask for a small buffer: a confidence monitor wants the newest frames.
	var b [10]byte
	binary.BigEndian.PutUint16(b[:], eventSetBufferLength)
	binary.BigEndian.PutUint32(b[2:], streamID)
	binary.BigEndian.PutUint32(b[6:], 1000)
	if err := c.t.sendControl(TypeUserControl, b[:]); err != nil {
		return 0, fmt.Errorf("rtmp play: %w", err)
	}
	// -2: play a live stream if there is one, else a recorded one (the spec's default).
	if err := c.sendCommand(streamID, "play", 0, nil, name, -2.0); err != nil {
		return 0, fmt.Errorf("rtmp play: %w", err)
	}
	if _, err := c.waitStatus(ctx, "play", "NetStream.Play.Start"); err != nil {
		return 0, err
	}
	return streamID, nil
}

// Media delivers the audio, video and data messages of a playing stream. It is
// closed when the connection ends.
func (c *ClientConn) Media() <-chan Message { return c.media }

// Pause pauses or resumes playback at a position in milliseconds. Live streams
// on most servers ignore it; recorded ones honour it.
func (c *ClientConn) Pause(streamID uint32, pause bool, positionMs float64) error {
	return c.sendCommand(streamID, "pause", 0, nil, pause, positionMs)
}

// Seek moves playback of a recorded stream to a position in milliseconds.
func (c *ClientConn) Seek(streamID uint32, positionMs float64) error {
	return c.sendCommand(streamID, "seek", 0, nil, positionMs)
}
