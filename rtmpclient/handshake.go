package rtmpclient

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Handshake sizes and the RTMP version byte (RTMP 1.0 specification, section 5.2).
const (
	handshakeVersion = 3
	handshakeSize    = 1536
	digestSize       = sha256.Size
)

// The digest handshake's keys, as published in the many open implementations of
// the Flash-era scheme: a text part (used alone for C1/S1) and 32 more bytes (the
// whole key signs C2/S2).
var (
	keyTail = []byte{
		0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0, 0xd1,
		0x02, 0x9e, 0x7e, 0x57, 0x6e, 0xec, 0x5d, 0x2d, 0x29, 0x80, 0x6f, 0xab,
		0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae,
	}
	playerKey = append([]byte("Genuine Adobe Flash Player 001"), keyTail...)       // 30 + 32 bytes
	serverKey = append([]byte("Genuine Adobe Flash Media Server 001"), keyTail...) // 36 + 32 bytes
)

const (
	playerKeyText = 30
	serverKeyText = 36
)

// The version field a digest C1 carries; any non-zero value asks for the digest
// scheme. This is the one Flash Player 10 sent, which servers know.
var clientC1Version = [4]byte{0x80, 0x00, 0x07, 0x02}

// ErrHandshake wraps every handshake failure.
var ErrHandshake = errors.New("rtmp handshake")

func handshakeErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrHandshake}, args...)...)
}

// digestOffset returns where scheme 0 or 1 puts the 32-byte digest in a C1/S1.
func digestOffset(p []byte, scheme int) int {
	base := 8
	if scheme == 1 {
		base = 772
	}
	sum := int(p[base]) + int(p[base+1]) + int(p[base+2]) + int(p[base+3])
	return sum%728 + base + 4
}

// packetDigest is the HMAC of a C1/S1 with its own digest bytes left out.
func packetDigest(p []byte, off int, key []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(p[:off])
	m.Write(p[off+digestSize:])
	return m.Sum(nil)
}

// findDigest returns the offset of a valid digest in a C1/S1 signed with key, or -1.
func findDigest(p []byte, key []byte) int {
	for scheme := 0; scheme < 2; scheme++ {
		off := digestOffset(p, scheme)
		if hmac.Equal(p[off:off+digestSize], packetDigest(p, off, key)) {
			return off
		}
	}
	return -1
}

// responseDigest is what the last 32 bytes of a C2/S2 hold in the digest scheme:
// an HMAC keyed by the peer's C1/S1 digest.
func responseDigest(resp, peerDigest, fullKey []byte) []byte {
	k := hmac.New(sha256.New, fullKey)
	k.Write(peerDigest)
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write(resp[:handshakeSize-digestSize])
	return m.Sum(nil)
}

// clientHandshake performs the client side. With digest set it sends a signed C1
// (what Flash-era servers expect; others ignore the signature) and accepts an S2
// that either echoes C1 or carries a valid digest; any other S2 is an error.
// It reports whether the server's S1 and S2 were verified by the digest scheme.
func clientHandshake(rw io.ReadWriter, digest bool) (verifiedDigest bool, err error) {
	c0c1 := make([]byte, 1+handshakeSize)
	c0c1[0] = handshakeVersion
	c1 := c0c1[1:]
	if _, err := rand.Read(c1[8:]); err != nil {
		return false, handshakeErr("random: %w", err)
	}
	// time = 0: the spec lets the epoch be anything, and 0 is what most encoders send.
	c1Digest := []byte(nil)
	if digest {
		copy(c1[4:8], clientC1Version[:])
		off := digestOffset(c1, 0)
		c1Digest = packetDigest(c1, off, playerKey[:playerKeyText])
		copy(c1[off:], c1Digest)
	}
	if _, err := rw.Write(c0c1); err != nil {
		return false, handshakeErr("send C0+C1: %w", err)
	}

	s0s1 := make([]byte, 1+handshakeSize)
	if _, err := io.ReadFull(rw, s0s1); err != nil {
		return false, handshakeErr("read S0+S1: %w", err)
	}
	if s0s1[0] != handshakeVersion {
		return false, handshakeErr("server answered version %d, want %d (is this an RTMP server?)", s0s1[0], handshakeVersion)
	}
	s1 := s0s1[1:]

	c2 := make([]byte, handshakeSize)
	if off := findDigest(s1, serverKey[:serverKeyText]); digest && off >= 0 {
		if _, err := rand.Read(c2); err != nil {
			return false, handshakeErr("random: %w", err)
		}
		copy(c2[handshakeSize-digestSize:], responseDigest(c2, s1[off:off+digestSize], playerKey))
	} else {
		// Plain scheme: C2 echoes S1, with our read time in the second field.
		copy(c2, s1)
	}
	if _, err := rw.Write(c2); err != nil {
		return false, handshakeErr("send C2: %w", err)
	}

	s2 := make([]byte, handshakeSize)
	if _, err := io.ReadFull(rw, s2); err != nil {
		return false, handshakeErr("read S2: %w", err)
	}
	if c1Digest != nil && hmac.Equal(s2[handshakeSize-digestSize:], responseDigest(s2, c1Digest, serverKey)) {
		return true, nil
	}
	if bytes.Equal(s2[8:], c1[8:]) {
		return false, nil
	}
	return false, handshakeErr("S2 neither echoes C1 nor carries a valid digest")
}

// serverHandshake performs the server side. A C1 signed by the digest scheme gets a
// signed S1 and S2; any other C1 gets the plain scheme with S2 echoing C1.
func serverHandshake(rw io.ReadWriter) error {
	c0c1 := make([]byte, 1+handshakeSize)
	if _, err := io.ReadFull(rw, c0c1); err != nil {
		return handshakeErr("read C0+C1: %w", err)
	}
	if c0c1[0] != handshakeVersion {
		return handshakeErr("client asked for version %d, want %d", c0c1[0], handshakeVersion)
	}
	c1 := c0c1[1:]

	out := make([]byte, 1+2*handshakeSize)
	out[0] = handshakeVersion
	s1, s2 := out[1:1+handshakeSize], out[1+handshakeSize:]
	if _, err := rand.Read(s1[8:]); err != nil {
		return handshakeErr("random: %w", err)
	}
	if off := findDigest(c1, playerKey[:playerKeyText]); binary.BigEndian.Uint32(c1[4:8]) != 0 && off >= 0 {
		copy(s1[4:8], []byte{0x04, 0x05, 0x00, 0x01})
		soff := digestOffset(s1, 0)
		copy(s1[soff:], packetDigest(s1, soff, serverKey[:serverKeyText]))
		if _, err := rand.Read(s2); err != nil {
			return handshakeErr("random: %w", err)
		}
		copy(s2[handshakeSize-digestSize:], responseDigest(s2, c1[off:off+digestSize], serverKey))
	} else {
		copy(s2, c1)
	}
	if _, err := rw.Write(out); err != nil {
		return handshakeErr("send S0+S1+S2: %w", err)
	}
	c2 := make([]byte, handshakeSize)
	if _, err := io.ReadFull(rw, c2); err != nil {
		return handshakeErr("read C2: %w", err)
	}
	// C2 is not checked: clients in the wild send all sorts, and nothing depends on it.
	return nil
}
