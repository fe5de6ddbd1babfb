package rtmpclient

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
	"github.com/tallystudio/tally/rtmpclient/amf"
)

// connectWire dials a server that records the connect command's body and
// answers it with result (or a plain success), and returns the body. The
// endpoint's host is fixed, so tcUrl, and so the bytes, do not depend on the
// port the test server got.
func connectWire(t *testing.T, opts Options) []byte {
	t.Helper()
	got := make(chan []byte, 1)
	addr := fakeServer(t, func(nc net.Conn, tr *transport) {
		for {
			m, err := tr.readMessage()
			if err != nil {
				return
			}
			if m.Type == TypeCommandAMF0 {
				got <- append([]byte(nil), m.Payload...)
				c, _ := parseCommand(m)
				replyCmd(tr, 0, "_result", c.Transaction, nil, status("status", "NetConnection.Connect.Success", ""))
				time.Sleep(100 * time.Millisecond)
				return
			}
		}
	})
	ep, err := ParseURL("rtmp://ingest.example.com/live", testKey)
	if err != nil {
		t.Fatal(err)
	}
	opts.Timeout = 5 * time.Second
	opts.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	c, err := Dial(context.Background(), ep, opts)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	return <-got
}

// The connect command Tally sent before Enhanced RTMP, byte for byte: a client
// that advertises nothing must not change what servers have always seen.
const plainConnectGolden = "020007636f6e6e656374003ff00000000000000300036170700200046c69766500047479706502000a6e6f6e70726976617465" +
	"0008666c61736856657202001c464d4c452f332e302028636f6d70617469626c653b2054616c6c7929000673776655726c02002372746d703a2f2f" +
	"696e676573742e6578616d706c652e636f6d3a313933352f6c6976650005746355726c02002372746d703a2f2f696e676573742e6578616d706c65" +
	"2e636f6d3a313933352f6c697665000009"

func TestConnectWithoutVideoFourCCsIsThePlainConnectByteForByte(t *testing.T) {
	t.Parallel()
	for _, opts := range []Options{{}, {Multitrack: true}, {VideoFourCCs: []string{}}} {
		if got := hex.EncodeToString(connectWire(t, opts)); got != plainConnectGolden {
			t.Errorf("options %+v: connect is\n%s\nwant\n%s", opts, got, plainConnectGolden)
		}
	}
}

// The advertisement follows the plain properties: fourCcList as a strict
// array, videoFourCcInfoMap as an object of CanEncode (2), audioFourCcInfoMap
// with AAC ("mp4a") as CanEncode, and capsEx, here with the Multitrack bit (2).
var advertisedConnectGolden = plainConnectGolden[:len(plainConnectGolden)-6] +
	"000a666f757243634c697374" + "0a00000003" + // "fourCcList": strict array of 3
	"020004617663310200046876633102000461763031" + // "avc1" "hvc1" "av01"
	"0012766964656f466f75724363496e666f4d6170" + "03" + // "videoFourCcInfoMap": object
	"000461766331004000000000000000" + // "avc1": 2
	"000468766331004000000000000000" + // "hvc1": 2
	"000461763031004000000000000000" + "000009" + // "av01": 2, end
	"0012617564696f466f75724363496e666f4d6170" + "03" + // "audioFourCcInfoMap": object
	"00046d703461004000000000000000" + "000009" + // "mp4a": 2, end
	"0006636170734578004000000000000000" + // "capsEx": 2
	"000009"

func TestConnectAdvertisesVideoFourCCsAsAnEncoderWithMultitrack(t *testing.T) {
	t.Parallel()
	got := hex.EncodeToString(connectWire(t, Options{VideoFourCCs: []string{"avc1", "hvc1", "av01", "hvc1"}, Multitrack: true}))
	if got != advertisedConnectGolden {
		t.Fatalf("connect is\n%s\nwant\n%s", got, advertisedConnectGolden)
	}
}

func TestConnectAdvertisementWithoutMultitrackStatesNoCapsEx(t *testing.T) {
	t.Parallel()
	c, err := parseCommand(Message{Type: TypeCommandAMF0, Payload: connectWire(t, Options{VideoFourCCs: []string{"hvc1"}})})
	if err != nil {
		t.Fatal(err)
	}
	obj := c.Object.(amf.Object)
	if got := obj.Get("capsEx"); got != 0.0 {
		t.Errorf("capsEx = %v, want 0", got)
	}
	if got := obj.Get("fourCcList"); !reflect.DeepEqual(got, []any{"hvc1"}) {
		t.Errorf("fourCcList = %#v", got)
	}
}

func TestDialRefusesAVideoCodecThatIsNotAFourCC(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"hevc1", "*", "av\x001", ""} {
		ep, _ := ParseURL("rtmp://127.0.0.1:1/live", testKey)
		_, err := Dial(context.Background(), ep, Options{VideoFourCCs: []string{"avc1", bad}})
		if !errors.Is(err, ErrBadFourCC) {
			t.Errorf("%q: got %v, want ErrBadFourCC before dialling", bad, err)
		}
	}
}

// resultBody is a connect _result's body with these properties and information.
func resultBody(props, info any) []byte {
	b, err := amf.AppendAMF0(nil, "_result", 1.0, props, info)
	if err != nil {
		panic(err)
	}
	return b
}

func connectSuccess(extra ...amf.Property) amf.Object {
	return append(amf.Object{{Key: "level", Value: "status"}, {Key: "code", Value: "NetConnection.Connect.Success"},
		{Key: "description", Value: "Connection succeeded."}, {Key: "objectEncoding", Value: 0.0}}, extra...)
}

func manyFourCCs(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = fmt.Sprintf("c%03d", i%1000)
	}
	return out
}

func manyInfo(n int) amf.Object {
	out := make(amf.Object, n)
	for i := range out {
		out[i] = amf.Property{Key: fmt.Sprintf("m%03d", i%1000), Value: 4.0}
	}
	return out
}

type videoWant struct{ ok, stated bool }

// serverCapsGolden is connect _results as servers send them, and what Tally
// reads in each. They seed FuzzServerCaps.
var serverCapsGolden = []struct {
	name  string
	body  []byte
	want  ServerCaps
	video map[string]videoWant
}{
	{
		// nginx-rtmp 1.2; FFmpeg's -listen 1 and Tally's own server, to a
		// client that advertised nothing, send the same bytes.
		name:  "nginx-rtmp",
		body:  mustHex("0200075f726573756c74003ff0000000000000030006666d7356657202000d464d532f332c302c312c313233000c6361706162696c697469657300403f0000000000000000090300056c6576656c0200067374617475730004636f646502001d4e6574436f6e6e656374696f6e2e436f6e6e6563742e53756363657373000b6465736372697074696f6e020015436f6e6e656374696f6e207375636365656465642e000e6f626a656374456e636f64696e67000000000000000000000009"),
		want:  ServerCaps{},
		video: map[string]videoWant{"avc1": {false, false}, "hvc1": {false, false}},
	},
	{
		name: "gortmplib v1.0.1",
		body: resultBody(amf.Object{{Key: "fmsVer", Value: "LNX 9,0,124,2"}, {Key: "capabilities", Value: 31.0}},
			connectSuccess()),
		want:  ServerCaps{},
		video: map[string]videoWant{"hvc1": {false, false}},
	},
	{
		name: "E-RTMP server, in the properties",
		body: resultBody(amf.Object{{Key: "fmsVer", Value: "FMS/3,5,7,7009"}, {Key: "capabilities", Value: 31.0}, {Key: "mode", Value: 1.0},
			{Key: "fourCcList", Value: []any{"av01", "vp09", "hvc1", "avc1", "Opus", "mp4a", ".mp3"}},
			{Key: "videoFourCcInfoMap", Value: amf.Object{{Key: "*", Value: 4.0}, {Key: "hvc1", Value: 3.0}}},
			{Key: "audioFourCcInfoMap", Value: amf.Object{{Key: "mp4a", Value: 7.0}}},
			{Key: "capsEx", Value: 3.0}},
			connectSuccess()),
		want: ServerCaps{Stated: true, FourCCList: []string{"av01", "vp09", "hvc1", "avc1", "Opus", "mp4a", ".mp3"},
			VideoFourCCInfo: map[string]FourCCInfo{"*": CanForward, "hvc1": CanDecode | CanEncode},
			AudioFourCCInfo: map[string]FourCCInfo{"mp4a": CanDecode | CanEncode | CanForward},
			CapsEx:          CapsExReconnect | CapsExMultitrack},
		video: map[string]videoWant{"hvc1": {true, true}, "vvc1": {true, true}},
	},
	{
		name: "E-RTMP server, in the information object as an ECMA array",
		body: resultBody(amf.Object{{Key: "fmsVer", Value: "FMS/3,0,1,123"}, {Key: "capabilities", Value: 31.0}},
			amf.ECMAArray(connectSuccess(
				amf.Property{Key: "videoFourCcInfoMap", Value: amf.ECMAArray{{Key: "avc1", Value: 4.0}, {Key: "hvc1", Value: 1.0}, {Key: "av01", Value: 2.0}}},
				amf.Property{Key: "capsEx", Value: 2.0}))),
		want: ServerCaps{Stated: true, VideoFourCCInfo: map[string]FourCCInfo{"avc1": CanForward, "hvc1": CanDecode, "av01": CanEncode},
			CapsEx: CapsExMultitrack},
		// A server that can only encode AV1 does not take it.
		video: map[string]videoWant{"avc1": {true, true}, "hvc1": {true, true}, "av01": {false, true}},
	},
	{
		name:  "fourCcList of the wildcard alone",
		body:  resultBody(amf.Object{{Key: "fourCcList", Value: []any{"*"}}}, connectSuccess()),
		want:  ServerCaps{Stated: true, FourCCList: []string{"*"}},
		video: map[string]videoWant{"av01": {true, true}},
	},
	{
		name:  "an empty fourCcList: stated, and nothing listed",
		body:  resultBody(amf.Object{{Key: "fourCcList", Value: []any{}}}, connectSuccess()),
		want:  ServerCaps{Stated: true, FourCCList: []string{}},
		video: map[string]videoWant{"avc1": {false, true}},
	},
	{
		name:  "capsEx alone lists no video",
		body:  resultBody(amf.Object{{Key: "capsEx", Value: 1.0}}, connectSuccess()),
		want:  ServerCaps{Stated: true, CapsEx: CapsExReconnect},
		video: map[string]videoWant{"hvc1": {false, false}},
	},
	{
		name: "properties and information merged",
		body: resultBody(amf.Object{{Key: "fourCcList", Value: []any{"avc1"}}, {Key: "capsEx", Value: 1.0}},
			connectSuccess(amf.Property{Key: "fourCcList", Value: []any{"hvc1", "avc1"}},
				amf.Property{Key: "videoFourCcInfoMap", Value: amf.Object{{Key: "*", Value: 2.0}}},
				amf.Property{Key: "capsEx", Value: 2.0})),
		want: ServerCaps{Stated: true, FourCCList: []string{"avc1", "hvc1"}, VideoFourCCInfo: map[string]FourCCInfo{"*": CanEncode},
			CapsEx: CapsExReconnect | CapsExMultitrack},
		video: map[string]videoWant{"hvc1": {true, true}, "av01": {false, true}},
	},
	{
		name: "every field of the wrong type",
		body: resultBody(amf.Object{{Key: "fourCcList", Value: "avc1,hvc1"}, {Key: "videoFourCcInfoMap", Value: []any{"hvc1"}},
			{Key: "audioFourCcInfoMap", Value: true}, {Key: "capsEx", Value: "2"}},
			connectSuccess(amf.Property{Key: "capsEx", Value: nil}, amf.Property{Key: "videoFourCcInfoMap", Value: 4.0})),
		want:  ServerCaps{},
		video: map[string]videoWant{"hvc1": {false, false}},
	},
	{
		name: "entries of the wrong type or shape",
		body: resultBody(amf.Object{
			{Key: "fourCcList", Value: []any{1.0, "hvc1", "hevc1", "", nil, "hv\x00c", "av01", "hvc1", strings.Repeat("x", 100_000), amf.Object{}}},
			{Key: "videoFourCcInfoMap", Value: amf.Object{{Key: "vp09", Value: -1.0}, {Key: "av01", Value: 1.5}, {Key: "vvc1", Value: math.NaN()},
				{Key: "avc1", Value: 4.0}, {Key: "x", Value: 4.0}, {Key: "vp08", Value: "4"}, {Key: "ac-3", Value: 1e300}, {Key: "hvc1", Value: math.Inf(1)}}},
			{Key: "capsEx", Value: 2.5}}, connectSuccess()),
		want:  ServerCaps{Stated: true, FourCCList: []string{"hvc1", "av01"}, VideoFourCCInfo: map[string]FourCCInfo{"avc1": CanForward}},
		video: map[string]videoWant{"vp09": {false, true}, "avc1": {true, true}},
	},
	{
		name: "absurd sizes",
		body: resultBody(amf.Object{{Key: "fourCcList", Value: manyFourCCs(20_000)},
			{Key: "videoFourCcInfoMap", Value: manyInfo(5_000)}}, connectSuccess()),
		want: func() ServerCaps {
			c := ServerCaps{Stated: true, VideoFourCCInfo: map[string]FourCCInfo{}}
			for i := range maxFourCCs {
				c.FourCCList = append(c.FourCCList, fmt.Sprintf("c%03d", i))
				c.VideoFourCCInfo[fmt.Sprintf("m%03d", i)] = CanForward
			}
			return c
		}(),
		video: map[string]videoWant{"c063": {true, true}, "c064": {false, true}, "m064": {false, true}},
	},
}

func TestServerCapsAreReadFromConnectResults(t *testing.T) {
	t.Parallel()
	for _, tc := range serverCapsGolden {
		t.Run(tc.name, func(t *testing.T) {
			res, err := parseCommand(Message{Type: TypeCommandAMF0, Payload: tc.body})
			if err != nil {
				t.Fatal(err)
			}
			got := serverCapsFrom(res)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
			for fourcc, w := range tc.video {
				if ok, stated := got.Video(fourcc); ok != w.ok || stated != w.stated {
					t.Errorf("Video(%q) = %v, %v; want %v, %v", fourcc, ok, stated, w.ok, w.stated)
				}
			}
			if got.Multitrack() != (tc.want.CapsEx&CapsExMultitrack != 0) {
				t.Errorf("Multitrack() = %v", got.Multitrack())
			}
		})
	}
}

// An AMF3 command message (type 17) carries the same properties.
func TestServerCapsAreReadFromAnAMF3ConnectResult(t *testing.T) {
	t.Parallel()
	body := append([]byte{0}, resultBody(amf.Object{{Key: "capsEx", Value: 2.0}}, connectSuccess())...)
	res, err := parseCommand(Message{Type: TypeCommandAMF3, Payload: body})
	if err != nil {
		t.Fatal(err)
	}
	if got := serverCapsFrom(res); !got.Stated || !got.Multitrack() {
		t.Fatalf("got %+v", got)
	}
}

func negotiateQuick(t *testing.T, ep Endpoint, opts Options) ServerCaps {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	caps, err := Negotiate(ctx, ep, opts)
	if err != nil {
		t.Fatalf("negotiate: %v", err)
	}
	return caps
}

var advertiseAll = Options{VideoFourCCs: []string{"avc1", "hvc1", "av01"}, Multitrack: true}

func TestNegotiateWithTallysServerFindsEveryCodecAndMultitrack(t *testing.T) {
	t.Parallel()
	caps := negotiateQuick(t, startTestServer(t, &Server{}), advertiseAll)
	if !caps.Stated || !caps.Multitrack() {
		t.Fatalf("caps %+v: want stated, with multitrack", caps)
	}
	for _, fourcc := range []string{"avc1", "hvc1", "av01", "vp09"} {
		if ok, stated := caps.Video(fourcc); !ok || !stated {
			t.Errorf("Video(%q) = %v, %v; Tally's server relays every codec", fourcc, ok, stated)
		}
	}
	if want := []string{"avc1", "hvc1", "av01"}; !reflect.DeepEqual(caps.FourCCList, want) {
		t.Errorf("fourCcList %v, want %v", caps.FourCCList, want)
	}
}

func TestNegotiateWithAServerTakingOnlyAVCTellsTheClientToFallBack(t *testing.T) {
	t.Parallel()
	caps := negotiateQuick(t, startTestServer(t, &Server{VideoFourCCs: []string{"avc1"}}), advertiseAll)
	if ok, stated := caps.Video("hvc1"); ok || !stated {
		t.Errorf("Video(hvc1) = %v, %v; want false, true", ok, stated)
	}
	if ok, _ := caps.Video("av01"); ok {
		t.Error("Video(av01) = true from a server that takes avc1 only")
	}
	if ok, _ := caps.Video("avc1"); !ok {
		t.Error("Video(avc1) = false")
	}
}

// serverConnectResult connects to a server with this connect object and
// returns the body of its _result.
func serverConnectResult(t *testing.T, ep Endpoint, obj any) []byte {
	t.Helper()
	nc, err := net.Dial("tcp", ep.Address())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := clientHandshake(nc, true); err != nil {
		t.Fatal(err)
	}
	tr := newTransport(nc, defaultReadLimits)
	b, _ := appendCommand(nil, "connect", 1, obj)
	if err := tr.send(csidCommand, &Message{Type: TypeCommandAMF0, Payload: b}); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := tr.readMessage()
		if err != nil {
			t.Fatal(err)
		}
		if m.Type == TypeCommandAMF0 {
			return m.Payload
		}
	}
}

// A client that advertised nothing (nginx-style clients, FFmpeg, OBS before
// Enhanced RTMP) gets the _result the server always sent, byte for byte.
func TestServerAnswersAPlainConnectAsItAlwaysDid(t *testing.T) {
	t.Parallel()
	ep := startTestServer(t, &Server{})
	for _, obj := range []any{nil, amf.Object{{Key: "app", Value: "live"}, {Key: "capsEx", Value: 2.0}}} {
		if got := serverConnectResult(t, ep, obj); !bytes.Equal(got, serverCapsGolden[0].body) {
			t.Errorf("connect %v: _result is\n%x\nwant\n%x", obj, got, serverCapsGolden[0].body)
		}
	}
}

// OBS and FFmpeg 7 advertise with fourCcList alone; newer clients may send
// only the info map. Either is an Enhanced RTMP client.
func TestServerStatesItsCapsToEitherFormOfAdvertisement(t *testing.T) {
	t.Parallel()
	ep := startTestServer(t, &Server{VideoFourCCs: []string{"avc1"}})
	for _, adv := range []amf.Property{
		{Key: "fourCcList", Value: []any{"hvc1"}},
		{Key: "videoFourCcInfoMap", Value: amf.Object{{Key: "hvc1", Value: 2.0}}},
	} {
		res, err := parseCommand(Message{Type: TypeCommandAMF0, Payload: serverConnectResult(t, ep, amf.Object{{Key: "app", Value: "live"}, adv})})
		if err != nil {
			t.Fatal(err)
		}
		caps := serverCapsFrom(res)
		want := ServerCaps{Stated: true, FourCCList: []string{"avc1"}, VideoFourCCInfo: map[string]FourCCInfo{"avc1": CanForward}, CapsEx: CapsExMultitrack}
		if !reflect.DeepEqual(caps, want) {
			t.Errorf("advertising %s: got %+v, want %+v", adv.Key, caps, want)
		}
		if res.Info().String("code") != "NetConnection.Connect.Success" {
			t.Errorf("advertising %s: %v", adv.Key, res)
		}
	}
}

func TestNegotiateWithNginxFindsItSilent(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{})
	ep, err := ParseURL(ng.URL(), testKey)
	if err != nil {
		t.Fatal(err)
	}
	caps := negotiateQuick(t, ep, advertiseAll)
	if caps.Stated || caps.Multitrack() {
		t.Fatalf("caps %+v: nginx-rtmp states nothing", caps)
	}
	if ok, stated := caps.Video("avc1"); ok || stated {
		t.Errorf("Video(avc1) = %v, %v; want false, false (silence)", ok, stated)
	}
	// The advertisement does not upset it: a publisher that sends it goes live.
	p := NewPublisher(PublisherConfig{Endpoint: ep, Options: advertiseAll})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitStable(t, func() bool { return p.Stats().State == StateLive })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("publisher: %v", err)
	}
	if caps, ok := p.ServerCaps(); !ok || caps.Stated {
		t.Errorf("Publisher.ServerCaps() = %+v, %v; want nginx's silence, true", caps, ok)
	}
	if strings.Contains(ng.ErrorLog(), "[error]") {
		t.Errorf("nginx logged errors:\n%s", ng.ErrorLog())
	}
}

func TestNegotiateWithFFmpegListenServerFindsItSilent(t *testing.T) {
	srv := peers.StartFFmpegServer(t, "live", testKey)
	ep, err := ParseURL(srv.URL("live"), testKey)
	if err != nil {
		t.Fatal(err)
	}
	if caps := negotiateQuick(t, ep, advertiseAll); caps.Stated {
		t.Fatalf("caps %+v: FFmpeg's listen mode states nothing", caps)
	}
}

// A server whose _result is stuffed with capabilities of every wrong kind and
// size: the connection works, and what Tally keeps is bounded.
func TestHostileServerStuffingConnectResultWithGarbageCaps(t *testing.T) {
	t.Parallel()
	huge := make([]any, 0, 60_000)
	for i := range 60_000 {
		if i%3 == 0 {
			huge = append(huge, strings.Repeat("z", 40))
		} else {
			huge = append(huge, fmt.Sprintf("%04d", i%10_000))
		}
	}
	props := amf.Object{{Key: "fourCcList", Value: huge}, {Key: "capsEx", Value: math.Inf(-1)},
		{Key: "videoFourCcInfoMap", Value: amf.Object{{Key: strings.Repeat("k", 60_000), Value: 4.0}, {Key: "*", Value: "everything"}}},
		{Key: "fourCcList", Value: strings.Repeat("avc1", 500_000)}}
	ep := hostileServer(t, func(nc net.Conn, tr *transport) {
		if c, ok := answerUntil(tr, "connect"); ok {
			replyCmd(tr, 0, "_result", c.Transaction, props, status("status", "NetConnection.Connect.Success", ""))
		}
		time.Sleep(time.Second)
	})
	caps, err := Negotiate(context.Background(), ep, Options{Timeout: 5 * time.Second, VideoFourCCs: []string{"hvc1"}})
	if err != nil {
		t.Fatalf("negotiate: %v", err)
	}
	if len(caps.FourCCList) != maxFourCCs || len(caps.VideoFourCCInfo) != 0 || caps.CapsEx != 0 || !caps.Stated {
		t.Fatalf("kept %d FourCCs, info %v, capsEx %d; want %d, none, 0", len(caps.FourCCList), caps.VideoFourCCInfo, caps.CapsEx, maxFourCCs)
	}
	for _, f := range caps.FourCCList {
		if len(f) != 4 {
			t.Fatalf("kept %q", f)
		}
	}
}

func TestHostileServerNeverAnsweringConnectEndsNegotiateAtTheContextsDeadline(t *testing.T) {
	t.Parallel()
	ep := hostileServer(t, func(nc net.Conn, tr *transport) {
		answerUntil(tr, "connect")
		time.Sleep(3 * time.Second)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Negotiate(ctx, ep, advertiseAll)
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) || took > 1500*time.Millisecond {
		t.Fatalf("after %v: %v; want the context's deadline", took, err)
	}
	if !strings.Contains(err.Error(), ep.Address()) || strings.Contains(err.Error(), testKey) {
		t.Errorf("error must name the server and never the key: %v", err)
	}
}

func TestNegotiateRefusedMasksTheKeyTheServerQuoted(t *testing.T) {
	t.Parallel()
	ep := hostileServer(t, func(nc net.Conn, tr *transport) {
		if c, ok := answerUntil(tr, "connect"); ok {
			replyCmd(tr, 0, "_error", c.Transaction, nil, status("error", "NetConnection.Connect.Rejected", "no app for "+testKey))
		}
		time.Sleep(time.Second)
	})
	_, err := Negotiate(context.Background(), ep, Options{Timeout: 5 * time.Second, VideoFourCCs: []string{"hvc1"}})
	var se *StatusError
	if !errors.As(err, &se) || se.Code != "NetConnection.Connect.Rejected" {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), testKey) || !strings.Contains(err.Error(), ep.Address()) {
		t.Errorf("error must name the server and never the key: %v", err)
	}
}

// Every connection a Publisher makes, reconnects included, carries the
// advertisement, and ServerCaps follows the latest connection's answer.
func TestPublisherAdvertisesOnEveryReconnectAndKeepsTheLatestCaps(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var conns int
	var adverts []any
	ep := hostileServer(t, func(nc net.Conn, tr *transport) {
		mu.Lock()
		conns++
		n := conns
		mu.Unlock()
		for {
			m, err := tr.readMessage()
			if err != nil {
				return
			}
			if m.Type != TypeCommandAMF0 {
				continue
			}
			c, err := parseCommand(m)
			if err != nil {
				return
			}
			switch c.Name {
			case "connect":
				obj, _ := c.Object.(amf.Object)
				mu.Lock()
				adverts = append(adverts, obj.Get("fourCcList"))
				mu.Unlock()
				// The first server takes AV1; the one after the reconnect does not.
				list := []any{"av01"}
				if n > 1 {
					list = []any{"avc1"}
				}
				replyCmd(tr, 0, "_result", c.Transaction, amf.Object{{Key: "fourCcList", Value: list}}, status("status", "NetConnection.Connect.Success", ""))
			case "createStream":
				replyCmd(tr, 0, "_result", c.Transaction, nil, 1.0)
			case "publish":
				replyCmd(tr, 1, "onStatus", 0, nil, status("status", "NetStream.Publish.Start", ""))
				if n == 1 {
					time.Sleep(300 * time.Millisecond) // established, then lost
					return
				}
			}
		}
	})
	p := NewPublisher(PublisherConfig{Endpoint: ep, Options: Options{Timeout: 5 * time.Second, VideoFourCCs: []string{"av01", "avc1"}},
		Reconnect: ReconnectPolicy{Enabled: true, First: 10 * time.Millisecond, EstablishedAfter: 100 * time.Millisecond}})
	if _, ok := p.ServerCaps(); ok {
		t.Fatal("ServerCaps before any connection says ok")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitStable(t, func() bool { return p.Stats().Reconnects == 1 && p.Stats().State == StateLive })
	caps, ok := p.ServerCaps()
	if !ok {
		t.Fatal("ServerCaps after connecting says not ok")
	}
	if got, _ := caps.Video("av01"); got {
		t.Errorf("ServerCaps %+v are the first connection's, not the latest", caps)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("publisher: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []any{"av01", "avc1"}
	if len(adverts) != 2 || !reflect.DeepEqual(adverts[0], want) || !reflect.DeepEqual(adverts[1], want) {
		t.Errorf("connects advertised %v, want %v twice", adverts, want)
	}
}
