package remote

import (
	"crypto/sha256"
	"encoding/base64"
	"testing"
)

// The answer is built exactly as the protocol's "Creating an authentication
// string" spells it out, step by step.
func TestAuthResponseFollowsTheProtocolsRecipe(t *testing.T) {
	c := challenge{Challenge: "+IxH4CnCiqpX1rM9scsNynZzbOe4KhDeYcTNS3PDaeY=", Salt: "lM1GncleQOaCu9lT1yeUZhFYnqhsLLP1G5lAGo3ixaI="}
	secret := sha256.Sum256([]byte("supersecretpassword" + c.Salt))
	b64 := base64.StdEncoding.EncodeToString(secret[:])
	auth := sha256.Sum256([]byte(b64 + c.Challenge))
	want := base64.StdEncoding.EncodeToString(auth[:])
	if got := authResponse("supersecretpassword", c); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if !checkAuth("supersecretpassword", c, want) || checkAuth("supersecretpassword2", c, authResponse("supersecretpassword2", newChallenge())) {
		t.Fatal("checkAuth disagrees with authResponse")
	}
}

func TestEachConnectionGetsAFreshChallenge(t *testing.T) {
	a, b := newChallenge(), newChallenge()
	if a.Challenge == b.Challenge || a.Salt == b.Salt || len(a.Challenge) < 32 {
		t.Fatalf("challenges repeat or are short: %+v %+v", a, b)
	}
}
