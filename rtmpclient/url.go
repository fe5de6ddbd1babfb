package rtmpclient

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// StreamKey is a stream key: a secret that lets anyone who holds it broadcast on
// the streamer's channel. Every way of printing it masks it; Reveal is the one
// way to get the text, and only the wire protocol calls it.
type StreamKey string

// Reveal returns the key itself. Call it only to put the key on the wire.
func (k StreamKey) Reveal() string { return string(k) }

// String masks the key, keeping a few characters so a streamer can tell keys apart.
func (k StreamKey) String() string { return MaskKey(string(k)) }

// GoString masks the key in %#v output too.
func (k StreamKey) GoString() string { return strconv.Quote(k.String()) }

// MarshalText masks the key in JSON, slog and any other text encoding.
func (k StreamKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// MaskKey shows the first five and last two characters of a long key, and nothing
// of a short one (where a few characters would give too much away).
func MaskKey(k string) string {
	if k == "" {
		return ""
	}
	if q := strings.IndexByte(k, '?'); q >= 0 {
		k = k[:q] // query parameters (Facebook's s_sc=…) are as secret as the key
	}
	if len(k) < 12 {
		return "****"
	}
	return k[:5] + "****" + k[len(k)-2:]
}

// Endpoint is a parsed RTMP destination.
type Endpoint struct {
	Scheme string // "rtmp" or "rtmps"
	Host   string // host name, for dialling and TLS SNI
	Port   int
	App    string // the application (and instance), as sent in connect
	Key    StreamKey
}

// Default ports: RTMP's own, and HTTPS's for RTMPS since that is what ingests use.
const (
	defaultRTMPPort  = 1935
	defaultRTMPSPort = 443
)

// ErrBadURL matches every URL and key problem found before dialling.
var ErrBadURL = errors.New("invalid stream destination")

// URLError is a URL or key problem found before dialling. It matches ErrBadURL.
type URLError struct {
	Key bool // the stream key is at fault, not the server URL
	Msg string
}

func (e *URLError) Error() string { return ErrBadURL.Error() + ": " + e.Msg }

// Is makes errors.Is(err, ErrBadURL) hold for every URLError.
func (e *URLError) Is(target error) bool { return target == ErrBadURL }

func badURL(format string, args ...any) error {
	return &URLError{Msg: fmt.Sprintf(format, args...)}
}

func badKey(format string, args ...any) error {
	return &URLError{Key: true, Msg: fmt.Sprintf(format, args...)}
}

// ParseURL parses a server URL and a stream key. The key may instead be the last
// path element of the URL (with its query), as many services show it. A query on
// the URL itself stays with the application when the key is separate, which is
// how YouTube's backup URL (".../live2?backup=1") is meant to be used. Errors
// never contain the key. It is long because each check gives its own
// message, in the order a streamer would fix them.
func ParseURL(rawURL, key string) (Endpoint, error) {
	rawURL = strings.TrimSpace(rawURL)
	key = strings.TrimSpace(key)
	if rawURL == "" {
		return Endpoint{}, badURL("the server URL is empty")
	}
	if strings.ContainsAny(rawURL, " \t\r\n") {
		return Endpoint{}, badURL("the server URL contains spaces")
	}
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return Endpoint{}, badURL("the server URL has no scheme; it should start with rtmp:// or rtmps://")
	}
	var ep Endpoint
	switch strings.ToLower(scheme) {
	case "rtmp":
		ep.Scheme, ep.Port = "rtmp", defaultRTMPPort
	case "rtmps":
		ep.Scheme, ep.Port = "rtmps", defaultRTMPSPort
	case "rtmpt", "rtmpts": // RTMP tunnelled in HTTP(S): rtmpt.go
		ep.Scheme, ep.Port = strings.ToLower(scheme), defaultRTMPTPort
		if ep.Scheme == "rtmpts" {
			ep.Port = defaultRTMPTSPort
		}
	case "http", "https":
		return Endpoint{}, badURL("%s:// is a web address; stream servers start with rtmp:// or rtmps://", scheme)
	case "rtmpe":
		// Obfuscation, not security (rtmpe.go); only ever chosen by the URL.
		ep.Scheme, ep.Port = "rtmpe", defaultRTMPPort
	case "rtmpte": // RTMPE inside the RTMPT tunnel: rtmpe.go over rtmpt.go
		ep.Scheme, ep.Port = "rtmpte", defaultRTMPTPort
	default:
		return Endpoint{}, badURL("unknown scheme %q; use rtmp:// or rtmps://", scheme)
	}

	hostport, path, _ := strings.Cut(rest, "/")
	query := ""
	if q := strings.IndexByte(hostport, '?'); q >= 0 {
		hostport, query = hostport[:q], hostport[q:]
	}
	if strings.Contains(hostport, "@") {
		return Endpoint{}, badURL("user names and passwords in the URL are not supported")
	}
	host, portStr := hostport, ""
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, portStr = h, p
	} else if strings.HasPrefix(hostport, "[") && strings.HasSuffix(hostport, "]") {
		host = hostport[1 : len(hostport)-1]
	}
	if host == "" {
		return Endpoint{}, badURL("the server URL has no host")
	}
	if strings.ContainsAny(host, "[]") || (net.ParseIP(host) == nil && !validHostname(host)) {
		return Endpoint{}, badURL("%q is not a valid host name", host)
	}
	ep.Host = host
	if portStr != "" {
		p, err := strconv.Atoi(portStr)
		if err != nil || p < 1 || p > 65535 {
			return Endpoint{}, badURL("port %q is not a number from 1 to 65535", portStr)
		}
		ep.Port = p
	}

	path = strings.Trim(path+query, "/")
	if key == "" {
		// The key is the URL's last element: rtmp://host/app[/instance]/KEY[?query].
		// Only split on slashes before any query, since Facebook's keys hold URL-ish
		// query strings.
		pathOnly, q, _ := strings.Cut(path, "?")
		i := strings.LastIndexByte(pathOnly, '/')
		if i < 0 {
			return Endpoint{}, badKey("no stream key: give it separately or at the end of the URL")
		}
		ep.App = pathOnly[:i]
		key = pathOnly[i+1:]
		if q != "" {
			key += "?" + q
		}
	} else {
		ep.App = path
	}
	if ep.App == "" {
		return Endpoint{}, badURL("the server URL has no application path (for example rtmp://host/live)")
	}
	if key == "" {
		return Endpoint{}, badKey("the stream key is empty")
	}
	if i := strings.IndexFunc(key, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }); i >= 0 {
		return Endpoint{}, badKey("the stream key contains a space or control character at position %d; copy it again from your service", i+1)
	}
	ep.Key = StreamKey(key)
	return ep, nil
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return false
			}
		}
	}
	return true
}

// Address is host:port for dialling.
func (e Endpoint) Address() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// TCURL is the tcUrl sent in connect: the URL up to and including the application.
func (e Endpoint) TCURL() string {
	u := url.URL{Scheme: e.Scheme, Host: e.Address()}
	return u.String() + "/" + e.App
}

// String is the destination with the key masked, safe for logs and labels.
func (e Endpoint) String() string { return e.TCURL() + "/" + e.Key.String() }
