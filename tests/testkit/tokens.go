package testkit

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims is a JWT claim set for test tokens.
type Claims = jwt.MapClaims

// StandardClaims returns a claim set valid for an hour: sub, iat, nbf, exp,
// plus iss and aud when non-empty.
func StandardClaims(sub, iss, aud string) Claims { return ClaimsAt(time.Now(), sub, iss, aud) }

// ClaimsAt is StandardClaims issued at now: for a verifier on an injected
// clock, whose time may be behind the wall clock's.
func ClaimsAt(now time.Time, sub, iss, aud string) Claims {
	c := Claims{"sub": sub, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	if iss != "" {
		c["iss"] = iss
	}
	if aud != "" {
		c["aud"] = aud
	}
	return c
}

// SignHS256 signs claims with an HMAC secret.
func SignHS256(t testing.TB, secret string, claims Claims) string {
	t.Helper()
	return Sign(t, jwt.SigningMethodHS256, []byte(secret), "", claims)
}

// Sign signs claims with any method and key; kid, when non-empty, goes into
// the header.
func Sign(t testing.TB, method jwt.SigningMethod, key any, kid string, claims Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign %s token: %v", method.Alg(), err)
	}
	return s
}

// RSAKey generates a 2048-bit RSA key.
func RSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// ECKey generates a P-256 ECDSA key.
func ECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// EdKey generates an Ed25519 key.
func EdKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
