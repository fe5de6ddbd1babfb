package rtmpclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tallystudio/tally/flv"
	"github.com/tallystudio/tally/internal/peers"
	"github.com/tallystudio/tally/rtmpclient/amf"
)

// needVODPeers fails without nginx and FFmpeg's command line (make test
// installs both) and skips under -short, through peers.Require.
func needVODPeers(t *testing.T) {
	t.Helper()
	peers.Require(t, "nginx")
	peers.Require(t, "ffmpeg")
}

// vodName is the stream a VOD player asks nginx for: the file's own name.
const vodName = "vod.flv"

// writeVOD writes a 20 s FLV of size with a keyframe every second, as
// nginx plays it: nginx-rtmp seeks with the keyframe index in the file's
// metadata (without one, every seek rewinds to the start), hence
// add_keyframe_index.
func writeVOD(t *testing.T, ctx context.Context, path, size string) {
	t.Helper()
	out, err := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc=size="+size+":rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", "20",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "64k",
		"-flvflags", "add_keyframe_index",
		"-f", "flv", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
}

// playVOD writes a 320x240 VOD (and any further ones of the sizes given, as
// vod-WxH.flv) into a directory nginx plays from, and starts playing it.
func playVOD(t *testing.T, ctx context.Context, more ...string) (*ClientConn, uint32, string) {
	t.Helper()
	dir := t.TempDir()
	writeVOD(t, ctx, filepath.Join(dir, vodName), "320x240")
	for _, size := range more {
		writeVOD(t, ctx, filepath.Join(dir, "vod-"+size+".flv"), size)
	}
	ng := peers.StartNginx(t, peers.NginxOptions{PlayDir: dir})
	ep, err := ParseURL(ng.VODURL(), vodName)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Dial(ctx, ep, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	id, err := c.Play(ctx, vodName)
	if err != nil {
		t.Fatalf("play: %v", err)
	}
	return c, id, dir
}

func isVideoFrame(m Message) bool {
	return m.Type == TypeVideo && len(m.Payload) > 1 && !isVideoHeader(m.Payload)
}

// nextVideo returns the next video frame the server sends.
func nextVideo(ctx context.Context, c *ClientConn) (Message, error) {
	for {
		select {
		case m, ok := <-c.Media():
			if !ok {
				return Message{}, fmt.Errorf("connection ended: %w", c.Err())
			}
			if isVideoFrame(m) {
				return m, nil
			}
		case <-ctx.Done():
			return Message{}, fmt.Errorf("no video frame: %w", ctx.Err())
		}
	}
}

// videoFrom reads frames until one is at least at ms.
func videoFrom(ctx context.Context, c *ClientConn, ms uint32) (Message, error) {
	for {
		m, err := nextVideo(ctx, c)
		if err != nil || m.Timestamp >= ms {
			return m, err
		}
	}
}

// awaitStatus reads the playing stream's messages up to the onStatus code
// and returns the media before it, in order.
func awaitStatus(ctx context.Context, c *ClientConn, code string) ([]Message, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var media []Message
	for {
		select {
		case m, ok := <-c.Media():
			if !ok {
				return media, fmt.Errorf("waiting for %s: %w", code, c.Err())
			}
			if m.Type != TypeCommandAMF0 && m.Type != TypeCommandAMF3 {
				media = append(media, m)
				continue
			}
			st, err := parseCommand(m)
			if err != nil {
				return media, err
			}
			if info := st.Info(); info.String("code") == code {
				return media, nil
			} else if info.String("level") == "error" {
				return media, statusError(code, st, c.ep.Key)
			}
		case <-ctx.Done():
			return media, fmt.Errorf("waiting for %s: %w", code, ctx.Err())
		}
	}
}

// A seek on a recorded stream moves playback there: nginx confirms with
// NetStream.Seek.Notify and the frames that follow are from the new position.
func TestSeekOnNginxRecordedStreamMovesPlaybackToThePosition(t *testing.T) {
	needVODPeers(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, id, _ := playVOD(t, ctx)

	first, err := nextVideo(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if first.Timestamp > 500 {
		t.Fatalf("playback starts at %d ms, want the file's start", first.Timestamp)
	}
	prev, err := videoFrom(ctx, c, 1000)
	if err != nil {
		t.Fatal(err)
	}

	const target = 10_000
	if err := c.Seek(id, target); err != nil {
		t.Fatalf("seek: %v", err)
	}
	seen, err := awaitStatus(ctx, c, "NetStream.Seek.Notify")
	if err != nil {
		t.Fatal(err)
	}
	// Frames sent before the seek may still come first; they run on from
	// where playback was, 40 ms apart. The seek shows as the first jump, and
	// it lands on a keyframe (one a second) next to the position.
	var pending []Message
	for _, m := range seen {
		if isVideoFrame(m) {
			pending = append(pending, m)
		}
	}
	next := func() Message {
		t.Helper()
		if len(pending) > 0 {
			m := pending[0]
			pending = pending[1:]
			return m
		}
		m, err := nextVideo(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	const maxStale = 250 // nginx sends at most 2 s ahead: 50 frames
	for n := 0; ; n++ {
		if n == maxStale {
			t.Fatalf("no jump in the timestamps within %d frames of the seek (last at %d ms)", maxStale, prev.Timestamp)
		}
		m := next()
		if jump := int64(m.Timestamp) - int64(prev.Timestamp); jump > 1000 || jump < -1000 {
			if m.Timestamp < target-1000 || m.Timestamp > target+2000 {
				t.Fatalf("after seeking to %d ms playback went from %d to %d ms", target, prev.Timestamp, m.Timestamp)
			}
			t.Logf("seek to %d ms: playback went from %d to %d ms", target, prev.Timestamp, m.Timestamp)
			prev = m
			break
		}
		prev = m
	}
	for range 25 {
		m := next()
		if m.Timestamp < prev.Timestamp {
			t.Fatalf("a frame at %d ms after one at %d ms, past the seek", m.Timestamp, prev.Timestamp)
		}
		prev = m
	}
}

// A pause on a recorded stream stops the media (NetStream.Pause.Notify) and
// an unpause starts it again (NetStream.Unpause.Notify).
func TestPauseOnNginxRecordedStreamStopsMediaUntilUnpaused(t *testing.T) {
	needVODPeers(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, id, _ := playVOD(t, ctx)

	at, err := videoFrom(ctx, c, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Pause(id, true, float64(at.Timestamp)); err != nil {
		t.Fatalf("pause: %v", err)
	}
	if _, err := awaitStatus(ctx, c, "NetStream.Pause.Notify"); err != nil {
		t.Fatal(err)
	}
	// nginx sends the notify and then stops: everything sent before it is
	// already in the channel, and nothing may come after it.
	for drained := false; !drained; {
		select {
		case <-c.Media():
		default:
			drained = true
		}
	}
	quiet := time.After(2 * time.Second)
	for waiting := true; waiting; {
		select {
		case m, ok := <-c.Media():
			if !ok {
				t.Fatalf("connection ended while paused: %v", c.Err())
			}
			t.Fatalf("media while paused: %v at %d ms", m, m.Timestamp)
		case <-quiet:
			waiting = false
		}
	}

	if err := c.Pause(id, false, float64(at.Timestamp)); err != nil {
		t.Fatalf("unpause: %v", err)
	}
	seen, err := awaitStatus(ctx, c, "NetStream.Unpause.Notify")
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) > 0 {
		t.Errorf("%d media messages came between the pause and the unpause's answer", len(seen))
	}
	// A second of video, which nginx sends at once from its buffer lead.
	// (nginx-rtmp restarts from the last seek position on unpause, ignoring
	// the one given; only that media flows again is the client's to prove.)
	resumeCtx, cancelResume := context.WithTimeout(ctx, 5*time.Second)
	defer cancelResume()
	for i := range 25 {
		if _, err := nextVideo(resumeCtx, c); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("only %d video frames within 5 s of unpausing", i)
			}
			t.Fatal(err)
		}
	}
}

// play2 switches a playing stream to another: nginx-rtmp closes the old
// recording and plays the new one from where the old one was (start -1).
// nginx sends the new one's metadata, not its sequence header, so the
// switch shows in the metadata's size and in the new, smaller keyframes, on
// the same timeline.
func TestPlay2OnNginxSwitchesToAnotherRecordingOnTheSameTimeline(t *testing.T) {
	needVODPeers(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, id, dir := playVOD(t, ctx, "160x120")
	at, err := videoFrom(ctx, c, 2000)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Play2(id, Play2Options{Stream: "vod-160x120.flv", OldStream: vodName, StartMs: -1}); err != nil {
		t.Fatalf("play2: %v", err)
	}
	if _, err := awaitStatus(ctx, c, "NetStream.Play.Start"); err != nil {
		t.Fatal(err)
	}
	width := 0.0
	for {
		var m Message
		select {
		case m = <-c.Media():
		case <-ctx.Done():
			t.Fatal("no video after play2")
		}
		if m.Type == TypeDataAMF0 {
			if vals, err := amf.DecodeAMF0(m.Payload); err == nil && len(vals) > 1 && vals[0] == "onMetaData" {
				if meta, ok := vals[1].(amf.ECMAArray); ok {
					width, _ = amf.Object(meta).Get("width").(float64)
				}
			}
			continue
		}
		if !isVideoFrame(m) {
			continue
		}
		if width != 160 || !isKeyframe(m.Payload) || !bytes.Equal(m.Payload, tagAt(t, filepath.Join(dir, "vod-160x120.flv"), m.Timestamp)) {
			t.Fatalf("after play2: metadata width %v, then a frame at %d ms (keyframe %v) that is not the new recording's", width, m.Timestamp, isKeyframe(m.Payload))
		}
		if m.Timestamp+1000 < at.Timestamp || m.Timestamp > at.Timestamp+5000 {
			t.Fatalf("the new recording plays from %d ms; the old one was at %d ms", m.Timestamp, at.Timestamp)
		}
		t.Logf("play2 at %d ms: the 160x120 recording plays from its keyframe at %d ms", at.Timestamp, m.Timestamp)
		return
	}
}

// tagAt returns the body of the video tag at ts in an FLV file.
func tagAt(t *testing.T, path string, ts uint32) []byte {
	t.Helper()
	for _, tag := range fixtureTags(t, path) {
		if tag.Type == flv.TagVideo && tag.Timestamp == ts {
			return tag.Data
		}
	}
	t.Fatalf("%s has no video at %d ms", path, ts)
	return nil
}
