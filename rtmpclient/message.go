package rtmpclient

import "fmt"

// Message type IDs (RTMP 1.0 specification, sections 5.4 and 7.1).
const (
	TypeSetChunkSize     = 1
	TypeAbort            = 2
	TypeAck              = 3
	TypeUserControl      = 4
	TypeWindowAckSize    = 5
	TypeSetPeerBandwidth = 6
	TypeAudio            = 8
	TypeVideo            = 9
	TypeDataAMF3         = 15
	TypeSharedObjectAMF3 = 16
	TypeCommandAMF3      = 17
	TypeDataAMF0         = 18
	TypeSharedObjectAMF0 = 19
	TypeCommandAMF0      = 20
	TypeAggregate        = 22
)

// Chunk stream IDs Tally sends on. The numbers follow FFmpeg's client, whose
// choices every ingest has long accepted; keeping audio and video apart lets each
// keep its own compressed headers.
const (
	csidControl = 2
	csidCommand = 3
	csidAudio   = 4
	csidData    = 5
	csidVideo   = 6
)

// User Control event types (section 7.1.7).
const (
	eventStreamBegin      = 0
	eventStreamEOF        = 1
	eventStreamDry        = 2
	eventSetBufferLength  = 3
	eventStreamIsRecorded = 4
	eventPingRequest      = 6
	eventPingResponse     = 7
)

// Message is one RTMP message. Payload is owned by whoever holds the Message.
type Message struct {
	Type      uint8
	StreamID  uint32
	Timestamp uint32 // milliseconds, wrapping at 2^32
	Payload   []byte
}

func (m Message) String() string {
	return fmt.Sprintf("%s stream=%d ts=%d len=%d", typeName(m.Type), m.StreamID, m.Timestamp, len(m.Payload))
}

func typeName(t uint8) string {
	switch t {
	case TypeSetChunkSize:
		return "SetChunkSize"
	case TypeAbort:
		return "Abort"
	case TypeAck:
		return "Acknowledgement"
	case TypeUserControl:
		return "UserControl"
	case TypeWindowAckSize:
		return "WindowAckSize"
	case TypeSetPeerBandwidth:
		return "SetPeerBandwidth"
	case TypeAudio:
		return "Audio"
	case TypeVideo:
		return "Video"
	case TypeDataAMF3, TypeDataAMF0:
		return "Data"
	case TypeCommandAMF3, TypeCommandAMF0:
		return "Command"
	case TypeSharedObjectAMF3, TypeSharedObjectAMF0:
		return "SharedObject"
	case TypeAggregate:
		return "Aggregate"
	}
	return fmt.Sprintf("type%d", t)
}

// maxControlPayload bounds protocol control and user control messages, which are
// all a few bytes long; a longer one is a broken or hostile peer.
func maxControlPayload(t uint8) (uint32, bool) {
	switch t {
	case TypeSetChunkSize, TypeAbort, TypeAck, TypeWindowAckSize:
		return 4, true
	case TypeSetPeerBandwidth:
		return 5, true
	case TypeUserControl:
		return 64, true
	}
	return 0, false
}
