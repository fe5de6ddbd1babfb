package app

import (
	"fmt"
	"strings"
)

// DestinationError is a destination that ended failed: which one, and why.
type DestinationError struct {
	Index  int    // 1-based, in the order of Settings.Destinations
	Server string // the URL with the key masked
	Err    error
}

func (e *DestinationError) Error() string {
	return fmt.Sprintf("destination %d (%s): %v", e.Index, e.Server, e.Err)
}

func (e *DestinationError) Unwrap() error { return e.Err }

// DestinationsError is what Session.Run returns when destinations failed.
// errors.Is and errors.As see through it to each destination's error.
type DestinationsError struct {
	Failed []*DestinationError
	Total  int // destinations in the session
}

func (e *DestinationsError) Error() string {
	if len(e.Failed) == 1 && e.Total == 1 {
		return e.Failed[0].Err.Error()
	}
	msgs := make([]string, len(e.Failed))
	for i, f := range e.Failed {
		msgs[i] = f.Error()
	}
	return fmt.Sprintf("%d of %d destinations failed: %s", len(e.Failed), e.Total, strings.Join(msgs, "; "))
}

func (e *DestinationsError) Unwrap() []error {
	errs := make([]error, len(e.Failed))
	for i, f := range e.Failed {
		errs[i] = f
	}
	return errs
}

// Partial tells whether some destinations streamed to the end.
func (e *DestinationsError) Partial() bool { return len(e.Failed) < e.Total }
