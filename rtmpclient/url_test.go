package rtmpclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestParseURLOfRealServices(t *testing.T) {
	for _, tc := range []struct {
		url, key                  string
		addr, app, tcURL, wantKey string
	}{
		{"rtmps://a.rtmps.youtube.com:443/live2", "abcd-efgh-ijkl-mnop-qrst", "a.rtmps.youtube.com:443", "live2", "rtmps://a.rtmps.youtube.com:443/live2", "abcd-efgh-ijkl-mnop-qrst"},
		{"rtmp://b.rtmp.youtube.com/live2?backup=1", "abcd-efgh", "b.rtmp.youtube.com:1935", "live2?backup=1", "rtmp://b.rtmp.youtube.com:1935/live2?backup=1", "abcd-efgh"},
		{"rtmps://live-api-s.facebook.com:443/rtmp/", "FB-123456789-0-AbCd?s_bl=1&s_sc=123&a=Ab", "live-api-s.facebook.com:443", "rtmp", "rtmps://live-api-s.facebook.com:443/rtmp", "FB-123456789-0-AbCd?s_bl=1&s_sc=123&a=Ab"},
		{"rtmp://live.twitch.tv/app", "live_123_abc", "live.twitch.tv:1935", "app", "rtmp://live.twitch.tv:1935/app", "live_123_abc"},
		{"rtmp://127.0.0.1:1936/live/mykey?token=x", "", "127.0.0.1:1936", "live", "rtmp://127.0.0.1:1936/live", "mykey?token=x"},
		{"rtmp://[::1]:1935/app/inst/key", "", "[::1]:1935", "app/inst", "rtmp://[::1]:1935/app/inst", "key"},
		{"  RTMPS://host/app  ", " key\n", "host:443", "app", "rtmps://host:443/app", "key"},
	} {
		ep, err := ParseURL(tc.url, tc.key)
		if err != nil {
			t.Errorf("%q: %v", tc.url, err)
			continue
		}
		if ep.Address() != tc.addr || ep.App != tc.app || ep.TCURL() != tc.tcURL || ep.Key.Reveal() != tc.wantKey {
			t.Errorf("%q: addr %s app %q tcUrl %s key %q", tc.url, ep.Address(), ep.App, ep.TCURL(), ep.Key.Reveal())
		}
	}
}

func TestParseURLRejectsEachMistakeClearly(t *testing.T) {
	const secret = "sk_live_Zx9Zx9Zx9Zx9"
	for _, tc := range []struct{ url, key, want string }{
		{"", secret, "server URL is empty"},
		{"live.twitch.tv/app", secret, "no scheme"},
		{"https://youtube.com/live2", secret, "web address"},
		{"srt://host:9000", secret, `unknown scheme "srt"`},
		{"rtmp:///app", secret, "no host"},
		{"rtmp://host:99999/app", secret, `port "99999"`},
		{"rtmp://host:abc/app", secret, `port "abc"`},
		{"rtmp://ho st/app", secret, "contains spaces"},
		{"rtmp://host/app", "", "no stream key"},
		{"rtmp://host", secret, "no application path"},
		{"rtmp://host/app", "abc def", "space or control character at position 4"},
		{"rtmp://user:pw@host/app", secret, "passwords"},
		{"rtmp://bad_host!/app", secret, "not a valid host name"},
	} {
		_, err := ParseURL(tc.url, tc.key)
		if err == nil || !errors.Is(err, ErrBadURL) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q/%q: got %v, want error containing %q", tc.url, tc.key, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%q: error leaks the key: %v", tc.url, err)
		}
	}
}

func TestStreamKeyIsMaskedEverywhereItCanBePrinted(t *testing.T) {
	const secret = "live_123456789_abcdefx9"
	ep, err := ParseURL("rtmp://host/app", secret+"?s_sc=999888777")
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	log := slog.New(slog.NewTextHandler(&logged, nil))
	log.Info("x", "key", ep.Key, "ep", ep)
	j, _ := json.Marshal(map[string]any{"key": ep.Key, "ep": ep})
	for _, s := range []string{ep.String(), ep.Key.String(), fmt.Sprint(ep), fmt.Sprintf("%v %+v %#v %s %q", ep, ep, ep, ep.Key, ep.Key), logged.String(), string(j)} {
		if strings.Contains(s, "123456789") || strings.Contains(s, "999888777") {
			t.Errorf("key leaks: %s", s)
		}
	}
	if got := ep.Key.String(); got != "live_****x9" {
		t.Errorf("mask %q", got)
	}
	if MaskKey("short") != "****" {
		t.Error("short keys must be fully masked")
	}
}
