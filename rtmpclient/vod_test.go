package rtmpclient

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tallystudio/tally/flv"
	"github.com/tallystudio/tally/rtmpclient/amf"
)

// writeRecording writes an FLV of seconds of 25 fps video (a keyframe every
// second) and 25 audio frames a second, as an ingest records it. Every video
// body ends with the file's mark and the frame number, so a player can tell
// which file and frame it got.
func writeRecording(t testing.TB, path string, mark byte, seconds int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := flv.NewWriter(f, true, true)
	if err != nil {
		t.Fatal(err)
	}
	meta, _ := amf.AppendAMF0(nil, "onMetaData", amf.ECMAArray{{Key: "duration", Value: float64(seconds)}})
	tags := []flv.Tag{
		{Type: flv.TagScript, Data: meta},
		{Type: flv.TagVideo, Data: []byte{0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x28, mark}},
		{Type: flv.TagAudio, Data: []byte{0xaf, 0, 0x12, 0x10}},
	}
	for i := range seconds * 25 {
		ts := uint32(i * 40)
		frame := byte(0x27)
		if i%25 == 0 {
			frame = 0x17
		}
		tags = append(tags, flv.Tag{Type: flv.TagVideo, Timestamp: ts, Data: []byte{frame, 1, 0, 0, 0, mark, byte(i >> 8), byte(i)}},
			flv.Tag{Type: flv.TagAudio, Timestamp: ts + 20, Data: []byte{0xaf, 1, mark}})
	}
	for _, tag := range tags {
		if err := w.WriteTag(tag); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// vodServer serves the recordings in a directory of its own, and returns
// the directory and the endpoint of application "vod".
func vodServer(t *testing.T) (string, Endpoint) {
	t.Helper()
	dir := t.TempDir()
	srv := &Server{OpenRecording: func(_, name string) (Recording, error) {
		f, err := os.OpenInRoot(dir, name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNoRecording
		}
		return f, err
	}}
	ep := startTestServer(t, srv)
	ep.App = "vod"
	return dir, ep
}

// playRecorded dials and plays a recording from startMs.
func playRecorded(t *testing.T, ctx context.Context, ep Endpoint, name string, startMs float64) (*ClientConn, uint32) {
	t.Helper()
	c, err := Dial(ctx, ep, Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	id, err := c.PlayAt(ctx, name, startMs)
	if err != nil {
		t.Fatalf("play %s: %v", name, err)
	}
	return c, id
}

// frameOf reads a test recording's video frame: its file's mark and number.
func frameOf(m Message) (mark byte, n int) {
	p := m.Payload
	return p[len(p)-3], int(p[len(p)-2])<<8 | int(p[len(p)-1])
}

func TestServerPlaysARecordingToItsEndWithPlayStop(t *testing.T) {
	t.Parallel()
	dir, ep := vodServer(t)
	writeRecording(t, filepath.Join(dir, "a.flv"), 'A', 2)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _ := playRecorded(t, ctx, ep, "a.flv", PlayLiveOrRecorded)
	media, err := awaitStatus(ctx, c, "NetStream.Play.Stop")
	if err != nil {
		t.Fatal(err)
	}

	var frames, audio, headers int
	var complete bool
	for i, m := range media {
		switch {
		case isVideoHeader(m.Payload) && m.Type == TypeVideo:
			headers++
		case isVideoFrame(m):
			if _, n := frameOf(m); n != frames {
				t.Fatalf("video frame %d arrived as the %dth (message %d)", n, frames, i)
			}
			frames++
		case m.Type == TypeAudio:
			audio++
		case m.Type == TypeDataAMF0 && bytes.Contains(m.Payload, []byte("NetStream.Play.Complete")):
			complete = true
		}
	}
	if frames != 50 || audio != 51 || headers != 1 || !complete {
		t.Errorf("got %d video frames, %d audio messages, %d video headers, Play.Complete %v; want 50, 51 (with the header), 1, true",
			frames, audio, headers, complete)
	}
}

func TestServerSeeksARecordingToTheKeyframeAtOrBeforeThePosition(t *testing.T) {
	t.Parallel()
	dir, ep := vodServer(t)
	writeRecording(t, filepath.Join(dir, "a.flv"), 'A', 20)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, id := playRecorded(t, ctx, ep, "a.flv", 0)
	if _, err := nextVideo(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := c.Seek(id, 12_500); err != nil {
		t.Fatal(err)
	}
	if _, err := awaitStatus(ctx, c, "NetStream.Seek.Notify"); err != nil {
		t.Fatal(err)
	}
	m, err := nextVideo(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, n := frameOf(m); m.Timestamp != 12_000 || n != 300 || !isKeyframe(m.Payload) {
		t.Errorf("after seeking to 12.5 s the first frame is %d at %d ms (keyframe %v); want the keyframe 300 at 12000 ms",
			n, m.Timestamp, isKeyframe(m.Payload))
	}
}

func TestServerStartsARecordingWhereThePlayAsks(t *testing.T) {
	t.Parallel()
	dir, ep := vodServer(t)
	writeRecording(t, filepath.Join(dir, "a.flv"), 'A', 10)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _ := playRecorded(t, ctx, ep, "flv:a.flv", 5_000)
	m, err := nextVideo(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	// Flash Media Server counts a play that starts past the beginning from
	// there, and librtmp adds the start back.
	if _, n := frameOf(m); m.Timestamp != 0 || n != 125 || !isKeyframe(m.Payload) {
		t.Errorf("playing from 5 s starts with frame %d at %d ms (keyframe %v); want the keyframe 125 at 0 ms", n, m.Timestamp, isKeyframe(m.Payload))
	}
}

func TestServerPausesARecordingAndResumesWhereItStopped(t *testing.T) {
	t.Parallel()
	dir, ep := vodServer(t)
	writeRecording(t, filepath.Join(dir, "a.flv"), 'A', 20)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, id := playRecorded(t, ctx, ep, "a.flv", 0)
	at, err := videoFrom(ctx, c, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Pause(id, true, float64(at.Timestamp)); err != nil {
		t.Fatal(err)
	}
	before, err := awaitStatus(ctx, c, "NetStream.Pause.Notify")
	if err != nil {
		t.Fatal(err)
	}
	last := at
	for _, m := range before {
		if isVideoFrame(m) {
			last = m
		}
	}
	select {
	case m := <-c.Media():
		t.Fatalf("media while paused: %v", m)
	case <-time.After(1500 * time.Millisecond):
	}
	if err := c.Pause(id, false, float64(last.Timestamp)); err != nil {
		t.Fatal(err)
	}
	if _, err := awaitStatus(ctx, c, "NetStream.Unpause.Notify"); err != nil {
		t.Fatal(err)
	}
	next, err := nextVideo(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if next.Timestamp != last.Timestamp+40 {
		t.Errorf("paused after the frame at %d ms, resumed with one at %d ms; want the next one", last.Timestamp, next.Timestamp)
	}
}

func TestServerStopsAndRestartsVideoOnReceiveVideoAtAKeyframe(t *testing.T) {
	t.Parallel()
	dir, ep := vodServer(t)
	writeRecording(t, filepath.Join(dir, "a.flv"), 'A', 20)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, id := playRecorded(t, ctx, ep, "a.flv", 0)
	if _, err := videoFrom(ctx, c, 500); err != nil {
		t.Fatal(err)
	}
	if err := c.ReceiveVideo(id, false); err != nil {
		t.Fatal(err)
	}
	// What the server sent before it read the command may still come; after
	// that, a second of audio alone.
	var lastVideo uint32
	audioAfter := 0
	for deadline := time.After(2500 * time.Millisecond); audioAfter < 25; {
		select {
		case m := <-c.Media():
			switch {
			case isVideoFrame(m):
				if audioAfter > 5 {
					t.Fatalf("video at %d ms after %d audio frames with video off", m.Timestamp, audioAfter)
				}
				lastVideo = m.Timestamp
			case m.Type == TypeAudio && m.Timestamp > lastVideo+200:
				audioAfter++
			}
		case <-deadline:
			t.Fatalf("only %d audio frames with video off", audioAfter)
		}
	}
	if err := c.ReceiveVideo(id, true); err != nil {
		t.Fatal(err)
	}
	if _, err := awaitStatus(ctx, c, "NetStream.Play.Start"); err != nil {
		t.Fatal(err)
	}
	m, err := nextVideo(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if !isKeyframe(m.Payload) || m.Timestamp%1000 != 0 {
		t.Errorf("video came back with a frame at %d ms that is not a keyframe", m.Timestamp)
	}
}

func TestServerPlay2SwitchesToAnotherRecordingAtAKeyframeOnTheSameTimeline(t *testing.T) {
	t.Parallel()
	dir, ep := vodServer(t)
	writeRecording(t, filepath.Join(dir, "a.flv"), 'A', 20)
	writeRecording(t, filepath.Join(dir, "b.flv"), 'B', 20)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, id := playRecorded(t, ctx, ep, "a.flv", 0)
	lastA, err := videoFrom(ctx, c, 1500)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Play2(id, Play2Options{Stream: "b.flv", OldStream: "a.flv", StartMs: -1}); err != nil {
		t.Fatal(err)
	}
	before, err := awaitStatus(ctx, c, "NetStream.Play.Transition")
	if err != nil {
		t.Fatal(err)
	}
	var header, complete bool
	for _, m := range before {
		if isVideoFrame(m) {
			lastA = m
		}
	}
	for {
		select {
		case m := <-c.Media():
			switch {
			case m.Type == TypeVideo && isVideoHeader(m.Payload):
				header = m.Payload[len(m.Payload)-1] == 'B'
			case m.Type == TypeDataAMF0 && bytes.Contains(m.Payload, []byte("TransitionComplete")):
				complete = true
			case isVideoFrame(m):
				mark, n := frameOf(m)
				if mark == 'A' {
					continue
				}
				if !header || !isKeyframe(m.Payload) || m.Timestamp > lastA.Timestamp || lastA.Timestamp-m.Timestamp > 1000 {
					t.Fatalf("the first frame of b.flv is %d at %d ms (keyframe %v, its header first %v); a.flv was at %d ms",
						n, m.Timestamp, isKeyframe(m.Payload), header, lastA.Timestamp)
				}
				if !complete {
					// onPlayStatus follows the keyframe it announces.
					select {
					case m := <-c.Media():
						complete = m.Type == TypeDataAMF0 && bytes.Contains(m.Payload, []byte("TransitionComplete"))
					case <-ctx.Done():
					}
				}
				if !complete {
					t.Error("no onPlayStatus NetStream.Play.TransitionComplete after the switch")
				}
				return
			}
		case <-ctx.Done():
			t.Fatal("no frame of b.flv after play2")
		}
	}
}

func TestServerAnswersAPlayOfAMissingOrBrokenRecording(t *testing.T) {
	t.Parallel()
	dir, ep := vodServer(t)
	if err := os.WriteFile(filepath.Join(dir, "broken.flv"), []byte("not a video at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for name, code := range map[string]string{"missing.flv": "NetStream.Play.StreamNotFound", "broken.flv": "NetStream.Play.Failed",
		"../outside.flv": "NetStream.Play.Failed"} {
		c, err := Dial(ctx, ep, Options{Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.PlayAt(ctx, name, 0)
		var se *StatusError
		if !errors.As(err, &se) || se.Code != code {
			t.Errorf("playing %s: %v, want %s", name, err, code)
		}
		c.Close()
	}
}

// A recording cut short, as one still being written or left by a crash,
// plays up to its last complete tag.
func TestRecordingIndexStopsAtTheLastCompleteTag(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.flv")
	writeRecording(t, path, 'A', 4)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := indexRecording(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(whole.keys) != 4 || whole.meta == nil || len(whole.headers) != 2 || whole.last != 99*40+20 {
		t.Fatalf("index of the whole file: %d keyframes, meta %v, %d headers, last tag at %d ms",
			len(whole.keys), whole.meta != nil, len(whole.headers), whole.last)
	}
	cut, err := indexRecording(bytes.NewReader(b[:len(b)-7]))
	if err != nil {
		t.Fatal(err)
	}
	if cut.last != 99*40 || cut.end >= whole.end {
		t.Errorf("cut short: last tag at %d ms, end %d (whole: %d)", cut.last, cut.end, whole.end)
	}
	if got, _ := whole.seek(2_999); got != whole.keys[2].off {
		t.Errorf("seek to 2999 ms starts at %d, want the keyframe at 2000 ms (%d)", got, whole.keys[2].off)
	}
	if got, _ := whole.seek(0); got != whole.keys[0].off {
		t.Errorf("seek to 0 starts at %d, want the first keyframe (%d)", got, whole.keys[0].off)
	}
}

func FuzzRecordingIndex(f *testing.F) {
	path := filepath.Join(f.TempDir(), "a.flv")
	writeRecording(f, path, 'A', 2)
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:200])
	f.Add([]byte("FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00\x09\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		idx, err := indexRecording(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrBadRecording) {
				t.Fatalf("error not ErrBadRecording: %v", err)
			}
			return
		}
		// The tags indexed lie within the file (a header may claim to be
		// longer than the file: then there are none).
		if len(idx.keys) > len(b)/flvTagHeaderSize || idx.end > idx.first && idx.end > int64(len(b))+4 {
			t.Fatalf("index of %d bytes: %d keyframes, end %d", len(b), len(idx.keys), idx.end)
		}
		for off, _ := idx.seek(0); off < idx.end; {
			_, next, err := readTag(bytes.NewReader(b), off)
			if err != nil {
				break
			}
			if next <= off {
				t.Fatalf("tag at %d is followed by one at %d", off, next)
			}
			off = next
		}
	})
}
