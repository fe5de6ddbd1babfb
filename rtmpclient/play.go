package rtmpclient

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/tallystudio/tally/rtmpclient/amf"
)

// Where a play starts, besides a position in a recording: the live stream
// if there is one, else the recording (the specification's default), or
// only the live stream.
const (
	PlayLiveOrRecorded = -2
	PlayLiveOnly       = -1
)

// Play starts playing a stream on this connection, live if it is being
// published, else recorded, and returns its message stream ID. Media then
// arrives on Media until the connection ends.
func (c *ClientConn) Play(ctx context.Context, name string) (uint32, error) {
	return c.PlayAt(ctx, name, PlayLiveOrRecorded)
}

// PlayAt is Play from startMs into a recording (from its keyframe at or
// before that), or PlayLiveOrRecorded or PlayLiveOnly. Servers differ on
// the timestamps of a play that starts past the beginning: Flash Media
// Server and Tally's count from the start (add startMs for the position),
// nginx-rtmp keeps the recording's own.
func (c *ClientConn) PlayAt(ctx context.Context, name string, startMs float64) (uint32, error) {
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
	if err := c.sendCommand(streamID, "play", 0, nil, name, startMs); err != nil {
		return 0, fmt.Errorf("rtmp play: %w", err)
	}
	if _, err := c.waitStatus(ctx, "play", "NetStream.Play.Start"); err != nil {
		return 0, err
	}
	return streamID, nil // later statuses come in band (see readLoop)
}

// Media delivers the audio, video and data messages of a playing stream,
// and the onStatus commands that come after Play has returned
// (TypeCommandAMF0; StatusOf reads them), in the order they came. It is closed when the connection ends.
func (c *ClientConn) Media() <-chan Message { return c.media }

// StatusOf returns the code of an onStatus command among Media's messages,
// or "" for any other message.
func StatusOf(m Message) string {
	if m.Type != TypeCommandAMF0 && m.Type != TypeCommandAMF3 {
		return ""
	}
	cmd, err := parseCommand(m)
	if err != nil || cmd.Name != "onStatus" {
		return ""
	}
	return cmd.Info().String("code")
}

// Statuses delivers the onStatus commands the server sends about streams:
// the answers to Pause (NetStream.Pause.Notify, NetStream.Unpause.Notify),
// Seek (NetStream.Seek.Notify), Play2 (NetStream.Play.Transition) and the
// end of a recording (NetStream.Play.Stop). The commands below only send;
// their answers come here, and on Media in their place among the frames.
// If nobody reads here, the oldest are dropped.
func (c *ClientConn) Statuses() <-chan Command { return c.status }

// Pause pauses playback (pause true) or resumes it (false) at a position in
// milliseconds. Servers honour it on recordings; some also on live streams.
func (c *ClientConn) Pause(streamID uint32, pause bool, positionMs float64) error {
	return c.sendCommand(streamID, "pause", 0, nil, pause, positionMs)
}

// Seek moves playback of a recorded stream to a position in milliseconds.
func (c *ClientConn) Seek(streamID uint32, positionMs float64) error {
	return c.sendCommand(streamID, "seek", 0, nil, positionMs)
}

// ReceiveAudio turns the stream's audio off or back on.
func (c *ClientConn) ReceiveAudio(streamID uint32, on bool) error {
	return c.sendCommand(streamID, "receiveAudio", 0, nil, on)
}

// ReceiveVideo turns the stream's video off or back on (from a keyframe).
func (c *ClientConn) ReceiveVideo(streamID uint32, on bool) error {
	return c.sendCommand(streamID, "receiveVideo", 0, nil, on)
}

// CloseStream stops playing on the stream, keeping the connection.
func (c *ClientConn) CloseStream(streamID uint32) error {
	return c.sendCommand(streamID, "closeStream", 0, nil)
}

// Play2Options say what Play2 switches to.
type Play2Options struct {
	// Stream is the stream to switch to; OldStream the one playing now.
	Stream, OldStream string
	// StartMs is where to start in a recording; negative goes on from
	// where the old stream was.
	StartMs float64
	// Transition is "switch" (the default: at the next keyframe, on the
	// same timeline), "swap", "reset" (as a new play) or "stop".
	Transition string
}

// Play2 switches the playing stream to another without stopping playback:
// Flash's NetStream.play2, used to change renditions as bandwidth changes.
// The server answers NetStream.Play.Transition on Statuses and, once the
// switch has happened at a keyframe, onPlayStatus
// NetStream.Play.TransitionComplete among the media.
func (c *ClientConn) Play2(streamID uint32, o Play2Options) error {
	if o.Transition == "" {
		o.Transition = "switch"
	}
	return c.sendCommand(streamID, "play2", 0, nil, amf.Object{
		{Key: "streamName", Value: o.Stream}, {Key: "oldStreamName", Value: o.OldStream},
		{Key: "start", Value: o.StartMs}, {Key: "len", Value: -1.0},
		{Key: "offset", Value: -1.0}, {Key: "transition", Value: o.Transition}})
}
