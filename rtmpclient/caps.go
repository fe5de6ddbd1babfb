package rtmpclient

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/tallystudio/tally/rtmpclient/amf"
)

// FourCCInfo is Enhanced RTMP's FourCcInfoMask: what a peer can do with one
// codec, as the values of videoFourCcInfoMap and audioFourCcInfoMap.
type FourCCInfo uint32

const (
	CanDecode  FourCCInfo = 0x01
	CanEncode  FourCCInfo = 0x02
	CanForward FourCCInfo = 0x04
)

// CapsEx is Enhanced RTMP's CapsExMask, the capsEx number of connect and its
// _result.
type CapsEx uint32

const (
	CapsExReconnect           CapsEx = 0x01
	CapsExMultitrack          CapsEx = 0x02
	CapsExModEx               CapsEx = 0x04
	CapsExTimestampNanoOffset CapsEx = 0x08
)

// fourCCWildcard stands for every codec, in a fourCcList or as a key of an
// info map.
const fourCCWildcard = "*"

// maxFourCCs bounds each list and map taken from a server. A real one names a
// dozen codecs at most; past this the rest is ignored, so a hostile server
// cannot make Tally hold more than a few kilobytes of capabilities.
const maxFourCCs = 64

// ErrBadFourCC is returned by Dial when Options.VideoFourCCs holds something
// that is not a FourCC.
var ErrBadFourCC = errors.New("not a FourCC (four printable ASCII characters)")

// ServerCaps is what a server stated about Enhanced RTMP in its answer to
// connect. Most servers (nginx-rtmp, FFmpeg's listen mode, gortmplib) state
// nothing; that is not a refusal, only silence, and Stated tells the two apart.
// The lists and maps are the server's, checked and bounded: nil when the server
// sent none, empty when it sent one with nothing usable in it. Treat them as
// read-only; copies of a ServerCaps share them.
type ServerCaps struct {
	// Stated says the server stated some Enhanced RTMP capability: any of
	// fourCcList, videoFourCcInfoMap, audioFourCcInfoMap or capsEx, of the
	// right type.
	Stated bool
	// FourCCList is the server's fourCcList, audio and video codecs alike,
	// "*" included when the server sent it.
	FourCCList []string
	// VideoFourCCInfo and AudioFourCCInfo are videoFourCcInfoMap and
	// audioFourCcInfoMap, "*" included.
	VideoFourCCInfo map[string]FourCCInfo
	AudioFourCCInfo map[string]FourCCInfo
	CapsEx          CapsEx
}

// Video says whether the server takes video in this FourCC ("avc1", "hvc1",
// "av01"…). stated says the server listed video codecs at all (a fourCcList
// or a videoFourCcInfoMap); without that, ok is false and means nothing, and
// legacy H.264 is the only safe choice. ok says the FourCC is listed: in
// fourCcList, or in videoFourCcInfoMap as something the server can decode or
// forward, or covered by "*" in either. A wildcard flagged only CanEncode
// does not hide a codec's own flags: the spec's "overrides" is read as
// widening, never narrowing, what a server takes. H.264 in the legacy FLV
// tag (no ex-header) needs no listing: every server takes it.
func (c ServerCaps) Video(fourcc string) (ok, stated bool) {
	stated = c.FourCCList != nil || c.VideoFourCCInfo != nil
	if slices.Contains(c.FourCCList, fourcc) || slices.Contains(c.FourCCList, fourCCWildcard) {
		return true, stated
	}
	const takes = CanDecode | CanForward
	ok = c.VideoFourCCInfo[fourcc]&takes != 0 || c.VideoFourCCInfo[fourCCWildcard]&takes != 0
	return ok, stated
}

// Multitrack says the server stated it handles Enhanced RTMP multitrack streams.
func (c ServerCaps) Multitrack() bool { return c.CapsEx&CapsExMultitrack != 0 }

// validFourCC accepts four printable ASCII characters, as FourCCs are
// (".mp3" and "ac-3" among them); it keeps control bytes and other junk from
// a server out of Tally's logs and decisions.
func validFourCC(s string) bool {
	if len(s) != 4 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// serverCapsFrom reads what a connect _result states. Servers differ in where
// they put it, so both the properties object and the information object are
// read, and what they say is merged. Values of the wrong type are ignored, as
// if absent; entries past maxFourCCs are dropped.
func serverCapsFrom(res Command) ServerCaps {
	var c ServerCaps
	for _, obj := range []any{res.Object, res.Arg(0)} {
		for _, p := range props(obj) {
			switch p.Key {
			case "fourCcList":
				c.addFourCCList(p.Value)
			case "videoFourCcInfoMap":
				c.VideoFourCCInfo = addFourCCInfo(c.VideoFourCCInfo, p.Value, &c.Stated)
			case "audioFourCcInfoMap":
				c.AudioFourCCInfo = addFourCCInfo(c.AudioFourCCInfo, p.Value, &c.Stated)
			case "capsEx":
				if v, ok := flagsOf(p.Value); ok {
					c.CapsEx |= CapsEx(v)
					c.Stated = true
				}
			}
		}
	}
	return c
}

// props returns the properties of an AMF object, whichever kind it is.
func props(v any) []amf.Property {
	switch v := v.(type) {
	case amf.Object:
		return v
	case amf.ECMAArray:
		return v
	case amf.TypedObject:
		return v.Props
	}
	return nil
}

func (c *ServerCaps) addFourCCList(v any) {
	var vals []any
	switch v := v.(type) {
	case []any:
		vals = v
	case amf.Object, amf.ECMAArray, amf.TypedObject:
		// Some encoders write arrays as ECMA arrays; the values are what count.
		for _, p := range props(v) {
			vals = append(vals, p.Value)
		}
	default:
		return
	}
	c.Stated = true
	if c.FourCCList == nil {
		c.FourCCList = []string{}
	}
	for _, e := range vals {
		s, _ := e.(string)
		if len(c.FourCCList) >= maxFourCCs {
			return
		}
		if (validFourCC(s) || s == fourCCWildcard) && !slices.Contains(c.FourCCList, s) {
			c.FourCCList = append(c.FourCCList, s)
		}
	}
}

func addFourCCInfo(m map[string]FourCCInfo, v any, stated *bool) map[string]FourCCInfo {
	switch v.(type) {
	case amf.Object, amf.ECMAArray, amf.TypedObject:
	default:
		return m
	}
	*stated = true
	if m == nil {
		m = make(map[string]FourCCInfo)
	}
	for _, p := range props(v) {
		if !validFourCC(p.Key) && p.Key != fourCCWildcard {
			continue
		}
		f, ok := flagsOf(p.Value)
		if !ok {
			continue
		}
		if _, seen := m[p.Key]; !seen && len(m) >= maxFourCCs {
			continue
		}
		m[p.Key] |= FourCCInfo(f)
	}
	return m
}

// flagsOf reads a flag set: a whole number that fits in 32 bits. NaN,
// fractions, negatives and other types are not flags.
func flagsOf(v any) (uint32, bool) {
	f, ok := v.(float64)
	if !ok || !(f >= 0 && f <= math.MaxUint32) || f != math.Trunc(f) {
		return 0, false
	}
	return uint32(f), true
}

// advertisement is what connect adds for Enhanced RTMP: nothing without video
// FourCCs, so that a plain client's connect stays what servers have always seen.
func (o Options) advertisement() (amf.Object, error) {
	if len(o.VideoFourCCs) == 0 {
		return nil, nil
	}
	list := make([]any, 0, len(o.VideoFourCCs))
	info := make(amf.Object, 0, len(o.VideoFourCCs))
	seen := make(map[string]bool, len(o.VideoFourCCs))
	for _, f := range o.VideoFourCCs {
		if !validFourCC(f) {
			return nil, fmt.Errorf("rtmp options: video codec %q: %w", f, ErrBadFourCC)
		}
		if seen[f] {
			continue
		}
		seen[f] = true
		list = append(list, f)
		// Tally publishes: it encodes what it lists.
		info = append(info, amf.Property{Key: f, Value: float64(CanEncode)})
	}
	var caps CapsEx
	if o.Multitrack {
		caps |= CapsExMultitrack
	}
	return amf.Object{
		{Key: "fourCcList", Value: list},
		{Key: "videoFourCcInfoMap", Value: info},
		// The sound is AAC in the legacy tag, which every server takes; it
		// is stated so that a server reading only the v2 maps knows it.
		{Key: "audioFourCcInfoMap", Value: amf.Object{{Key: "mp4a", Value: float64(CanEncode)}}},
		{Key: "capsEx", Value: float64(caps)},
	}, nil
}

// ServerCaps is what the server stated about Enhanced RTMP when this
// connection connected.
func (c *ClientConn) ServerCaps() ServerCaps { return c.caps }

// ServerCaps returns what the server stated on the Publisher's latest
// connection, and false before any connection has connected.
func (p *Publisher) ServerCaps() (ServerCaps, bool) {
	c := p.caps.Load()
	if c == nil {
		return ServerCaps{}, false
	}
	return *c, true
}

// Negotiate asks a server what it takes: it dials with opts' advertisement
// (TCP or TLS, the handshake, connect), reads the capabilities the server
// states, and closes the connection without publishing. ctx and opts.Timeout
// bound it. Errors name the server, never the stream key.
func Negotiate(ctx context.Context, ep Endpoint, opts Options) (ServerCaps, error) {
	c, err := Dial(ctx, ep, opts)
	if err != nil {
		return ServerCaps{}, fmt.Errorf("rtmp negotiate with %s: %w", ep.Address(), err)
	}
	caps := c.ServerCaps()
	// An orderly close (FIN, or TLS close_notify first): the server sees a
	// client that left, not a connection that broke.
	_ = c.Close()
	return caps, nil
}

// serverVideoFourCCs are the codecs Tally's server names when its
// VideoFourCCs is nil: those Tally publishes. It takes any other too, which
// the "*" it states besides says.
var serverVideoFourCCs = []string{"avc1", "hvc1", "av01"}

// statedCaps is what the server adds to a connect _result for a client that
// advertised Enhanced RTMP. It forwards (relays, records) what it takes and
// decodes nothing; multitrack streams it relays whole, headers of every track
// kept for late players.
func (s *Server) statedCaps() amf.Object {
	fourccs, wildcard := s.VideoFourCCs, false
	if fourccs == nil {
		fourccs, wildcard = serverVideoFourCCs, true
	}
	list := make([]any, 0, len(fourccs))
	info := make(amf.Object, 0, len(fourccs)+1)
	for _, f := range fourccs {
		list = append(list, f)
		info = append(info, amf.Property{Key: f, Value: float64(CanForward)})
	}
	if wildcard {
		info = append(info, amf.Property{Key: fourCCWildcard, Value: float64(CanForward)})
	}
	return amf.Object{
		{Key: "fourCcList", Value: list},
		{Key: "videoFourCcInfoMap", Value: info},
		{Key: "capsEx", Value: float64(CapsExMultitrack)},
	}
}

// advertisesERTMP says a client's connect object speaks Enhanced RTMP, so
// that the server's answer may: others get the _result they always have.
func advertisesERTMP(obj any) bool {
	for _, p := range props(obj) {
		if p.Key == "fourCcList" || p.Key == "videoFourCcInfoMap" {
			return true
		}
	}
	return false
}
