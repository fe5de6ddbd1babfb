package app

import (
	"errors"
	"strings"
	"testing"

	"github.com/tallystudio/tally/internal/peers"
)

// With no Secret Service to talk to, every call says ErrNoKeyring, which the
// window turns into its "keep for this session only?" question. (It runs
// before the test below: the D-Bus library keeps the first bus it reaches.)
func TestSystemKeyringWithoutAServiceSaysNoKeyring(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+t.TempDir()+"/no-bus")
	k := SystemKeyring{}
	if _, err := k.Get("dest"); !errors.Is(err, ErrNoKeyring) {
		t.Errorf("Get: %v", err)
	}
	if err := k.Set("dest", "live_7700112233_kr"); !errors.Is(err, ErrNoKeyring) || strings.Contains(err.Error(), "7700112233") {
		t.Errorf("Set: %v", err)
	}
}

// The system keyring for real: gnome-keyring's Secret Service on a private
// session bus. Keys go in, come back, and are deleted; an absent key is "".
func TestSystemKeyringKeepsKeysInTheSecretService(t *testing.T) {
	peers.StartKeyring(t)
	var k KeyStore = SystemKeyring{}
	if got, err := k.Get("dest-none"); got != "" || err != nil {
		t.Fatalf("absent key: %q, %v", got, err)
	}
	if err := k.Set("dest-test", "live_7700112233_kr"); err != nil {
		t.Fatal(err)
	}
	if got, err := k.Get("dest-test"); got != "live_7700112233_kr" || err != nil {
		t.Fatalf("stored key came back as %q, %v", got, err)
	}
	if err := k.Delete("dest-test"); err != nil {
		t.Fatal(err)
	}
	if got, _ := k.Get("dest-test"); got != "" {
		t.Errorf("deleted key still there")
	}
}
