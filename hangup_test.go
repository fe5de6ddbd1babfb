package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tallystudio/tally/app"
	"github.com/tallystudio/tally/internal/peers"
	"github.com/tallystudio/tally/rtmpclient"
)

// publishCallback is the HTTP end of nginx-rtmp's on_publish: it allows the
// first allow publishes and answers 403 to the rest, as a key check does.
func publishCallback(t *testing.T, allow int32) (url string, calls *atomic.Int32) {
	calls = new(atomic.Int32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) > allow {
			http.Error(w, "stream key refused", http.StatusForbidden)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/publish", calls
}

// checkRefusal judges a run of `tally stream` against a server that hangs up:
// exit 5 well before --duration, the likely causes named, no key shown.
func checkRefusal(t *testing.T, stderr string, code int, took time.Duration) {
	t.Helper()
	t.Logf("exit %d after %.2f s", code, took.Seconds())
	if code != exitRemote {
		t.Errorf("exit %d, want %d: %s", code, exitRemote, stderr)
	}
	if took > 10*time.Second {
		t.Errorf("stopped after %v; a refusal must end the run within 10 s", took)
	}
	for _, want := range []string{"hung up before taking the stream", "stream key is probably wrong, expired or already in use", "live_****k4"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "reconnecting") {
		t.Errorf("a refusal was retried:\n%s", stderr)
	}
}

// nginx-rtmp refusing a key through its on_publish callback closes the
// connection without a word; on the first connection that is a refusal.
func TestStreamStopsWhenNginxHangsUpOnTheKey(t *testing.T) {
	cb, calls := publishCallback(t, 0)
	ng := peers.StartNginx(t, peers.NginxOptions{OnPublish: cb})
	start := time.Now()
	_, stderr, code := runTally(t, 60*time.Second, streamKeyEnv, "stream", "--url", ng.URL(),
		"--size", "640x360", "--duration", "30s", "--stats", "none")
	checkRefusal(t, stderr, code, time.Since(start))
	if n := calls.Load(); n != 1 {
		t.Errorf("nginx asked about %d publishes, want 1 (no retry)", n)
	}
}

// hangingUpSink takes a few messages and then fails, so the server closes the
// connection after it said NetStream.Publish.Start.
type hangingUpSink struct{ n int }

func (s *hangingUpSink) WriteMessage(rtmpclient.Message) error {
	if s.n++; s.n > 5 {
		return errors.New("stream key not recognised")
	}
	return nil
}
func (s *hangingUpSink) Close() error { return nil }

// A server that completes the handshake, connect and publish and then
// closes, with and without NetStream.Publish.Start first.
func TestStreamStopsWhenTheServerHangsUpAfterPublish(t *testing.T) {
	for _, tc := range []struct {
		name      string
		onPublish func(rtmpclient.PublishRequest) (rtmpclient.StreamSink, error)
	}{
		{"without Publish.Start", func(rtmpclient.PublishRequest) (rtmpclient.StreamSink, error) {
			return nil, rtmpclient.ErrDropPublisher
		}},
		{"after Publish.Start", func(rtmpclient.PublishRequest) (rtmpclient.StreamSink, error) {
			return &hangingUpSink{}, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var publishes atomic.Int32
			srv := &rtmpclient.Server{OnPublish: func(r rtmpclient.PublishRequest) (rtmpclient.StreamSink, error) {
				publishes.Add(1)
				return tc.onPublish(r)
			}}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go func() { _ = srv.Serve(ln) }()
			t.Cleanup(func() { _ = srv.Close() })
			start := time.Now()
			_, stderr, code := runTally(t, 60*time.Second, streamKeyEnv, "stream", "--url", "rtmp://"+ln.Addr().String()+"/live",
				"--size", "640x360", "--duration", "30s", "--stats", "none")
			checkRefusal(t, stderr, code, time.Since(start))
			if n := publishes.Load(); n != 1 {
				t.Errorf("%d publishes, want 1 (no retry)", n)
			}
		})
	}
}

// Healthy for a while, then every reconnect hung up on: the attempts grow
// with the backoff, and after five hang-ups in a row Tally stops with the
// refusal and exit 5, though --retries 0 means never give up on a server
// that is away.
func TestStreamStopsAfterRepeatedHangUpsFollowingAHealthyStream(t *testing.T) {
	if testing.Short() {
		t.Skip("about 30 s against nginx")
	}
	cb, calls := publishCallback(t, 1)
	ng := peers.StartNginx(t, peers.NginxOptions{OnPublish: cb})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lt := startTally(t, ctx, streamKeyEnv, "stream", "--url", ng.URL(), "--size", "640x360",
		"--vbitrate", "1M", "--duration", "100s", "--stats", "json", "--retries", "0", "--retry-max", "4s")
	// Established (two keyframe intervals), then the server goes away and
	// comes back refusing.
	waitStat(t, &lt.rec, "six seconds live", func(st app.Stats) bool { return st.State == app.StateLive && st.T >= 6 })
	ng.Restart(t)
	start := time.Now()
	code := lt.wait(t)
	took := time.Since(start)
	stderr := lt.stderr.String()
	if code != exitRemote || !strings.Contains(stderr, "(5 times in a row)") || !strings.Contains(stderr, "stream key is probably wrong") {
		t.Errorf("exit %d after %v, want %d with the refusal after 5 hang-ups:\n%s", code, took, exitRemote, stderr)
	}
	if n := calls.Load(); n != 6 {
		t.Errorf("nginx asked about %d publishes, want 6 (the healthy one and 5 refused)", n)
	}
	// The waits grow: 2 s, 3 s, then the 4 s cap, each ±20 %. The exact
	// waits are in the reconnect warnings (the stats, sampled once a second,
	// show only what is left of a wait); 2 s +20 % is still below 4 s -20 %.
	waits := map[int]time.Duration{}
	for _, m := range regexp.MustCompile(`attempt=(\d+) in=(\S+)`).FindAllStringSubmatch(stderr, -1) {
		n, _ := strconv.Atoi(m[1])
		if d, err := time.ParseDuration(m[2]); err == nil {
			waits[n] = d
		}
	}
	t.Logf("stopped %.1f s after the restart; the wait before each attempt: %v", took.Seconds(), waits)
	if len(waits) < 4 || !(waits[1] < waits[3] && waits[1] < waits[4]) {
		t.Errorf("the wait before each attempt: %v; want attempts 1..4 with growing waits", waits)
	}
	sawReconnecting := false
	for _, st := range lt.rec.all() {
		sawReconnecting = sawReconnecting || (st.State == app.StateReconnecting && st.Attempt > 0)
	}
	if !sawReconnecting {
		t.Error("no stats line said reconnecting with an attempt")
	}
	final := lt.rec.all()
	if len(final) == 0 || final[len(final)-1].State != app.StateError || len(final[len(final)-1].Destinations) != 1 ||
		!strings.Contains(final[len(final)-1].Destinations[0].Error, "hung up") {
		t.Errorf("the final stats line does not name the failed destination and why: %+v", final[len(final)-1:])
	}
}
