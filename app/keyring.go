package app

import (
	"errors"
	"fmt"
	"sync"

	"github.com/zalando/go-keyring"
)

// KeyStore keeps stream keys outside the settings file.
type KeyStore interface {
	// Get returns the key saved for a destination, "" when there is none.
	Get(id string) (string, error)
	Set(id, key string) error
	Delete(id string) error
}

// ErrNoKeyring means the system has no keyring to keep secrets in (on Linux:
// no Secret Service on the session bus).
var ErrNoKeyring = errors.New("no system keyring")

// KeyringService is the name entries carry in the system keyring (the
// service; an entry's name is its user or account). `tally stream --key-entry
// NAME` reads the entry NAME under it.
const KeyringService = "Tally stream keys"

// SystemKeyring is the operating system's keyring: Secret Service on Linux,
// Keychain on macOS, Credential Manager on Windows.
type SystemKeyring struct{}

func (SystemKeyring) Get(id string) (string, error) {
	k, err := keyring.Get(KeyringService, id)
	if errors.Is(err, keyring.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoKeyring, err)
	}
	return k, nil
}

func (SystemKeyring) Set(id, key string) error {
	if err := keyring.Set(KeyringService, id, key); err != nil {
		return fmt.Errorf("%w: %v", ErrNoKeyring, err)
	}
	return nil
}

func (SystemKeyring) Delete(id string) error {
	err := keyring.Delete(KeyringService, id)
	if err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return fmt.Errorf("%w: %v", ErrNoKeyring, err)
	}
	return nil
}

// MemoryKeys keeps keys for this run only: what a user without a keyring
// chooses, and what tests use.
type MemoryKeys struct {
	mu   sync.Mutex
	keys map[string]string
}

func (m *MemoryKeys) Get(id string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.keys[id], nil
}

func (m *MemoryKeys) Set(id, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keys == nil {
		m.keys = map[string]string{}
	}
	m.keys[id] = key
	return nil
}

func (m *MemoryKeys) Delete(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.keys, id)
	return nil
}
