package main

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// The remote control's flags refuse what cannot work, each with its exit
// code, and take the password from the environment only.
func TestRemoteFlagsTakeThePasswordFromTheEnvironmentOnly(t *testing.T) {
	for _, tc := range []struct {
		name string
		pw   string
		args []string
		code int
		msg  string
	}{
		{"no password", "", []string{"--remote-listen", "127.0.0.1:4455"}, exitSettings, "TALLY_REMOTE_PASSWORD"},
		{"idle alone", "pw", []string{"--remote-idle"}, exitUsage, "--remote-idle needs --remote-listen"},
		{"not host:port", "pw", []string{"--remote-listen", "4455"}, exitUsage, "HOST:PORT"},
		{"with a duration", "pw", []string{"--remote-listen", "127.0.0.1:4455", "--duration", "5s"}, exitUsage, "--duration"},
		{"a password flag", "pw", []string{"--remote-listen", "127.0.0.1:4455", "--remote-password", "x"}, exitUsage, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TALLY_REMOTE_PASSWORD", tc.pw)
			_, err := parseStreamFlags(tc.args, io.Discard)
			var ce *cmdError
			if !errors.As(err, &ce) || ce.code != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want exit %d mentioning %q", err, tc.code, tc.msg)
			}
			if tc.pw != "" && strings.Contains(err.Error(), tc.pw+"x") {
				t.Fatal("the error repeats a password")
			}
		})
	}
	t.Setenv("TALLY_REMOTE_PASSWORD", "s3cret")
	job, err := parseStreamFlags([]string{"--remote-listen", "127.0.0.1:4455", "--remote-idle"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if job.remote != (remoteJob{addr: "127.0.0.1:4455", password: "s3cret", idle: true}) {
		t.Fatalf("remote job %+v", job.remote)
	}
	if job, _ := parseStreamFlags(nil, io.Discard); job.remote.on() {
		t.Fatal("the remote control is on without --remote-listen")
	}
}
