package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tallystudio/tally/internal/peers"
)

// startTLSIngest runs `tally ingest` with RTMPS and RTMPTS on free ports,
// a throwaway certificate, and args; it returns the run and the CA that
// signed the certificate.
func startTLSIngest(t *testing.T, ctx context.Context, args ...string) (ingestRun, peers.Cert) {
	t.Helper()
	cert := peers.WriteCert(t, t.TempDir())
	in := startIngest(t, ctx, append([]string{"--rtmps-listen", "127.0.0.1:0", "--rtmpts-listen", "127.0.0.1:0",
		"--tls-cert", cert.CertFile, "--tls-key", cert.KeyFile}, args...)...)
	return in, cert
}

// stopIngest ends a `tally ingest` as Ctrl-C does, and fails the test
// unless it exits cleanly without the secret part of a key in its log.
func stopIngest(t *testing.T, in ingestRun, secret string) {
	t.Helper()
	_ = in.cmd.Process.Signal(syscall.SIGINT)
	if err := in.cmd.Wait(); err != nil {
		t.Errorf("tally ingest did not exit cleanly on SIGINT: %v", err)
	}
	log := in.log.String()
	if strings.Contains(log, secret) {
		t.Errorf("the ingest's log shows the key:\n%s", log)
	}
	if !strings.Contains(log, "publish started") {
		t.Errorf("the ingest logged no publish:\n%s", log)
	}
}

// Debian's FFmpeg 5.1 (gnutls) publishes to `tally ingest` over rtmps://,
// the report finds the stream whole and healthy, and FFmpeg then plays the
// recording back over rtmps:// with every frame.
func TestIngestCommandTakesFFmpegOverRTMPSAndPlaysTheRecordingBack(t *testing.T) {
	ffmpeg := peers.Require(t, "ffmpeg")
	ffprobe := peers.Require(t, "ffprobe")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	in, _ := startTLSIngest(t, ctx, "--record", t.TempDir())
	fixture := peers.FixtureFLV(t, 6)
	var pubErr bytes.Buffer
	pub := exec.CommandContext(ctx, ffmpeg, "-v", "error", "-re", "-i", fixture, "-c", "copy", "-f", "flv", in.rtmps+"/live_0011223344_rtmpssecret")
	pub.Stderr = &pubErr
	start := time.Now()
	if err := pub.Run(); err != nil {
		t.Fatalf("ffmpeg publishing over rtmps: %v\n%s", err, pubErr.String())
	}
	rep := in.nextReport(t)
	if rep.Video == nil || rep.Video.Frames != 180 || rep.Video.Width != 640 || rep.Audio == nil || rep.Audio.SampleRate != 44100 ||
		rep.Recording == "" || len(rep.Problems) != 0 {
		t.Fatalf("report over rtmps: %+v", rep)
	}
	if b, _ := json.Marshal(rep); bytes.Contains(b, []byte("0011223344")) {
		t.Errorf("the report shows the key: %s", b)
	}
	t.Logf("ffmpeg published over rtmps in %v: %d frames at %dx%d, audio %d Hz, recorded as %s",
		time.Since(start).Round(time.Millisecond), rep.Video.Frames, rep.Video.Width, rep.Video.Height, rep.Audio.SampleRate, filepath.Base(rep.Recording))

	out := filepath.Join(t.TempDir(), "played.flv")
	start = time.Now()
	if b, err := exec.CommandContext(ctx, ffmpeg, "-v", "error", "-i", in.rtmps+"/"+filepath.Base(rep.Recording), "-c", "copy", "-f", "flv", out).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg playing the recording over rtmps: %v\n%s", err, b)
	}
	if n := len(videoTimes(t, ffprobe, out)); n != 180 {
		t.Errorf("ffmpeg played %d video frames of the recording's 180 over rtmps", n)
	}
	if a := peers.ProbeFile(t, out).Stream("audio"); a == nil {
		t.Error("the recording played back over rtmps has no audio")
	}
	t.Logf("ffmpeg played the recording over rtmps in %v", time.Since(start).Round(time.Millisecond))

	// And through the tunnel in HTTPS.
	pubErr.Reset()
	pub = exec.CommandContext(ctx, ffmpeg, "-v", "error", "-re", "-i", peers.FixtureFLV(t, 3), "-c", "copy", "-f", "flv", in.rtmpts+"/live_0011223344_rtmptssecret")
	pub.Stderr = &pubErr
	if err := pub.Run(); err != nil {
		t.Fatalf("ffmpeg publishing over rtmpts: %v\n%s", err, pubErr.String())
	}
	rep = in.nextReport(t)
	// FFmpeg's tunnel client drops what it has not sent yet when it closes
	// (see TestIngestCommandTakesFFmpegOverRTMPT).
	if rep.Video == nil || rep.Video.Frames < 85 || rep.Video.Width != 640 || rep.Audio == nil || len(rep.Problems) != 0 {
		t.Errorf("report over rtmpts: %+v", rep)
	} else {
		t.Logf("ffmpeg published over rtmpts: %d frames of 90", rep.Video.Frames)
	}
	stopIngest(t, in, "0011223344")
}

// `tally stream` publishes to `tally ingest` over rtmps:// and rtmpts://,
// trusting the test's CA through --ca-file: each stream arrives whole, with
// its sound, and the key stays out of the report.
func TestStreamCommandPublishesToTheIngestOverRTMPSAndRTMPTS(t *testing.T) {
	peers.Require(t, "ffmpeg") // a real-peer test: skipped under -short with the others
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	in, cert := startTLSIngest(t, ctx)
	for _, url := range []string{in.rtmps, in.rtmpts} {
		streamFourSecondsTo(t, ctx, in, url, "--ca-file", cert.CAFile)
	}
	stopIngest(t, in, streamKey)
}

// rtmpdump (librtmp, built with gnutls) plays a recording from `tally
// ingest` over rtmps:// and gets every frame.
func TestIngestPlaysItsRecordingToRtmpdumpOverRTMPS(t *testing.T) {
	rtmpdump := peers.Require(t, "rtmpdump")
	ffprobe := peers.Require(t, "ffprobe")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	in, _ := startTLSIngest(t, ctx, "--record", t.TempDir())
	name := recordOne(t, ctx, in)
	out := filepath.Join(t.TempDir(), "dump.flv")
	if b, err := exec.CommandContext(ctx, rtmpdump, "-q", "-m", "20", "-r", in.rtmps+"/"+name, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("rtmpdump over rtmps: %v\n%s", err, b)
	}
	n := len(videoTimes(t, ffprobe, out))
	if n != 300 {
		t.Errorf("rtmpdump got %d video frames of the recording's 300 over rtmps", n)
	}
	t.Logf("rtmpdump over rtmps: %d video frames", n)
	if errs := peers.DecodeErrors(t, out); errs != "" {
		t.Errorf("the download does not decode cleanly:\n%s", errs)
	}
	stopIngest(t, in, "recordkey")
}

// Each TLS flag that is missing, alone, or names a file that cannot serve
// is refused before anything listens, in one line that names the flag and
// the file: the command line's mistakes with exit 2, unusable files with 3.
func TestIngestCommandRefusesBadTLSFlagsClearly(t *testing.T) {
	dir := t.TempDir()
	cert := peers.WriteCert(t, dir)
	other := peers.WriteCert(t, t.TempDir())
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a PEM file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	free := "127.0.0.1:0"
	for _, c := range []struct {
		name string
		args []string
		code int
		want []string // in the message
	}{
		{"rtmps without a certificate", []string{"--rtmps-listen", free}, exitUsage, []string{"--tls-cert", "--tls-key"}},
		{"rtmpts without a certificate", []string{"--rtmpts-listen", free}, exitUsage, []string{"--tls-cert", "--tls-key"}},
		{"a certificate without its key", []string{"--rtmps-listen", free, "--tls-cert", cert.CertFile}, exitUsage, []string{"--tls-key"}},
		{"a key without its certificate", []string{"--rtmpts-listen", free, "--tls-key", cert.KeyFile}, exitUsage, []string{"--tls-cert"}},
		{"a certificate with nothing to serve", []string{"--tls-cert", cert.CertFile, "--tls-key", cert.KeyFile}, exitUsage, []string{"--rtmps-listen"}},
		{"a certificate file that is not there", []string{"--rtmps-listen", free, "--tls-cert", missing, "--tls-key", cert.KeyFile}, exitSettings, []string{"--tls-cert", missing}},
		{"a key file that is not there", []string{"--rtmps-listen", free, "--tls-cert", cert.CertFile, "--tls-key", missing}, exitSettings, []string{"--tls-key", missing}},
		{"a certificate that is a directory", []string{"--rtmps-listen", free, "--tls-cert", dir, "--tls-key", cert.KeyFile}, exitSettings, []string{"--tls-cert", dir}},
		{"a certificate file that is not PEM", []string{"--rtmps-listen", free, "--tls-cert", garbage, "--tls-key", cert.KeyFile}, exitSettings, []string{"--tls-cert", garbage}},
		{"a key file holding a certificate", []string{"--rtmps-listen", free, "--tls-cert", cert.CertFile, "--tls-key", cert.CAFile}, exitSettings, []string{"--tls-key", cert.CAFile}},
		{"a key that is not the certificate's", []string{"--rtmpts-listen", free, "--tls-cert", cert.CertFile, "--tls-key", other.KeyFile},
			exitSettings, []string{"--tls-cert", cert.CertFile, "--tls-key", other.KeyFile, "does not match"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runIngest(c.args, &stdout, &stderr)
			msg := stderr.String()
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, c.code, msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("the message does not name %q: %s", w, msg)
				}
			}
			if n := strings.Count(strings.TrimSpace(msg), "\n"); n != 0 || !strings.HasPrefix(msg, "tally ingest: ") {
				t.Errorf("want one line saying what is wrong, got: %s", msg)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout: %s", stdout.String())
			}
		})
	}
}
