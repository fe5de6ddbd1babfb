// Package remote is Tally's remote control: a WebSocket server that speaks
// the obs-websocket v5 protocol (rpcVersion 1), so that the tools streamers
// already drive OBS with (Stream Deck, Touch Portal, chat bots, scripts using
// obs-websocket-js) drive Tally too.
//
// The server is opt-in and asks for a password: a client proves it knows it
// with the protocol's SHA-256 challenge (auth.go) and never sends it. Requests
// (requests.go) map onto a Backend, which the app package implements over the
// studio's engine; events (events.go) come from the backend through Publish.
// Each client has a bounded send queue and a request rate, so that a client
// that floods or never reads is slowed or dropped without costing the others
// (server.go, session.go).
package remote

import "encoding/json"

// RPCVersion is the only obs-websocket RPC version there is (5.x speaks 1).
const RPCVersion = 1

// WebSocketVersion is the obs-websocket release whose protocol this server
// follows; clients read it from Hello and GetVersion.
const WebSocketVersion = "5.5.0"

// Subprotocols a client may ask for. Tally speaks JSON only.
const (
	SubprotocolJSON    = "obswebsocket.json"
	SubprotocolMsgPack = "obswebsocket.msgpack"
)

// OpCode is a message's kind: the "op" of every message.
type OpCode int

const (
	OpHello                OpCode = 0
	OpIdentify             OpCode = 1
	OpIdentified           OpCode = 2
	OpReidentify           OpCode = 3
	OpEvent                OpCode = 5
	OpRequest              OpCode = 6
	OpRequestResponse      OpCode = 7
	OpRequestBatch         OpCode = 8
	OpRequestBatchResponse OpCode = 9
)

// CloseCode is why the server closes a session (the WebSocket close code).
type CloseCode int

const (
	CloseUnknownReason         CloseCode = 4000
	CloseMessageDecodeError    CloseCode = 4002
	CloseMissingDataField      CloseCode = 4003
	CloseInvalidDataFieldType  CloseCode = 4004
	CloseInvalidDataFieldValue CloseCode = 4005
	CloseUnknownOpCode         CloseCode = 4006
	CloseNotIdentified         CloseCode = 4007
	CloseAlreadyIdentified     CloseCode = 4008
	CloseAuthenticationFailed  CloseCode = 4009
	CloseUnsupportedRPCVersion CloseCode = 4010
	CloseSessionInvalidated    CloseCode = 4011
	CloseUnsupportedFeature    CloseCode = 4012
)

// Status is a request's result code (requestStatus.code).
type Status int

const (
	StatusSuccess                 Status = 100
	StatusMissingRequestType      Status = 203
	StatusUnknownRequestType      Status = 204
	StatusGenericError            Status = 205
	StatusUnsupportedBatchExec    Status = 206
	StatusNotReady                Status = 207
	StatusMissingRequestField     Status = 300
	StatusMissingRequestData      Status = 301
	StatusInvalidRequestField     Status = 400
	StatusInvalidRequestFieldType Status = 401
	StatusRequestFieldOutOfRange  Status = 402
	StatusRequestFieldEmpty       Status = 403
	StatusOutputRunning           Status = 500
	StatusOutputNotRunning        Status = 501
	StatusOutputDisabled          Status = 504
	StatusResourceNotFound        Status = 600
	StatusInvalidResourceState    Status = 604
	StatusResourceActionFailed    Status = 701
	StatusRequestProcessingFailed Status = 702
	StatusCannotAct               Status = 703
)

// Subscription is a bitmask of event categories (Identify's
// eventSubscriptions).
type Subscription uint32

const (
	SubGeneral     Subscription = 1 << 0
	SubConfig      Subscription = 1 << 1
	SubScenes      Subscription = 1 << 2
	SubInputs      Subscription = 1 << 3
	SubTransitions Subscription = 1 << 4
	SubFilters     Subscription = 1 << 5
	SubOutputs     Subscription = 1 << 6
	SubSceneItems  Subscription = 1 << 7
	SubMediaInputs Subscription = 1 << 8
	SubVendors     Subscription = 1 << 9
	SubUI          Subscription = 1 << 10
	// SubAll is every category that is not high-volume: what a client
	// that names none gets.
	SubAll Subscription = 1<<11 - 1
)

// Batch execution types (RequestBatch's executionType).
const (
	ExecNone           = -1
	ExecSerialRealtime = 0
	ExecSerialFrame    = 1
	ExecParallel       = 2
)

// message is every message's envelope; D is decoded by op.
type message struct {
	Op *OpCode          `json:"op"`
	D  *json.RawMessage `json:"d"`
}

type outMessage struct {
	Op OpCode `json:"op"`
	D  any    `json:"d"`
}

type hello struct {
	WebSocketVersion string     `json:"obsWebSocketVersion"`
	RPCVersion       int        `json:"rpcVersion"`
	Authentication   *challenge `json:"authentication,omitempty"`
}

type challenge struct {
	Challenge string `json:"challenge"`
	Salt      string `json:"salt"`
}

// identify is Identify's and Reidentify's data. Pointers tell a field left
// out from a zero.
type identify struct {
	RPCVersion         *int          `json:"rpcVersion"`
	Authentication     *string       `json:"authentication"`
	EventSubscriptions *Subscription `json:"eventSubscriptions"`
}

type identified struct {
	NegotiatedRPCVersion int `json:"negotiatedRpcVersion"`
}

type event struct {
	Type   string       `json:"eventType"`
	Intent Subscription `json:"eventIntent"`
	Data   any          `json:"eventData,omitempty"`
}

type request struct {
	Type *string         `json:"requestType"`
	ID   *string         `json:"requestId"`
	Data json.RawMessage `json:"requestData"`
}

type requestStatus struct {
	Result  bool   `json:"result"`
	Code    Status `json:"code"`
	Comment string `json:"comment,omitempty"`
}

type response struct {
	Type   string        `json:"requestType"`
	ID     string        `json:"requestId"`
	Status requestStatus `json:"requestStatus"`
	Data   any           `json:"responseData,omitempty"`
}

type batch struct {
	ID            *string           `json:"requestId"`
	HaltOnFailure bool              `json:"haltOnFailure"`
	ExecutionType *int              `json:"executionType"`
	Requests      []json.RawMessage `json:"requests"`
}

type batchResponse struct {
	ID      string     `json:"requestId"`
	Results []response `json:"results"`
}
