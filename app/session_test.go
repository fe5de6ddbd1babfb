package app

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The session ends on its own only when the last destination fails, and it
// learns that from the failure itself, not from polling.
func TestSessionNoticesWhenEveryDestinationHasFailed(t *testing.T) {
	s, _, err := NewSession(smallSettings(), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := &destination{failures: s.failures}, &destination{failures: s.failures}
	s.dests = []*destination{a, b}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	all := s.watchDestinations(ctx)

	a.setErr(errors.New("first down"))
	select {
	case <-all:
		t.Fatal("reported every destination failed while one still works")
	case <-time.After(200 * time.Millisecond):
	}
	b.setErr(errors.New("second down"))
	select {
	case <-all:
	case <-time.After(5 * time.Second):
		t.Fatal("the last failure was not noticed")
	}
}

// A slot takes a frame at once only when it was captured within the slot's
// interval; an older one waits for the slot's end in case a fresh one comes.
func TestVideoTapTellsFreshFramesFromOldOnes(t *testing.T) {
	tap := newVideoTap(nil)
	opens := time.Now()
	if tap.freshSince(opens) {
		t.Fatal("an empty tap has nothing fresh")
	}
	old := &sharedFrame{captured: opens.Add(-10 * time.Millisecond)}
	old.refs.Store(1)
	tap.offer(old)
	if tap.freshSince(opens) {
		t.Fatal("a frame from before the slot opened counted as fresh")
	}
	fresh := &sharedFrame{captured: opens.Add(time.Millisecond)}
	fresh.refs.Store(1)
	tap.offer(fresh)
	if !tap.freshSince(opens) {
		t.Fatal("a frame captured within the slot did not count as fresh")
	}
	f, dropped, err := tap.take()
	if f != fresh || dropped != 1 || err != nil {
		t.Fatalf("take = %p, %d, %v; want the fresh frame with the old one counted as dropped", f, dropped, err)
	}
	f.unref()
	tap.fail(errors.New("unplugged"))
	if !tap.freshSince(opens) {
		t.Fatal("a failed feed should end the wait")
	}
}
