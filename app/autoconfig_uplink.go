package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/tallystudio/tally/rtmpclient"
)

// SessionUplinkTest is the setup's uplink test: a session of its own that
// publishes the test pattern to the destination at the probe rate, and the
// link estimate dynamic bitrate uses (abrState.linkRate: what the Publisher
// wrote while the socket pushed back) read from its Publisher. The picture
// is small, so the probe costs little CPU; x264's CBR (nal-hrd=cbr) pads it
// to the probe rate with filler, so the link, not the picture, sets the pace.
type SessionUplinkTest struct {
	Log *slog.Logger
	// src, when set, is the program the test session takes its picture
	// from (the studio's, see Engine.Setup); otherwise it opens the test
	// pattern itself.
	src sourceProvider
}

// uplinkConnectLimit bounds the wait for the test stream to go out, on top
// of the test itself.
const uplinkConnectLimit = 20 * time.Second

// errUplinkEnded is a test stream that ended before the test did.
var errUplinkEnded = errors.New("the test stream ended early")

// TestUplink publishes to dest at rate b/s for d once it is out, then stops.
func (t SessionUplinkTest) TestUplink(ctx context.Context, dest Destination, rate int, d time.Duration) (UplinkResult, error) {
	log := t.Log
	if log == nil {
		log = slog.Default()
	}
	s := Settings{
		Video: VideoSettings{Source: "testpattern", Width: 640, Height: 360, FPS: 30, Bitrate: rate,
			KeyframeInterval: 2 * time.Second, Encoder: "libx264", Preset: "ultrafast", Tune: "zerolatency", Profile: "high"},
		Audio: AudioSettings{Source: "none"},
		// Its own video, never dynamic: the probe must keep pushing.
		Destinations: []Destination{{Service: dest.Service, URL: dest.URL, Key: dest.Key, CAFile: dest.CAFile, Insecure: dest.Insecure}},
		Reconnect:    Reconnect{Off: true},
	}
	var sess *Session
	var err error
	if t.src != nil {
		sess, _, err = newStudioSession(s, log, t.src)
	} else {
		sess, _, err = NewSession(s, log)
	}
	if err != nil {
		return UplinkResult{}, err
	}
	runCtx, cancel := context.WithTimeout(ctx, d+uplinkConnectLimit)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sess.Run(runCtx) }()
	// The session is this function's: it has ended whenever this returns.
	finish := func() error { cancel(); return <-done }

	tick := time.NewTicker(abrTick)
	defer tick.Stop()
	var (
		st                abrState
		rates             []float64
		first, last       time.Time
		firstSent, lastSt uint64
	)
	for {
		select {
		case err := <-done:
			if ctx.Err() != nil {
				return UplinkResult{}, ctx.Err()
			}
			if err == nil {
				err = errUplinkEnded
			}
			// The endpoint masks the key, wherever the user pasted it.
			where := "the server"
			if ep, perr := rtmpclient.ParseURL(dest.URL, dest.Key.Reveal()); perr == nil {
				where = ep.String()
			}
			return UplinkResult{}, fmt.Errorf("test stream to %s: %w", where, err)
		case now := <-tick.C:
			// Live means the session has made its Publishers (see Stats).
			if sess.State() != StateLive {
				continue
			}
			ps := sess.dests[0].pub.Stats()
			if ps.State != rtmpclient.StateLive {
				continue
			}
			if first.IsZero() {
				first, firstSent = now, ps.BytesSent
			}
			if r := st.linkRate(ps); r > 0 {
				rates = append(rates, r)
			}
			last, lastSt = now, ps.BytesSent
			if now.Sub(first) < d {
				continue
			}
		}
		break
	}
	if err := finish(); err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
		// It carried the test; how it stopped says nothing of the link.
		log.Info("setup: the uplink test stream ended with an error", "err", err)
	}
	r := UplinkResult{Tested: true, BandwidthTest: dest.Service == "twitch"}
	// A second of estimates (linkRate's windows overlap) says the link was
	// the limit; fewer are a keyframe's burst, not the link.
	if len(rates) >= int(time.Second/abrTick) {
		slices.Sort(rates)
		r.Rate, r.Limited = rates[len(rates)/2], true
	} else if dt := last.Sub(first); dt > 0 {
		r.Rate = float64(lastSt-firstSent) * 8 / dt.Seconds()
	}
	log.Info("setup: uplink test", "server", sess.dests[0].ep.String(), "rate_kbps", int(r.Rate/1000),
		"limited", r.Limited, "estimates", len(rates))
	return r, nil
}
