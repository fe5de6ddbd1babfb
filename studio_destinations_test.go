package main

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tallystudio/tally/ingest"
	"github.com/tallystudio/tally/internal/peers"
)

// The real studio in a real X server, live to three destinations with
// outputs of their own (saved as docs/screenshot-destinations.png by make
// screenshots): nginx gets the Output tab's H.264 and, as a second
// destination, the vertical crop; Tally's own ingest, which states that it
// takes HEVC, gets YouTube's HEVC preset. Each server's recording matches
// its destination's output.
func TestStudioDestinationsWithTheirOwnOutputsUnderXvfb(t *testing.T) {
	x := requireXvfb(t)
	ng := peers.StartNginx(t, peers.NginxOptions{Record: true})
	in, err := ingest.Start("127.0.0.1:0", ingest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()

	cfg := t.TempDir()
	settings := `{"Video":{"Source":"testpattern","Width":640,"Height":360,"FPS":30,"Bitrate":1500000,` +
		`"KeyframeInterval":2000000000,"Encoder":"libx264","Preset":"ultrafast","Profile":"high"},` +
		`"Audio":{"Source":"tone","SampleRate":48000,"Channels":2,"Bitrate":128000},` +
		`"Destinations":[{"ID":"dest-main","Service":"custom","URL":"` + ng.URL() + `/xvfbmain"},` +
		`{"ID":"dest-hevc","Service":"custom","URL":"` + in.URL("live") + `/xvfbhevc","Output":"youtube-hevc"},` +
		`{"ID":"dest-vertical","Service":"custom","URL":"` + ng.URL() + `/xvfbvertical","Output":"vertical"}]}`

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	st := startReturningStudio(t, ctx, x, cfg, settings, "Destinations")
	shot := screenshotPath(t, "screenshot-destinations.png")
	time.Sleep(3 * time.Second) // the first frame and the preview
	w, h, err := x.Size(ctx, st.window)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Click(ctx, st.window, w-40, h-23); err != nil { // Go Live
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return strings.Contains(ng.ErrorLog(), "name='xvfbmain'") && strings.Contains(ng.ErrorLog(), "name='xvfbvertical'")
	})
	time.Sleep(5 * time.Second) // the rows' numbers fill in
	if _, err := x.Screenshot(ctx, st.window, shot); err != nil {
		t.Fatal(err)
	}
	st.stopWith(t, syscall.SIGTERM)
	waitFor(t, ng.Unpublished)
	time.Sleep(300 * time.Millisecond)

	for _, want := range []struct {
		name string
		w, h int
	}{{"xvfbmain", 640, 360}, {"xvfbvertical", 202, 360}} {
		v := peers.ProbeFile(t, ng.Recording(want.name)).Stream("video")
		if v == nil || v.Codec != "h264" || v.Width != want.w || v.Height != want.h || v.Frames() < 60 {
			t.Errorf("%s: video %+v; want h264 %dx%d", want.name, v, want.w, want.h)
		}
	}
	reps := in.Reports()
	if len(reps) != 1 || reps[0].Video == nil || reps[0].Video.Codec != "hevc" || reps[0].Video.Width != 640 || reps[0].Video.Frames < 60 {
		t.Errorf("the HEVC destination's server saw %+v", reps)
	}
	t.Logf("screenshot: %s", shot)
}
