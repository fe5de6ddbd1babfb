package scene

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors, for errors.Is.
var (
	// ErrInvalid is wrapped by every problem with a collection's content: a
	// syntax error, a wrong type, an unknown field, a limit, a rule of
	// Validate. A file that is not there is fs.ErrNotExist and not ErrInvalid;
	// an image or font that is not there is both.
	ErrInvalid = errors.New("invalid scene collection")
	// ErrNotFound is an edit that names a scene, layer or source there is not.
	ErrNotFound = errors.New("not found")
	// ErrExists is an edit that would give two scenes or sources one name.
	ErrExists = errors.New("already exists")
)

// Error is a problem with a collection, where it is. Its message reads like a
// compiler's:
//
//	scenes.json:14: scenes[0].layers[2].width: must be greater than 0 (got -5)
type Error struct {
	File  string // the collection file as Load was given it; "" from Parse
	Line  int    // 1-based; 0 when not known (a collection not read from a file)
	Field string // the JSON path: "scenes[0].layers[2].width", "sources[3].type"; "" for the whole file
	Err   error  // what is wrong; wraps ErrInvalid for every problem with the content
}

func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		b.WriteString(e.File + ":" + strconv.Itoa(e.Line) + ": ")
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		b.WriteString("line " + strconv.Itoa(e.Line) + ": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// problem is an Error's Err for something wrong with the content: its
// message is the problem alone (no "invalid scene collection:" in front),
// yet it is ErrInvalid, and also its cause when it has one (the
// fs.ErrNotExist of a missing image, a *json.SyntaxError).
type problem struct {
	msg   string
	cause error
}

func (p *problem) Error() string { return p.msg }

func (p *problem) Unwrap() []error {
	if p.cause == nil {
		return []error{ErrInvalid}
	}
	return []error{ErrInvalid, p.cause}
}

// invalid is a problem at field.
func invalid(field, format string, args ...any) *Error {
	return &Error{Field: field, Err: &problem{msg: fmt.Sprintf(format, args...)}}
}

// invalidCause is a problem at field that cause explains.
func invalidCause(field string, cause error, format string, args ...any) *Error {
	return &Error{Field: field, Err: &problem{msg: fmt.Sprintf(format, args...), cause: cause}}
}
