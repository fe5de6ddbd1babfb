package rtmpclient

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tallystudio/tally/rtmpclient/amf"
)

// Command is a decoded AMF command message: name, transaction ID, the command
// object (often nil) and any further arguments.
type Command struct {
	Name        string
	Transaction float64
	Object      any
	Args        []any
}

// Arg returns argument i, or nil.
func (c Command) Arg(i int) any {
	if i < len(c.Args) {
		return c.Args[i]
	}
	return nil
}

// Info returns the first argument when it is an object: where _result, _error and
// onStatus carry their level, code and description.
func (c Command) Info() amf.Object {
	switch v := c.Arg(0).(type) {
	case amf.Object:
		return v
	case amf.ECMAArray:
		return amf.Object(v)
	case amf.TypedObject:
		return v.Props
	}
	return nil
}

func (c Command) String() string {
	s := fmt.Sprintf("%s(%v)", c.Name, c.Transaction)
	if info := c.Info(); info != nil {
		s += " " + info.String("code")
	}
	return s
}

// appendCommand encodes a command in AMF0.
func appendCommand(b []byte, name string, txn float64, obj any, args ...any) ([]byte, error) {
	b, err := amf.AppendAMF0(b, name, txn, obj)
	if err != nil {
		return b, err
	}
	return amf.AppendAMF0(b, args...)
}

// parseCommand decodes the body of a command message of either AMF version.
func parseCommand(m Message) (Command, error) {
	var vals []any
	var err error
	if m.Type == TypeCommandAMF3 {
		vals, err = amf.DecodeAMF3Command(m.Payload)
	} else {
		vals, err = amf.DecodeAMF0(m.Payload)
	}
	if err != nil {
		return Command{}, fmt.Errorf("decode command: %w", err)
	}
	if len(vals) < 2 {
		return Command{}, protoErr("command with %d values, want at least name and transaction", len(vals))
	}
	name, ok := vals[0].(string)
	if !ok {
		return Command{}, protoErr("command name is %T, want string", vals[0])
	}
	txn, _ := vals[1].(float64)
	c := Command{Name: name, Transaction: txn}
	if len(vals) > 2 {
		c.Object = vals[2]
	}
	if len(vals) > 3 {
		c.Args = vals[3:]
	}
	return c, nil
}

// StatusError is a refusal from the server: an _error answer, or an onStatus
// whose level is "error". It keeps the server's own code and description, which
// is what a streamer needs to fix the problem.
type StatusError struct {
	Op          string // what Tally asked for: "connect", "publish", "play", …
	Code        string // e.g. "NetStream.Publish.BadName"
	Description string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("rtmp %s refused", e.Op)
	if e.Code != "" {
		msg += ": " + e.Code
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

// Permanent reports whether retrying cannot help: a wrong key, an unknown
// application, or an account the server refuses.
func (e *StatusError) Permanent() bool {
	switch e.Code {
	case "NetStream.Publish.BadName", "NetStream.Publish.Denied", "NetStream.Play.StreamNotFound",
		"NetConnection.Connect.Rejected", "NetConnection.Connect.InvalidApp", "NetStream.Play.Failed":
		return true
	}
	return false
}

// ErrUnexpectedClose is returned when the server closes the connection while a
// command is waiting for its answer.
var ErrUnexpectedClose = errors.New("rtmp: server closed the connection")

// statusError builds a StatusError from an _error or onStatus, masking the stream
// key wherever the server quoted it (servers do quote stream names back).
func statusError(op string, c Command, key StreamKey) *StatusError {
	info := c.Info()
	e := &StatusError{Op: op, Code: info.String("code"), Description: info.String("description")}
	if e.Code == "" && e.Description == "" {
		e.Description = fmt.Sprintf("server answered %s with no code", c.Name)
	}
	if k := key.Reveal(); k != "" {
		e.Description = strings.ReplaceAll(e.Description, k, key.String())
		if base, _, ok := strings.Cut(k, "?"); ok && base != "" {
			e.Description = strings.ReplaceAll(e.Description, base, key.String())
		}
	}
	return e
}
