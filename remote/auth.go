package remote

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// newChallenge makes a Hello's salt and challenge: fresh random bytes for
// every connection, so that a recorded answer is worth nothing on the next.
func newChallenge() challenge {
	return challenge{Challenge: randomString(32), Salt: randomString(32)}
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.StdEncoding.EncodeToString(b)
}

// authResponse is what a client that knows the password answers to a
// challenge: base64(sha256(base64(sha256(password+salt)) + challenge)).
func authResponse(password string, c challenge) string {
	secret := sha256.Sum256([]byte(password + c.Salt))
	s := base64.StdEncoding.EncodeToString(secret[:])
	auth := sha256.Sum256([]byte(s + c.Challenge))
	return base64.StdEncoding.EncodeToString(auth[:])
}

// checkAuth compares in constant time, so that the time an answer takes to
// refuse says nothing about how much of it was right.
func checkAuth(password string, c challenge, answer string) bool {
	want := authResponse(password, c)
	return subtle.ConstantTimeCompare([]byte(want), []byte(answer)) == 1
}
