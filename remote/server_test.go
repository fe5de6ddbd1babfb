package remote

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestServerRefusesToRunWithoutAPassword(t *testing.T) {
	if _, err := Start(Config{Addr: "127.0.0.1:0"}, newFake(), nil); !errors.Is(err, ErrNoPassword) {
		t.Fatalf("got %v, want ErrNoPassword", err)
	}
}

func TestDefaultAddressIsLoopbackOnly(t *testing.T) {
	if c := (Config{}).withDefaults(); c.Addr != "127.0.0.1:4455" {
		t.Fatalf("default address %q", c.Addr)
	}
}

func TestHelloCarriesAChallengeAndIdentifyNegotiatesRPC1(t *testing.T) {
	s, _ := startServer(t, newFake(), Config{})
	c := dial(t, s)
	var h hello
	if err := json.Unmarshal(c.mustRead(OpHello), &h); err != nil {
		t.Fatal(err)
	}
	if h.RPCVersion != 1 || h.Authentication == nil || h.Authentication.Challenge == "" || h.Authentication.Salt == "" {
		t.Fatalf("hello %+v", h)
	}
	auth := authResponse(testPassword, *h.Authentication)
	v := 1
	c.send(OpIdentify, identify{RPCVersion: &v, Authentication: &auth})
	var id identified
	if err := json.Unmarshal(c.mustRead(OpIdentified), &id); err != nil || id.NegotiatedRPCVersion != 1 {
		t.Fatalf("identified %+v %v", id, err)
	}
	waitFor(t, func() bool { return s.Clients() == 1 }, "the client to count")
	_ = c.conn.Close(websocket.StatusNormalClosure, "")
	waitFor(t, func() bool { return s.Clients() == 0 }, "the client to leave the count")
}

func TestWrongPasswordIsClosedWithAuthenticationFailedAfterAPause(t *testing.T) {
	s, _ := startServer(t, newFake(), Config{AuthFailureDelay: 300 * time.Millisecond})
	c := dial(t, s)
	t0 := time.Now()
	c.identify("wrong password", nil)
	if code := c.closeCode(); code != websocket.StatusCode(CloseAuthenticationFailed) {
		t.Fatalf("close code %d, want 4009", code)
	}
	if d := time.Since(t0); d < 300*time.Millisecond {
		t.Errorf("refused after %v: guessing is not slowed", d)
	}
	if s.Clients() != 0 {
		t.Fatal("a client that failed to authenticate is counted")
	}
}

func TestIdentifyWithoutAuthenticationIsRefused(t *testing.T) {
	s, _ := startServer(t, newFake(), Config{})
	c := dial(t, s)
	c.mustRead(OpHello)
	c.send(OpIdentify, map[string]any{"rpcVersion": 1})
	if code := c.closeCode(); code != websocket.StatusCode(CloseAuthenticationFailed) {
		t.Fatalf("close code %d, want 4009", code)
	}
}

func TestProtocolBreachesCloseWithTheProtocolsCodes(t *testing.T) {
	s, _ := startServer(t, newFake(), Config{})
	for _, tc := range []struct {
		name string
		msg  string
		auth bool // identify first
		want CloseCode
	}{
		{"malformed JSON", `{"op": 1, "d": {`, false, CloseMessageDecodeError},
		{"not an object", `[1,2,3]`, false, CloseMessageDecodeError},
		{"request before identify", `{"op":6,"d":{"requestType":"GetVersion","requestId":"1"}}`, false, CloseNotIdentified},
		{"unknown op", `{"op":42,"d":{}}`, true, CloseUnknownOpCode},
		{"no op", `{"d":{}}`, true, CloseUnknownOpCode},
		{"no data", `{"op":6}`, true, CloseMissingDataField},
		{"request without id", `{"op":6,"d":{"requestType":"GetVersion"}}`, true, CloseMissingDataField},
		{"identify twice", `{"op":1,"d":{"rpcVersion":1}}`, true, CloseAlreadyIdentified},
		{"old rpc version", `{"op":1,"d":{"rpcVersion":0}}`, false, CloseUnsupportedRPCVersion},
		{"bad batch execution type", `{"op":8,"d":{"requestId":"b","executionType":7,"requests":[]}}`, true, CloseInvalidDataFieldValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c *client
			if tc.auth {
				c = login(t, s, nil)
			} else {
				c = dial(t, s)
				c.mustRead(OpHello)
			}
			if err := c.sendRaw([]byte(tc.msg)); err != nil {
				t.Fatal(err)
			}
			if code := c.closeCode(); code != websocket.StatusCode(tc.want) {
				t.Fatalf("close code %d, want %d", code, tc.want)
			}
		})
	}
	// Nothing crashed: a well-behaved client is still served.
	c := login(t, s, nil)
	if r := c.call("GetVersion", nil); !r.Status.Result {
		t.Fatalf("GetVersion after the breaches: %+v", r.Status)
	}
}

func TestMsgPackOnlyClientIsRefusedWithUnsupportedFeature(t *testing.T) {
	s, _ := startServer(t, newFake(), Config{})
	c := dial(t, s, SubprotocolMsgPack)
	if code := c.closeCode(); code != websocket.StatusCode(CloseUnsupportedFeature) {
		t.Fatalf("close code %d, want 4012", code)
	}
}

func TestClientOfferingNoSubprotocolSpeaksJSON(t *testing.T) {
	s, _ := startServer(t, newFake(), Config{})
	c := dial(t, s, []string{}...)
	c.identify(testPassword, nil)
	c.mustRead(OpIdentified)
}

func TestNoRequestReturnsThePasswordAndNothingLogsIt(t *testing.T) {
	f := newFake()
	s, logs := startServer(t, f, Config{})
	c := login(t, s, nil)
	var seen strings.Builder
	for typ := range handlers {
		r := c.call(typ, map[string]any{"inputName": "Mic", "sceneName": "Camera", "inputMuted": true, "inputVolumeDb": -3})
		seen.Write(r.Data)
		seen.WriteString(r.Status.Comment)
	}
	bad := dial(t, s)
	bad.identify("not "+testPassword, nil)
	bad.closeCode()
	_ = c.conn.CloseNow()
	if strings.Contains(seen.String(), testPassword) {
		t.Fatal("a response carries the password")
	}
	s.Close()
	if strings.Contains(logs.String(), testPassword) || strings.Contains(logs.String(), "battery") {
		t.Fatalf("the log carries the password:\n%s", logs)
	}
	if logs.Len() == 0 {
		t.Fatal("nothing was logged at all, so the check above proves nothing")
	}
}
