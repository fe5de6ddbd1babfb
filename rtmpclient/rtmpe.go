package rtmpclient

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rc4"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"sync"
)

// RTMPE is the Flash-era "encrypted" RTMP of FFmpeg's rtmpcrypt.c and
// librtmp's handshake.h: the digest handshake with a Diffie–Hellman public
// key in C1 and S1, then RC4 on every byte both ways. It is obfuscation, not
// security: RC4 is broken and nothing authenticates the server, so anyone in
// the path can read or alter the stream. Tally speaks it because the protocol
// documents it and some old servers and players ask for it; RTMPS is what
// protects a stream.

// rtmpeVersion is the C0/S0 byte that asks for RTMPE. (8 and 9 are RTMPE with
// the XTEA and Blowfish signature schemes, which nothing current uses.)
const rtmpeVersion = 6

// dhKeySize is the length of a public key and of the shared secret on the wire:
// the size of the 1024-bit group's prime, big-endian, zero-padded in front.
const dhKeySize = 128

var (
	// dhPrime is the 1024-bit MODP group of RFC 2409 (Oakley group 2), which
	// FFmpeg (rtmpdh.c's P1024) and librtmp use, with generator 2.
	dhPrime, _ = new(big.Int).SetString(
		"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1"+
			"29024E088A67CC74020BBEA63B139B22514A08798E3404DD"+
			"EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245"+
			"E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"+
			"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381"+
			"FFFFFFFFFFFFFFFF", 16)
	// dhOrder is (p-1)/2, the order of the subgroup 2 generates (p is a safe
	// prime): a public key outside it is not one an honest peer made.
	dhOrder      = new(big.Int).Rsh(new(big.Int).Sub(dhPrime, big.NewInt(1)), 1)
	dhGenerator  = big.NewInt(2)
	dhPrimeLess1 = new(big.Int).Sub(dhPrime, big.NewInt(1))
)

// ErrBadDigest is a C1 or S1 whose HMAC digest verifies at neither place the
// digest scheme allows, or an S2 that neither carries the answer to our
// digest nor echoes C1. It wraps into ErrHandshake.
var ErrBadDigest = errors.New("rtmpe: handshake digest does not verify")

// ErrDHKey is a peer's Diffie–Hellman public key that is out of range: 0, 1,
// p-1, p or more, or outside the prime-order subgroup. Such a key would make
// the shared secret predictable. It wraps into ErrHandshake.
var ErrDHKey = errors.New("rtmpe: Diffie-Hellman public key out of range")

// dhOffset is where the digest scheme puts the 128-byte public key in a C1/S1
// (without C0): scheme 0 (digest near the start) keeps it in the second half,
// pointed to by the last four bytes; scheme 1 (digest in the second half)
// keeps it in the first half, pointed to by bytes 768-771.
func dhOffset(p []byte, scheme int) int {
	ptr, base := 1532, 772
	if scheme == 1 {
		ptr, base = 768, 8
	}
	sum := int(p[ptr]) + int(p[ptr+1]) + int(p[ptr+2]) + int(p[ptr+3])
	return sum%632 + base
}

// findDigestScheme is findDigest that also says which scheme verified.
func findDigestScheme(p []byte, key []byte) (off, scheme int) {
	for scheme := 0; scheme < 2; scheme++ {
		off := digestOffset(p, scheme)
		if hmac.Equal(p[off:off+digestSize], packetDigest(p, off, key)) {
			return off, scheme
		}
	}
	return -1, -1
}

// dhKeyPair is one side's Diffie–Hellman key for one handshake.
type dhKeyPair struct {
	priv *big.Int
	pub  []byte // dhKeySize bytes
}

func newDHKeyPair() (dhKeyPair, error) {
	for {
		// A private key below the subgroup's order, as FFmpeg's (1016 random
		// bits) and librtmp's are; 0 and 1 would give a public key of 1 or 2.
		x, err := rand.Int(rand.Reader, dhOrder)
		if err != nil {
			return dhKeyPair{}, handshakeErr("rtmpe: random: %w", err)
		}
		if x.Cmp(big.NewInt(2)) < 0 {
			continue
		}
		y := new(big.Int).Exp(dhGenerator, x, dhPrime)
		return dhKeyPair{priv: x, pub: y.FillBytes(make([]byte, dhKeySize))}, nil
	}
}

// checkDHKey validates a peer's public key: 1 < y < p-1, and y in the subgroup
// of order q (y^q = 1 mod p), the checks librtmp makes.
func checkDHKey(pub []byte) (*big.Int, error) {
	y := new(big.Int).SetBytes(pub)
	switch {
	case y.Cmp(big.NewInt(1)) <= 0:
		return nil, handshakeErr("%w: it is %v", ErrDHKey, y)
	case y.Cmp(dhPrimeLess1) == 0:
		return nil, handshakeErr("%w: it is p-1", ErrDHKey)
	case y.Cmp(dhPrime) >= 0:
		return nil, handshakeErr("%w: it is not below the group's prime", ErrDHKey)
	}
	if new(big.Int).Exp(y, dhOrder, dhPrime).Cmp(big.NewInt(1)) != 0 {
		return nil, handshakeErr("%w: it is outside the prime-order subgroup", ErrDHKey)
	}
	return y, nil
}

// rtmpeKeys derives the two RC4 ciphers from the shared secret: what we send
// is keyed by the HMAC of the peer's public key, what we receive by our own
// (rtmpcrypt.c's ff_rtmpe_compute_secret_key, librtmp's InitRC4Encryption).
// Both then discard the first 1536 bytes of keystream, the size of a
// handshake packet, as both of those do.
func rtmpeKeys(own dhKeyPair, peer *big.Int, peerPub []byte) (in, out *rc4.Cipher, err error) {
	secret := new(big.Int).Exp(peer, own.priv, dhPrime).FillBytes(make([]byte, dhKeySize))
	key := func(pub []byte) (*rc4.Cipher, error) {
		m := hmac.New(sha256.New, secret)
		m.Write(pub)
		c, err := rc4.NewCipher(m.Sum(nil)[:16])
		if err != nil {
			return nil, handshakeErr("rtmpe: %w", err)
		}
		var skip [handshakeSize]byte
		c.XORKeyStream(skip[:], skip[:])
		return c, nil
	}
	if out, err = key(peerPub); err != nil {
		return nil, nil, err
	}
	if in, err = key(own.pub); err != nil {
		return nil, nil, err
	}
	return in, out, nil
}

// rtmpeHello fills c1 (a C1 or S1, random already) with its version field,
// our public key and the digest of scheme, and returns the digest.
func rtmpeHello(c1 []byte, version [4]byte, scheme int, pub []byte, key []byte) []byte {
	copy(c1[4:8], version[:])
	copy(c1[dhOffset(c1, scheme):], pub)
	off := digestOffset(c1, scheme)
	d := packetDigest(c1, off, key)
	copy(c1[off:], d)
	return d
}

// rtmpeClientHandshake runs the client side on nc and returns the connection
// that encrypts and decrypts everything after it. Like FFmpeg and librtmp it
// signs C1 with scheme 1, and it reads S1 in whichever scheme verifies.
func rtmpeClientHandshake(nc net.Conn) (net.Conn, error) {
	own, err := newDHKeyPair()
	if err != nil {
		return nil, err
	}
	c0c1 := make([]byte, 1+handshakeSize)
	c0c1[0] = rtmpeVersion
	c1 := c0c1[1:]
	if _, err := rand.Read(c1[8:]); err != nil {
		return nil, handshakeErr("random: %w", err)
	}
	c1Digest := rtmpeHello(c1, clientC1Version, 1, own.pub, playerKey[:playerKeyText])
	if _, err := nc.Write(c0c1); err != nil {
		return nil, handshakeErr("send C0+C1: %w", err)
	}

	s0s1 := make([]byte, 1+handshakeSize)
	if _, err := io.ReadFull(nc, s0s1); err != nil {
		return nil, handshakeErr("read S0+S1: %w", err)
	}
	switch s0s1[0] {
	case rtmpeVersion:
	case handshakeVersion:
		return nil, handshakeErr("rtmpe: the server answered plain RTMP (version 3): it does not offer RTMPE; use rtmp:// or rtmps://")
	default:
		return nil, handshakeErr("rtmpe: server answered version %d, want %d (is this an RTMP server?)", s0s1[0], rtmpeVersion)
	}
	s1 := s0s1[1:]
	off, scheme := findDigestScheme(s1, serverKey[:serverKeyText])
	if off < 0 {
		return nil, handshakeErr("%w (S1)", ErrBadDigest)
	}
	peerPub := s1[dhOffset(s1, scheme):][:dhKeySize]
	peer, err := checkDHKey(peerPub)
	if err != nil {
		return nil, err
	}
	in, out, err := rtmpeKeys(own, peer, peerPub)
	if err != nil {
		return nil, err
	}

	c2 := make([]byte, handshakeSize)
	if _, err := rand.Read(c2); err != nil {
		return nil, handshakeErr("random: %w", err)
	}
	copy(c2[handshakeSize-digestSize:], responseDigest(c2, s1[off:off+digestSize], playerKey))
	if _, err := nc.Write(c2); err != nil {
		return nil, handshakeErr("send C2: %w", err)
	}
	s2 := make([]byte, handshakeSize)
	if _, err := io.ReadFull(nc, s2); err != nil {
		return nil, handshakeErr("read S2: %w", err)
	}
	// S2 carries no key material; it is checked as in the plain digest
	// handshake, accepting the echo some servers send.
	if !hmac.Equal(s2[handshakeSize-digestSize:], responseDigest(s2, c1Digest, serverKey)) && !bytes.Equal(s2[8:], c1[8:]) {
		return nil, handshakeErr("%w (S2)", ErrBadDigest)
	}
	return newRC4Conn(nc, in, out), nil
}

// rtmpeServerVersion is the version field of our S1: any non-zero value
// says the server knows the digest scheme, and FFmpeg's player wants the
// second byte at 3 or more.
var rtmpeServerVersion = [4]byte{0x04, 0x05, 0x00, 0x01}

// rtmpeServerHandshake runs the server side after C0 (already read, and
// rtmpeVersion) and returns the encrypting connection. C1 must carry a
// digest and a valid key. S1 uses scheme 0 whatever the client used: FFmpeg's
// publisher looks for the server's key only where scheme 0 puts it, and every
// other client tries both.
func rtmpeServerHandshake(nc net.Conn) (net.Conn, error) {
	c1 := make([]byte, handshakeSize)
	if _, err := io.ReadFull(nc, c1); err != nil {
		return nil, handshakeErr("rtmpe: read C1: %w", err)
	}
	off, scheme := findDigestScheme(c1, playerKey[:playerKeyText])
	if off < 0 {
		return nil, handshakeErr("%w (C1)", ErrBadDigest)
	}
	peerPub := c1[dhOffset(c1, scheme):][:dhKeySize]
	peer, err := checkDHKey(peerPub)
	if err != nil {
		return nil, err
	}
	own, err := newDHKeyPair()
	if err != nil {
		return nil, err
	}
	in, out, err := rtmpeKeys(own, peer, peerPub)
	if err != nil {
		return nil, err
	}

	resp := make([]byte, 1+2*handshakeSize)
	resp[0] = rtmpeVersion
	s1, s2 := resp[1:1+handshakeSize], resp[1+handshakeSize:]
	if _, err := rand.Read(resp[1+8:]); err != nil {
		return nil, handshakeErr("random: %w", err)
	}
	rtmpeHello(s1, rtmpeServerVersion, 0, own.pub, serverKey[:serverKeyText])
	copy(s2[handshakeSize-digestSize:], responseDigest(s2, c1[off:off+digestSize], serverKey))
	if _, err := nc.Write(resp); err != nil {
		return nil, handshakeErr("rtmpe: send S0+S1+S2: %w", err)
	}
	c2 := make([]byte, handshakeSize)
	if _, err := io.ReadFull(nc, c2); err != nil {
		return nil, handshakeErr("rtmpe: read C2: %w", err)
	}
	// C2 is not checked: FFmpeg's publisher echoes S1 instead of signing, and
	// the keys do not depend on it.
	return newRC4Conn(nc, in, out), nil
}

// clientSession runs the handshake ep's scheme asks for on a new connection
// (for rtmpte, one the tunnel carries). It returns the connection the session
// continues on: nc itself, or for RTMPE nc wrapped in RC4. The caller closes
// nc on error.
func clientSession(nc net.Conn, ep Endpoint, opts Options) (net.Conn, error) {
	if ep.Scheme != "rtmpe" && ep.Scheme != "rtmpte" {
		_, err := clientHandshake(nc, !opts.PlainHandshake)
		return nc, err
	}
	opts.Logger.Warn("rtmpe is obfuscation, not security: RC4 is broken and the server is not authenticated; use rtmps:// to protect a stream",
		"server", ep.Address())
	return rtmpeClientHandshake(nc)
}

// acceptSession reads C0 and runs the handshake it selects: 3 is plain RTMP,
// 6 RTMPE, on the same port, as FFmpeg's and librtmp's clients expect. It
// returns the connection the session continues on, and whether it is RTMPE.
func acceptSession(nc net.Conn) (net.Conn, bool, error) {
	var c0 [1]byte
	if _, err := io.ReadFull(nc, c0[:]); err != nil {
		return nil, false, handshakeErr("read C0: %w", err)
	}
	switch c0[0] {
	case rtmpeVersion:
		ec, err := rtmpeServerHandshake(nc)
		return ec, true, err
	case handshakeVersion:
		return nc, false, serverHandshake(prefixConn{Conn: nc, r: io.MultiReader(bytes.NewReader(c0[:]), nc)})
	default:
		return nil, false, handshakeErr("client asked for version %d, want %d (RTMP) or %d (RTMPE)", c0[0], handshakeVersion, rtmpeVersion)
	}
}

// prefixConn gives serverHandshake back the C0 acceptSession read.
type prefixConn struct {
	net.Conn
	r io.Reader
}

func (c prefixConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// rc4Conn is a connection after the RTMPE handshake: RC4 on every byte read and
// written. Reads come from one goroutine and writes are serialized by the
// transport, but the mutexes keep each keystream consistent regardless.
type rc4Conn struct {
	net.Conn
	rmu sync.Mutex
	in  *rc4.Cipher

	wmu  sync.Mutex
	out  *rc4.Cipher
	wbuf []byte
	werr error // sticky: see Write
}

// rc4WriteChunk bounds the scratch buffer a write encrypts into, so a large
// write costs no more memory than a small one.
const rc4WriteChunk = 32 << 10

func newRC4Conn(nc net.Conn, in, out *rc4.Cipher) *rc4Conn {
	return &rc4Conn{Conn: nc, in: in, out: out}
}

func (c *rc4Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	n, err := c.Conn.Read(p)
	c.in.XORKeyStream(p[:n], p[:n])
	return n, err
}

// Write encrypts into a scratch buffer, never into p, which the caller still
// owns. After a failed write the keystream has run ahead of what the peer
// received, so, as with crypto/tls, every later write fails with the same error.
func (c *rc4Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return 0, c.werr
	}
	if c.wbuf == nil {
		c.wbuf = make([]byte, rc4WriteChunk)
	}
	done := 0
	for done < len(p) {
		chunk := p[done:min(len(p), done+rc4WriteChunk)]
		buf := c.wbuf[:len(chunk)]
		c.out.XORKeyStream(buf, chunk)
		n, err := c.Conn.Write(buf)
		done += n
		if err != nil {
			c.werr = fmt.Errorf("rtmpe: write: %w", err)
			return done, c.werr
		}
	}
	return done, nil
}

// NetConn is the connection underneath, as tls.Conn's, for socket options.
func (c *rc4Conn) NetConn() net.Conn { return c.Conn }
