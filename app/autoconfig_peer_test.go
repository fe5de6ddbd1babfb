package app

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
	"github.com/tallystudio/tally/rtmpclient"
)

// The setup's uplink test for real: Tally's test stream to nginx-rtmp
// through a proxy that carries 2 Mb/s. The link estimate must find the link
// to be the limit, and the proposal (video and audio) must fit under it.
// The encoder is a fake that sustains everything, so only the link decides.
func TestSetupOverA2MbpsLinkProposesWhatFitsUnderIt(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{})
	th := peers.StartThrottle(t, "127.0.0.1:"+strconv.Itoa(ng.Port))
	const link = 2_000_000
	th.SetRate(link)
	s := Setup{Encoder: &fakeEncoder{fast: 3}, Uplink: SessionUplinkTest{}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := s.Run(ctx, SetupRequest{Service: "custom", URL: "rtmp://" + th.Addr() + "/live", Key: "setup_7700112233",
		MeasureUplink: true, UplinkFor: 6 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("uplink %+v; proposal: %s", p.Uplink, p.Explain())
	if !p.Uplink.Tested || !p.Uplink.Limited {
		t.Errorf("the 2 Mb/s link was not found to be the limit: %+v", p.Uplink)
	}
	if p.Total() >= link {
		t.Errorf("proposed %d b/s of video and audio over a %d b/s link", p.Total(), link)
	}
	if float64(p.Total()) > p.Uplink.Rate*UplinkShare {
		t.Errorf("proposed %d b/s, more than %.0f%% of the %.0f b/s measured", p.Total(), UplinkShare*100, p.Uplink.Rate)
	}
}

// A server that refuses the key stops the setup with the reason, and the
// reason names the server but never the key, bandwidth test suffix or not.
func TestSetupStopsWithTheReasonWhenTheServerRefusesTheKey(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes over loopback: a real-network test, skipped under -short")
	}
	srv := &rtmpclient.Server{OnPublish: func(rtmpclient.PublishRequest) (rtmpclient.StreamSink, error) {
		return nil, errors.New("stream key not recognised")
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	s := Setup{Encoder: &fakeEncoder{fast: 3}, Uplink: SessionUplinkTest{}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = s.Run(ctx, SetupRequest{Service: "custom", URL: "rtmp://" + ln.Addr().String() + "/live",
		Key: "live_7700112233_refused", MeasureUplink: true, UplinkFor: 3 * time.Second})
	if err == nil {
		t.Fatal("the setup proposed over a server that refused the key")
	}
	if strings.Contains(err.Error(), "7700112233") || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("the refusal %q shows the key or hides the server", err)
	}
}
