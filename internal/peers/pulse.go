package peers

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Pulse is a private PulseAudio server started for one test, with one null
// sink (an output that plays into nothing, in real time) as its default
// output: what is played into it comes out of its monitor,
// Sink+".monitor", as a real output's does.
type Pulse struct {
	Sink string // the null sink's name
	// Server is the server's address for PULSE_SERVER: "unix:" and its socket.
	Server string
	cookie string // the server's cookie, so that no client writes one in the user's home
	dir    string
	log    *testLog
}

// StartPulse starts PulseAudio as a user's server of its own, not a system
// one and not the user's: its socket, cookie, runtime and state directories
// are in the test's temporary directory (HOME and XDG_RUNTIME_DIR point
// there), it loads only the modules its script names (-n: no
// autodetected card, no D-Bus, no X11), takes clients on that socket
// without a cookie (auth-anonymous), shares no memory with them
// (--disable-shm) and never exits for being idle. PulseAudio warns that it
// is not meant to run as root outside --system mode; as a private user
// server it runs all the same, and --system would mean the machine's one
// shared instance. It waits until `pactl info` answers, and stops it when
// the test ends.
func StartPulse(t testing.TB) *Pulse {
	t.Helper()
	bin := Require(t, "pulseaudio")
	Require(t, "pactl")
	dir := t.TempDir()
	// A Unix socket's path is at most 107 bytes; a long test name makes a
	// long temporary directory.
	sock := filepath.Join(dir, "native")
	if len(sock) > 100 {
		short, err := os.MkdirTemp("", "pulse")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(short) })
		sock = filepath.Join(short, "native")
	}
	p := &Pulse{Sink: "tally_test", Server: "unix:" + sock, dir: dir,
		cookie: filepath.Join(dir, "home", ".config", "pulse", "cookie")}
	for _, d := range []string{"home", "run", "state"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	script := fmt.Sprintf(`load-module module-native-protocol-unix socket=%s auth-anonymous=1
load-module module-null-sink sink_name=%s rate=48000 channels=2
set-default-sink %[2]s
`, sock, p.Sink)
	scriptPath := filepath.Join(dir, "default.pa")
	if err := os.WriteFile(scriptPath, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	p.log = newTestLog(t, "pulseaudio")
	cmd := exec.Command(bin, "--daemonize=no", "--system=no", "-n", "-F", scriptPath,
		"--exit-idle-time=-1", "--disable-shm=yes", "--use-pid-file=no",
		"--realtime=no", "--high-priority=no", "--log-target=stderr")
	cmd.Env = p.serverEnv()
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pulseaudio: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		select {
		case <-exited:
			t.Fatalf("pulseaudio exited before it answered:\n%s", p.log.String())
		default:
		}
		if _, err := p.Pactl(context.Background(), "info"); err == nil {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("pulseaudio did not answer pactl info within 15 s:\n%s", p.log.String())
		}
	}
}

// serverEnv is the server's environment: this process's, with a home, a
// runtime and a state directory of its own, and no display or session bus
// to reach for.
func (p *Pulse) serverEnv() []string {
	home := filepath.Join(p.dir, "home")
	return append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_RUNTIME_DIR="+filepath.Join(p.dir, "run"), "PULSE_RUNTIME_PATH="+filepath.Join(p.dir, "run", "pulse"),
		"XDG_STATE_HOME="+filepath.Join(p.dir, "state"), "PULSE_STATE_PATH="+filepath.Join(p.dir, "state"),
		"DISPLAY=", "WAYLAND_DISPLAY=", "DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(p.dir, "no-bus"))
}

// Env is what a client of this server needs in its environment (pactl,
// paplay, a tally child): the server's address, and its cookie, which a
// client would otherwise create in the user's home.
func (p *Pulse) Env() []string {
	return []string{"PULSE_SERVER=" + p.Server, "PULSE_COOKIE=" + p.cookie}
}

// Use points this process's own PulseAudio clients at the server until the
// test ends.
func (p *Pulse) Use(t testing.TB) {
	t.Helper()
	for _, kv := range p.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// Pactl runs pactl against this server and returns its output.
func (p *Pulse) Pactl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "pactl", args...)
	cmd.Env = append(os.Environ(), p.Env()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("pactl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Play plays a sound file into the default output (the null sink) with
// paplay, and waits until the server has the stream, so that its monitor
// carries the sound from then on. paplay stops at the file's end, or when
// the test ends.
func (p *Pulse) Play(t testing.TB, path string) {
	t.Helper()
	bin := Require(t, "paplay")
	cmd := exec.Command(bin, path)
	cmd.Env = append(os.Environ(), p.Env()...)
	log := newTestLog(t, "paplay")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start paplay: %v", err)
	}
	t.Cleanup(func() { stop(cmd) })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, err := p.Pactl(context.Background(), "list", "short", "sink-inputs")
		if err == nil && strings.TrimSpace(out) != "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("paplay's stream did not reach the server within 10 s (%v):\n%s", err, log.String())
		}
	}
}
