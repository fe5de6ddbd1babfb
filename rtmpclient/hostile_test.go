package rtmpclient

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// hostileServer hands each client, after the handshake, to script, which
// misbehaves in its own way.
func hostileServer(t *testing.T, script func(nc net.Conn, tr *transport)) Endpoint {
	return endpointAt(t, fakeServer(t, script))
}

func replyCmd(tr *transport, streamID uint32, name string, txn float64, obj any, args ...any) {
	b, _ := appendCommand(nil, name, txn, obj, args...)
	_ = tr.send(csidCommand, &Message{Type: TypeCommandAMF0, StreamID: streamID, Payload: b})
}

// answerUntil plays a well-behaved server until the client sends the named
// command, and returns it without answering.
func answerUntil(tr *transport, stopAt string) (Command, bool) {
	for {
		m, err := tr.readMessage()
		if err != nil {
			return Command{}, false
		}
		if m.Type != TypeCommandAMF0 {
			continue
		}
		c, err := parseCommand(m)
		if err != nil {
			return Command{}, false
		}
		if c.Name == stopAt {
			return c, true
		}
		switch c.Name {
		case "connect":
			replyCmd(tr, 0, "_result", c.Transaction, nil, status("status", "NetConnection.Connect.Success", ""))
		case "createStream":
			replyCmd(tr, 0, "_result", c.Transaction, nil, 1.0)
		}
	}
}

var quick = Options{Timeout: time.Second, WriteTimeout: time.Second}

func dialErr(t *testing.T, ep Endpoint) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	c, err := Dial(context.Background(), ep, quick)
	if err == nil {
		c.Close()
		t.Fatal("dial succeeded against a hostile server")
	}
	return time.Since(start), err
}

func TestHostileServerSendingGarbageAfterHandshake(t *testing.T) {
	t.Parallel()
	ep := hostileServer(t, func(nc net.Conn, _ *transport) {
		nc.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
		time.Sleep(2 * time.Second)
	})
	took, err := dialErr(t, ep)
	if !errors.Is(err, ErrProtocol) || took > 1500*time.Millisecond {
		t.Fatalf("after %v: %v; want a protocol violation, fast", took, err)
	}
}

func TestHostileServerClaimingSixteenMiBMessage(t *testing.T) {
	t.Parallel()
	ep := hostileServer(t, func(nc net.Conn, _ *transport) {
		nc.Write(mustHex("03 000000 ffffff 14 00000000"))
		time.Sleep(2 * time.Second)
	})
	_, err := dialErr(t, ep)
	if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "16777215 bytes exceeds") {
		t.Fatalf("got %v", err)
	}
}

// A server that sets the largest chunk size and then claims a big message it
// never finishes: the client times out and has not allocated the claimed size.
func TestHostileServerHugeChunkSizeThenStall(t *testing.T) {
	t.Parallel()
	ep := hostileServer(t, func(nc net.Conn, tr *transport) {
		_ = tr.sendControl(TypeSetChunkSize, binary.BigEndian.AppendUint32(nil, maxChunkSize))
		tr.cw.size = maxChunkSize
		nc.Write(mustHex("03 000000 7fffff 14 00000000"))
		nc.Write(make([]byte, 1024)) // 1 KiB of a claimed 8 MiB, then nothing
		time.Sleep(3 * time.Second)
	})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	took, err := dialErr(t, ep)
	runtime.ReadMemStats(&after)
	if !strings.Contains(err.Error(), "no answer from the server") || took > 2500*time.Millisecond {
		t.Fatalf("after %v: %v", took, err)
	}
	if grew := int64(after.TotalAlloc) - int64(before.TotalAlloc); grew > 4<<20 {
		t.Errorf("allocated %d bytes for a message that never came", grew)
	}
}

func TestHostileServerAnsweringConnectWithError(t *testing.T) {
	t.Parallel()
	ep := hostileServer(t, func(nc net.Conn, tr *transport) {
		c, ok := answerUntil(tr, "connect")
		if ok {
			replyCmd(tr, 0, "_error", c.Transaction, nil, status("error", "NetConnection.Connect.Rejected", "Invalid app "+testKey))
		}
		time.Sleep(time.Second)
	})
	_, err := dialErr(t, ep)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != "NetConnection.Connect.Rejected" || !se.Permanent() {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), testKey) || !strings.Contains(err.Error(), "Invalid app") {
		t.Fatalf("error must keep the server's words but mask the key: %v", err)
	}
}

func TestHostileServerRejectingPublishWithBadName(t *testing.T) {
	t.Parallel()
	ep := hostileServer(t, func(nc net.Conn, tr *transport) {
		if _, ok := answerUntil(tr, "publish"); ok {
			replyCmd(tr, 1, "onStatus", 0, nil, status("error", "NetStream.Publish.BadName", "Stream key not valid"))
		}
		time.Sleep(time.Second)
	})
	err := NewPublisher(PublisherConfig{Endpoint: ep, Options: quick}).Run(context.Background())
	var se *StatusError
	if !errors.As(err, &se) || se.Code != "NetStream.Publish.BadName" || se.Description != "Stream key not valid" {
		t.Fatalf("got %v", err)
	}
}

func TestHostileServerNeverAnsweringPublish(t *testing.T) {
	t.Parallel()
	ep := hostileServer(t, func(nc net.Conn, tr *transport) {
		answerUntil(tr, "publish")
		time.Sleep(3 * time.Second)
	})
	start := time.Now()
	err := NewPublisher(PublisherConfig{Endpoint: ep, Options: quick}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "rtmp publish: no answer from the server") || time.Since(start) > 2500*time.Millisecond {
		t.Fatalf("after %v: %v", time.Since(start), err)
	}
}

func TestHostileServerClosingMidChunk(t *testing.T) {
	t.Parallel()
	ep := hostileServer(t, func(nc net.Conn, tr *transport) {
		if c, ok := answerUntil(tr, "connect"); ok {
			b, _ := appendCommand(nil, "_result", c.Transaction, nil, status("status", "NetConnection.Connect.Success", ""))
			hdr := mustHex("03 000000")
			hdr = appendUint24(hdr, uint32(len(b)))
			hdr = append(hdr, TypeCommandAMF0, 0, 0, 0, 0)
			nc.Write(append(hdr, b[:len(b)/2]...))
		}
	})
	_, err := dialErr(t, ep)
	if !strings.Contains(err.Error(), "closed the connection in the middle of a message") {
		t.Fatalf("got %v", err)
	}
}

func TestServerThatNeverAnswersHandshakeTimesOut(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			defer c.Close()
			time.Sleep(3 * time.Second)
		}
	}()
	ep, _ := ParseURL("rtmp://"+l.Addr().String()+"/live", testKey)
	took, err := dialErr(t, ep)
	if !errors.Is(err, ErrHandshake) || !strings.Contains(err.Error(), "did not answer in time") || took > 2*time.Second {
		t.Fatalf("after %v: %v", took, err)
	}
}
