package rtmpclient

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// publishLive publishes name on the server until the test ends: a header,
// then video at 50 frames a second (a keyframe every tenth) and audio
// beside it. Every video body ends with mark and the frame number.
func publishLive(t *testing.T, ctx context.Context, ep Endpoint, name string, mark byte) {
	t.Helper()
	pub, id, err := dialStream(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	if err := publishOn(ctx, pub, id, name); err != nil {
		t.Fatal(err)
	}
	send := func(csid uint32, typ uint8, ts uint32, p []byte) error {
		return pub.t.send(csid, &Message{Type: typ, StreamID: id, Timestamp: ts, Payload: p})
	}
	if err := send(csidVideo, TypeVideo, 0, []byte{0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x28, mark}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			frame := byte(0x27)
			if i%10 == 0 {
				frame = 0x17
			}
			ts := uint32(i * 20)
			if send(csidVideo, TypeVideo, ts, []byte{frame, 1, 0, 0, 0, mark, byte(i >> 8), byte(i)}) != nil ||
				send(csidAudio, TypeAudio, ts, []byte{0xaf, 1, mark}) != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
		pub.Close()
	})
}

func TestServerTurnsALiveStreamsVideoOffAndBackOnAtAKeyframe(t *testing.T) {
	t.Parallel()
	srv := &Server{OnPublish: func(PublishRequest) (StreamSink, error) { return newNopSink(), nil }}
	ep := startTestServer(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	publishLive(t, ctx, ep, "cam", 'A')
	c, err := Dial(ctx, ep, Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id, err := c.Play(ctx, "cam")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nextVideo(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := c.ReceiveVideo(id, false); err != nil {
		t.Fatal(err)
	}
	// The command and the relay race: some video may still come; after
	// that, only audio.
	audio := 0
	for audio < 30 {
		select {
		case m := <-c.Media():
			switch {
			case isVideoFrame(m) && audio > 10:
				t.Fatalf("video at %d ms, %d audio frames after receiveVideo(false)", m.Timestamp, audio)
			case m.Type == TypeAudio:
				audio++
			}
		case <-ctx.Done():
			t.Fatalf("only %d audio frames with video off", audio)
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
	if !isKeyframe(m.Payload) {
		t.Errorf("video came back with a frame at %d ms that is not a keyframe", m.Timestamp)
	}
}

func TestServerPlay2SwitchesBetweenLiveStreamsAtTheNewOnesKeyframe(t *testing.T) {
	t.Parallel()
	srv := &Server{OnPublish: func(PublishRequest) (StreamSink, error) { return newNopSink(), nil }}
	ep := startTestServer(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	publishLive(t, ctx, ep, "cam-a", 'A')
	publishLive(t, ctx, ep, "cam-b", 'B')
	c, err := Dial(ctx, ep, Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id, err := c.Play(ctx, "cam-a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nextVideo(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := c.Play2(id, Play2Options{Stream: "cam-b", OldStream: "cam-a", StartMs: -1}); err != nil {
		t.Fatal(err)
	}
	if _, err := awaitStatus(ctx, c, "NetStream.Play.Transition"); err != nil {
		t.Fatal(err)
	}
	header := false
	for {
		var m Message
		select {
		case m = <-c.Media():
		case <-ctx.Done():
			t.Fatal("no frame of cam-b after play2")
		}
		switch {
		case m.Type == TypeVideo && isVideoHeader(m.Payload):
			header = m.Payload[len(m.Payload)-1] == 'B'
		case isVideoFrame(m):
			if mark, n := frameOf(m); mark != 'B' || !header || !isKeyframe(m.Payload) {
				t.Fatalf("after play2 the first frame is %c%d (keyframe %v, cam-b's header first %v); want a keyframe of cam-b after its header",
					mark, n, isKeyframe(m.Payload), header)
			}
			select {
			case m := <-c.Media():
				if m.Type != TypeDataAMF0 || !bytes.Contains(m.Payload, []byte("TransitionComplete")) {
					t.Errorf("after the first keyframe of cam-b came %v, want onPlayStatus NetStream.Play.TransitionComplete", m)
				}
			case <-ctx.Done():
				t.Fatal("nothing after cam-b's first keyframe")
			}
			return
		}
	}
}
