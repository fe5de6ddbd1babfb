package rtmpclient

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
)

// nginx-rtmp implements the Flash-era digest scheme: its S1 and S2 must verify.
func TestHandshakeDigestVerifiesAgainstNginx(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{})
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(ng.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	verified, err := clientHandshake(c, true)
	if err != nil || !verified {
		t.Fatalf("verified=%v err=%v", verified, err)
	}
}

func TestPublishToFFmpegListenServer(t *testing.T) {
	srv := peers.StartFFmpegServer(t, "live", testKey)
	pkts := fixturePackets(t, peers.FixtureFLV(t, 4))
	ep, err := ParseURL(srv.URL("live"), testKey)
	if err != nil {
		t.Fatal(err)
	}
	st := publishAll(t, ep, Options{}, pkts)
	if st.VideoFramesSent != uint64(countVideo(pkts)) {
		t.Errorf("sent %d frames, want %d", st.VideoFramesSent, countVideo(pkts))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Wait(ctx); err != nil {
		t.Fatalf("ffmpeg server: %v", err)
	}
	checkRecording(t, srv.Output, countVideo(pkts))
}

func TestPublishOverRTMPSThroughNginxStreamTLS(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true, TLS: true})
	pkts := fixturePackets(t, peers.FixtureFLV(t, 4))
	ep, err := ParseURL(ng.TLSURL(), testKey)
	if err != nil {
		t.Fatal(err)
	}
	publishAll(t, ep, Options{CAFile: ng.CAFile}, pkts)
	rec := ng.Recording(testKey)
	waitStable(t, func() bool { return strings.Count(ng.ErrorLog(), "deleteStream") >= 1 && fileSize(rec) > 0 })
	time.Sleep(300 * time.Millisecond)
	checkRecording(t, rec, countVideo(pkts))
}

func TestRTMPSWithUntrustedCertificateFailsClearly(t *testing.T) {
	ng := peers.StartNginx(t, peers.NginxOptions{TLS: true})
	ep, err := ParseURL(ng.TLSURL(), testKey)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Dial(context.Background(), ep, Options{Timeout: 5 * time.Second}) // system roots only
	if !errors.Is(err, ErrCertificate) || !strings.Contains(err.Error(), "localhost") {
		t.Fatalf("got %v, want a certificate error naming the host", err)
	}
	// The right CA but the wrong name: the host name is checked too.
	ep.Host = "127.0.0.2"
	_, err = Dial(context.Background(), ep, Options{Timeout: 5 * time.Second, CAFile: ng.CAFile,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+strconv.Itoa(ng.TLSPort))
		}})
	if !errors.Is(err, ErrCertificate) {
		t.Fatalf("wrong host name: got %v, want a certificate error", err)
	}
}
