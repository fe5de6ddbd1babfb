package app

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tallystudio/tally/capture"
	"github.com/tallystudio/tally/rtmpclient"
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

// A key problem is told from a URL problem by its kind, not by the word
// "key" in the message (a host name can contain it).
func TestSettingsErrorNamesTheKeyFieldByKind(t *testing.T) {
	for _, tc := range []struct {
		url, key, field string
	}{
		{"rtmp://host/live", "abc def", "key"},
		{"rtmp://host/live", "", "key"},
		{"rtmp://bad_key!host/live", "abcdef", "url"},
		{"rtmp://monkey.example:99999/live", "abcdef", "url"},
	} {
		s := DefaultSettings()
		s.Destinations = []Destination{{Service: "custom", URL: tc.url, Key: rtmpclient.StreamKey(tc.key)}}
		_, err := s.Validate()
		var se *SettingsError
		if !errors.As(err, &se) || se.Field != tc.field || !errors.Is(err, rtmpclient.ErrBadURL) {
			t.Errorf("%s with key %q: %v (field %v), want field %q", tc.url, tc.key, err, se, tc.field)
		}
	}
}

// A source that cannot be opened says so through every layer: ErrNoSource
// and the capture package's own ErrNoDevice both match.
func TestSourceFailureKeepsTheDeviceErrorWrapped(t *testing.T) {
	v := DefaultSettings().Video
	v.Source = "file:" + filepath.Join(t.TempDir(), "missing.mp4")
	_, _, _, err := openSources(v, AudioSettings{Source: "none"})
	if !errors.Is(err, ErrNoSource) || !errors.Is(err, capture.ErrNoDevice) {
		t.Errorf("opening a missing file: %v; want both ErrNoSource and capture.ErrNoDevice", err)
	}
}

// Run names each destination that failed and how many there were, so the
// command can tell "all failed" from "some failed".
func TestSessionReportsWhichDestinationsFailed(t *testing.T) {
	s := DefaultSettings()
	s.Video.Width, s.Video.Height = 320, 180
	dead := "rtmp://127.0.0.1:1/live"
	s.Destinations = []Destination{{Service: "custom", URL: dead, Key: "live_7700112233"}}
	sess, _, err := NewSession(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = sess.Run(ctx)
	var de *DestinationsError
	if !errors.As(err, &de) || de.Total != 1 || len(de.Failed) != 1 || de.Partial() || de.Failed[0].Index != 1 {
		t.Fatalf("Run: %v; want one of one destination failed", err)
	}
	if strings.Contains(err.Error(), "7700112233") || !strings.Contains(de.Failed[0].Server, "127.0.0.1:1") {
		t.Errorf("the failure %q (server %q) shows the key or hides the server", err, de.Failed[0].Server)
	}
}
