package peers

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// StartKeyring starts a private D-Bus session bus with gnome-keyring's Secret
// Service on it, unlocked, and points this process at it
// (DBUS_SESSION_BUS_ADDRESS), so the system keyring path runs for real.
func StartKeyring(t testing.TB) {
	t.Helper()
	busBin, gkBin := Require(t, "dbus-daemon"), Require(t, "gnome-keyring-daemon")
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	if err := os.MkdirAll(run, 0o700); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "HOME="+dir, "XDG_RUNTIME_DIR="+run, "XDG_DATA_HOME="+filepath.Join(dir, "data"),
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
	bus := exec.Command(busBin, "--session", "--nofork", "--print-address=1", "--address=unix:path="+filepath.Join(dir, "bus"))
	bus.Env = env
	out, err := bus.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.Start(); err != nil {
		t.Fatalf("dbus-daemon: %v", err)
	}
	t.Cleanup(func() { stop(bus) })
	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		addr <- strings.TrimSpace(line)
	}()
	var a string
	select {
	case a = <-addr:
	case <-time.After(10 * time.Second):
		t.Fatal("dbus-daemon printed no address")
	}
	env = append(env, "DBUS_SESSION_BUS_ADDRESS="+a)
	// The login keyring is created and unlocked with the password on stdin.
	gk := exec.Command(gkBin, "--foreground", "--unlock", "--components=secrets")
	gk.Env = env
	gk.Stdin = strings.NewReader("tally-test\n")
	log := newTestLog(t, "gnome-keyring-daemon")
	gk.Stdout, gk.Stderr = log, log
	if err := gk.Start(); err != nil {
		t.Fatalf("gnome-keyring-daemon: %v", err)
	}
	t.Cleanup(func() { stop(gk) })
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", a)
	// The daemon claims its bus name a moment after starting.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		q := exec.Command("dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
			"org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.secrets")
		q.Env = env
		if b, err := q.Output(); err == nil && strings.Contains(string(b), "boolean true") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Secret Service on the bus:\n%s", log.String())
		}
	}
}
