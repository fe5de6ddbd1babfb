package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tallystudio/tally/flv"
	"github.com/tallystudio/tally/rtmpclient"
)

// negotiateTimeout bounds the connect that asks a server what it takes.
const negotiateTimeout = 10 * time.Second

// fourCCs are the FourCCs of the codecs tracks send, for the connect
// command's advertisement; nil when they are plain H.264 on one track, which
// needs no Enhanced RTMP.
func fourCCs(tracks []Rendition) []string {
	var out []string
	enhanced := len(tracks) > 1
	for _, r := range tracks {
		c := codecOf(r.Encoder)
		if c == "" {
			c = "h264"
		}
		enhanced = enhanced || c != "h264"
		if fc, ok := flv.FourCCFor(c); ok && !slices.Contains(out, fc.String()) {
			out = append(out, fc.String())
		}
	}
	if !enhanced {
		return nil
	}
	return out
}

// negotiate settles the tracks destination d really gets. Plain H.264 needs
// nothing from the server. HEVC, AV1 or several tracks need Enhanced RTMP:
// Tally connects, advertising them, reads what the server states, and keeps
// the connection for the Publisher, as OBS publishes on the connection that
// asked (a server may take one connection only: FFmpeg's listener). A codec
// the server does not take falls back to H.264, and a server that takes one
// track gets track 0 alone; each is logged and counted. A server that states
// nothing is taken at the platform's documented word. With AssumeEnhanced
// the user's word stands over what the server states.
func (s *Session) negotiate(ctx context.Context, d *destination) {
	d.tracks = s.settings.tracks(d.cfg)
	fcs := fourCCs(d.tracks)
	if len(fcs) == 0 {
		return
	}
	d.opts.VideoFourCCs, d.opts.Multitrack = fcs, len(d.tracks) > 1
	nctx, cancel := context.WithTimeout(ctx, negotiateTimeout)
	c, err := rtmpclient.Dial(nctx, d.ep, d.opts)
	cancel()
	if err != nil {
		// Not reachable now: the Publisher keeps trying, with what was asked.
		s.log.Warn("could not ask the server what it takes; sending what was asked", "destination", d.ep.String(), "err", err)
		return
	}
	d.conn = c
	if d.cfg.AssumeEnhanced {
		return
	}
	caps := c.ServerCaps()
	svc, _ := ServiceByID(d.cfg.Service)
	var why []string
	for t, r := range d.tracks {
		codec := codecOf(r.Encoder)
		if codec == "" || codec == "h264" {
			continue
		}
		fc, _ := flv.FourCCFor(codec)
		ok, stated := caps.Video(fc.String())
		if !stated {
			ok = slices.Contains(svc.Enhanced, codec)
		}
		if ok {
			continue
		}
		reason := fmt.Sprintf("%s: the server lists no %s", codecName(r.Encoder), fc)
		if !stated {
			reason = fmt.Sprintf("%s: the server states no Enhanced RTMP support", codecName(r.Encoder))
		}
		why = append(why, reason)
		// Another encoder's speed preset may mean nothing to x264 (SVT-AV1
		// takes numbers): the fallback takes the H.264 one.
		d.tracks[t].Encoder, d.tracks[t].Preset = s.h264Encoder(), s.h264Preset()
	}
	if len(d.tracks) > 1 {
		ok := caps.Multitrack()
		if !caps.Stated {
			ok = svc.Multitrack
		}
		if !ok {
			why = append(why, fmt.Sprintf("%d tracks: the server takes one", len(d.tracks)))
			d.tracks = d.tracks[:1]
		}
	}
	if len(why) == 0 {
		return
	}
	d.fallback = strings.Join(why, "; ")
	s.counter.fallbacks.Add(1)
	d.opts.VideoFourCCs, d.opts.Multitrack = fourCCs(d.tracks), len(d.tracks) > 1
	s.log.Warn("destination falls back to what its server takes", "destination", d.ep.String(),
		"why", d.fallback, "now", describeTracks(d.tracks))
}

// h264Preset is the speed preset a fallback to H.264 uses: the session's
// when its encoder is H.264, else the default.
func (s *Session) h264Preset() string {
	if codecOf(s.settings.Video.Encoder) == "h264" {
		return s.settings.Video.Preset
	}
	return DefaultSettings().Video.Preset
}

// h264Encoder is the encoder a fallback to H.264 uses: the session's own
// when it is H.264, else libx264.
func (s *Session) h264Encoder() string {
	if codecOf(s.settings.Video.Encoder) == "h264" {
		return s.settings.Video.Encoder
	}
	return "libx264"
}
