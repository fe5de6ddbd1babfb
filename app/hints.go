package app

import (
	"regexp"
	"strings"

	"github.com/tallystudio/tally/rtmpclient"
)

// Key shapes the platforms hand out, used only to warn about a key pasted into
// the wrong service; a key that matches none is not an error.
var (
	youtubeKey  = regexp.MustCompile(`^[a-z0-9]{4}(-[a-z0-9]{4}){4}$`)
	facebookKey = regexp.MustCompile(`^FB-\d+-\d+-`)
	twitchKey   = regexp.MustCompile(`^live_\d+_[A-Za-z0-9]+$`)
)

// Hints are gentle notes about a destination that looks wrong while it is being
// typed: unlike Validate's errors they do not stop anything. None holds the key.
func (d Destination) Hints() []string {
	var h []string
	url := strings.TrimSpace(d.URL)
	key := d.Key.Reveal()
	low := strings.ToLower(url)
	switch {
	case d.Service == "local":
		return nil
	case url == "":
		h = append(h, "Enter the server URL from your platform's stream settings.")
	case strings.HasPrefix(low, "http://") || strings.HasPrefix(low, "https://"):
		h = append(h, "That is a web address; the server URL starts with rtmp:// or rtmps://.")
	case url != d.URL || strings.ContainsAny(url, " \t"):
		h = append(h, "The server URL has spaces in it.")
	default:
		if _, err := rtmpclient.ParseURL(url, "k"); err != nil {
			h = append(h, "The server URL does not look right: "+err.Error())
		} else if w := URLWarning(url); w != "" {
			h = append(h, w)
		}
	}
	switch {
	case key == "" && !strings.Contains(url, "?") && d.Service != "custom":
		h = append(h, "Paste the stream key from your platform.")
	case key != strings.TrimSpace(key):
		h = append(h, "The stream key starts or ends with a space; it was probably copied with it.")
	case strings.ContainsAny(key, " \t\r\n"):
		h = append(h, "The stream key has a space in it.")
	case strings.HasPrefix(strings.ToLower(key), "rtmp"):
		h = append(h, "That looks like a URL in the key field; the key is the secret part only.")
	}
	platform := ""
	switch {
	case strings.Contains(low, "youtube.com"):
		platform = "youtube"
	case strings.Contains(low, "facebook.com"):
		platform = "facebook"
	case strings.Contains(low, "twitch.tv"):
		platform = "twitch"
	}
	keyLooks := ""
	switch {
	case youtubeKey.MatchString(key):
		keyLooks = "youtube"
	case facebookKey.MatchString(key):
		keyLooks = "facebook"
	case twitchKey.MatchString(key):
		keyLooks = "twitch"
	}
	if platform != "" && keyLooks != "" && platform != keyLooks {
		h = append(h, "The key looks like a "+serviceName(keyLooks)+" key, but the server is "+serviceName(platform)+"'s.")
	}
	return h
}

// URLWarning is what a server URL's scheme alone should tell the user, or "".
// RTMPE (rtmpe://, and rtmpte:// in the tunnel) looks encrypted and is not:
// Validate passes this on to tally stream's stderr and Go Live, Hints to the
// destinations editor.
func URLWarning(url string) string {
	scheme, _, ok := strings.Cut(strings.TrimSpace(url), "://")
	if !ok {
		return ""
	}
	switch strings.ToLower(scheme) {
	case "rtmpe", "rtmpte":
		return "RTMPE is obfuscation, not security: RC4 is broken and nothing checks the server, " +
			"so anyone on the path can read or change the stream and its key. Use rtmps:// to protect them."
	}
	return ""
}

func serviceName(id string) string {
	if s, ok := ServiceByID(id); ok {
		return s.Name
	}
	return id
}
