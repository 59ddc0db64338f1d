package jwtauth

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gpugate/gpugate/tests/testkit"
)

// jwksHandler verifies against srv's JWKS with a fast refetch bound.
func jwksHandler(t testing.TB, srv *testkit.JWKSServer, tweak func(s *SourceConfig)) *Handler {
	return jwksHandlerAt(t, srv, time.Now, tweak)
}

// jwksHandlerAt is jwksHandler with the handler's (and its key set's)
// clock.
func jwksHandlerAt(t testing.TB, srv *testkit.JWKSServer, now func() time.Time, tweak func(s *SourceConfig)) *Handler {
	src := SourceConfig{JWKS: srv.JWKSURL(), Refresh: caddyDuration(time.Hour), MinRefetch: caddyDuration(200 * time.Millisecond), Timeout: caddyDuration(10 * time.Second)}
	if tweak != nil {
		tweak(&src)
	}
	return provision(t, &Handler{Sources: []SourceConfig{src}, now: now})
}

func TestJWKSKeysAndRotation(t *testing.T) {
	k1, k2 := testkit.RSAKey(t), testkit.ECKey(t)
	srv := testkit.StartJWKS(t, testkit.JWK{KID: "k1", Key: k1, Alg: "RS256", Use: "sig"})
	clock := testkit.NewClock(time.Now())
	h := jwksHandlerAt(t, srv, clock.Now, nil)
	claims := testkit.ClaimsAt(clock.Now(), "alice", "", "")
	if srv.Fetches() != 1 {
		t.Fatalf("fetches after provision = %d, want 1 (the initial fetch)", srv.Fetches())
	}
	wantOK(t, serve(t, h, bearer(testkit.Sign(t, jwt.SigningMethodRS256, k1, "k1", claims))))

	// The IdP rotates to k2 and drops k1: a k2 token triggers one refetch.
	srv.SetKeys(t, testkit.JWK{KID: "k2", Key: k2})
	clock.Advance(250 * time.Millisecond) // past min_refetch
	wantOK(t, serve(t, h, bearer(testkit.Sign(t, jwt.SigningMethodES256, k2, "k2", claims))))
	if srv.Fetches() != 2 {
		t.Errorf("fetches = %d, want 2", srv.Fetches())
	}
	// k1 is gone now: its (previously cached) token is refused.
	wantUnauthorized(t, serve(t, h, bearer(testkit.Sign(t, jwt.SigningMethodRS256, k1, "k1", claims))), "no key is known")
}

func TestJWKSUnknownKIDRefetchIsRateBounded(t *testing.T) {
	key := testkit.RSAKey(t)
	srv := testkit.StartJWKS(t, testkit.JWK{KID: "k1", Key: key})
	h := jwksHandler(t, srv, func(s *SourceConfig) { s.MinRefetch = caddyDuration(time.Hour) })
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := testkit.Sign(t, jwt.SigningMethodRS256, key, fmt.Sprintf("forged-%d", i), testkit.StandardClaims("alice", "", ""))
			out := serve(t, h, bearer(tok))
			if out.resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("unknown kid: status %d", out.resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	if got := srv.Fetches(); got != 1 {
		t.Errorf("200 unknown-kid requests caused %d fetches in total, want 1 (only the initial one; min_refetch 1h)", got)
	}
}

func TestJWKSUnknownKIDRefetchCoalesced(t *testing.T) {
	key := testkit.RSAKey(t)
	srv := testkit.StartJWKS(t, testkit.JWK{KID: "k1", Key: key})
	clock := testkit.NewClock(time.Now())
	h := jwksHandlerAt(t, srv, clock.Now, nil)
	newKey := testkit.RSAKey(t)
	srv.AddKey(t, testkit.JWK{KID: "k2", Key: newKey})
	srv.SetDelay(100 * time.Millisecond)
	clock.Advance(250 * time.Millisecond) // past min_refetch
	tok := testkit.Sign(t, jwt.SigningMethodRS256, newKey, "k2", testkit.ClaimsAt(clock.Now(), "alice", "", ""))
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out := serve(t, h, bearer(tok)); out.resp.StatusCode != http.StatusOK {
				t.Errorf("new kid: status %d", out.resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	if got := srv.Fetches(); got != 2 {
		t.Errorf("fetches = %d, want 2 (initial + one shared refetch)", got)
	}
}

func TestJWKSKeepsLastGoodKeysWhileIdPIsDown(t *testing.T) {
	key := testkit.RSAKey(t)
	srv := testkit.StartJWKS(t, testkit.JWK{KID: "k1", Key: key})
	h := jwksHandler(t, srv, func(s *SourceConfig) {
		s.Refresh = caddyDuration(30 * time.Millisecond)
		s.MinRefetch = caddyDuration(30 * time.Millisecond)
	})
	h.cache = nil // verify every time
	tok := testkit.Sign(t, jwt.SigningMethodRS256, key, "k1", testkit.StandardClaims("alice", "", ""))
	wantOK(t, serve(t, h, bearer(tok)))

	srv.Down()
	before := srv.Fetches()
	testkit.Eventually(t, 5*time.Second, "failed background refreshes", func() bool { return srv.Fetches() >= before+3 })
	wantOK(t, serve(t, h, bearer(tok)))

	// Garbage and key-less sets are not installed either.
	srv.Up()
	srv.SetRaw(`{"keys":[]}`)
	before = srv.Fetches()
	testkit.Eventually(t, 5*time.Second, "refresh of an empty set", func() bool { return srv.Fetches() >= before+2 })
	wantOK(t, serve(t, h, bearer(tok)))
	srv.SetRaw(`<html>oops</html>`)
	before = srv.Fetches()
	testkit.Eventually(t, 5*time.Second, "refresh of garbage", func() bool { return srv.Fetches() >= before+2 })
	wantOK(t, serve(t, h, bearer(tok)))
}

func TestJWKSDownAtStartDoesNotBlockAndRecovers(t *testing.T) {
	key := testkit.RSAKey(t)
	srv := testkit.StartJWKS(t, testkit.JWK{KID: "k1", Key: key})
	srv.SetDelay(time.Minute) // hangs
	start := time.Now()
	h := jwksHandler(t, srv, func(s *SourceConfig) {
		s.Timeout = caddyDuration(300 * time.Millisecond)
		s.MinRefetch = caddyDuration(100 * time.Millisecond)
	})
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("provision took %v with a hanging IdP; want about the fetch timeout", took)
	}
	tok := testkit.Sign(t, jwt.SigningMethodRS256, key, "k1", testkit.StandardClaims("alice", "", ""))
	wantUnauthorized(t, serve(t, h, bearer(tok)), "no key is known")
	srv.SetDelay(0)
	testkit.Eventually(t, 5*time.Second, "keys after the IdP recovered", func() bool {
		return serve(t, h, bearer(tok)).resp.StatusCode == http.StatusOK
	})
}

func TestJWKSKeyAlgUseAndUnknownKty(t *testing.T) {
	rsaKey, edKey := testkit.RSAKey(t), testkit.EdKey(t)
	srv := testkit.StartJWKS(t,
		testkit.JWK{KID: "rs384-only", Key: rsaKey, Alg: "RS384"},
		testkit.JWK{KID: "enc", Key: rsaKey, Use: "enc"},
		testkit.JWK{KID: "ed", Key: edKey},
	)
	h := jwksHandler(t, srv, nil)
	claims := testkit.StandardClaims("alice", "", "")
	wantOK(t, serve(t, h, bearer(testkit.Sign(t, jwt.SigningMethodRS384, rsaKey, "rs384-only", claims))))
	wantUnauthorized(t, serve(t, h, bearer(testkit.Sign(t, jwt.SigningMethodRS256, rsaKey, "rs384-only", claims))), "no key is known")
	wantUnauthorized(t, serve(t, h, bearer(testkit.Sign(t, jwt.SigningMethodRS256, rsaKey, "enc", claims))), "no key is known")
	wantOK(t, serve(t, h, bearer(testkit.Sign(t, jwt.SigningMethodEdDSA, edKey, "ed", claims))))
	// No kid: every key that fits the algorithm is tried.
	wantOK(t, serve(t, h, bearer(testkit.Sign(t, jwt.SigningMethodEdDSA, edKey, "", claims))))

	// An unknown kty and a symmetric key next to a good one are ignored.
	ecKey := testkit.ECKey(t)
	srv2 := testkit.StartJWKS(t, testkit.JWK{KID: "ec", Key: ecKey})
	good := strings.TrimSuffix(strings.TrimPrefix(string(jwksBody(t, srv2)), `{"keys":[`), `]}`)
	srv2.SetRaw(`{"keys":[{"kty":"XYZ","kid":"odd"},{"kty":"oct","kid":"hmac","k":"c2VjcmV0"},` + good + `]}`)
	h2 := jwksHandler(t, srv2, nil)
	wantOK(t, serve(t, h2, bearer(testkit.Sign(t, jwt.SigningMethodES256, ecKey, "ec", claims))))
	wantUnauthorized(t, serve(t, h2, bearer(testkit.Sign(t, jwt.SigningMethodHS256, []byte("secret"), "hmac", claims))), "algorithm is not accepted")
}

func TestOIDCDiscoveryAndIssuerBinding(t *testing.T) {
	key := testkit.RSAKey(t)
	idp := testkit.StartJWKS(t, testkit.JWK{KID: "k1", Key: key, Alg: "RS256"})
	h := provision(t, &Handler{Sources: []SourceConfig{{OIDC: idp.Issuer()}}})
	if idp.Discoveries() != 1 || idp.Fetches() != 1 {
		t.Fatalf("discoveries %d fetches %d, want 1 and 1", idp.Discoveries(), idp.Fetches())
	}
	wantOK(t, serve(t, h, bearer(testkit.Sign(t, jwt.SigningMethodRS256, key, "k1", testkit.StandardClaims("alice", idp.Issuer(), "")))))
	// The same key cannot vouch for another issuer.
	wantUnauthorized(t, serve(t, h, bearer(testkit.Sign(t, jwt.SigningMethodRS256, key, "k1", testkit.StandardClaims("alice", "https://other.example/", "")))), "issuer")
}

func TestTwoIssuers(t *testing.T) {
	cognitoKey, auth0Key := testkit.RSAKey(t), testkit.RSAKey(t)
	cognito := testkit.StartJWKS(t, testkit.JWK{KID: "cognito-1", Key: cognitoKey, Alg: "RS256", Use: "sig"})
	auth0 := testkit.StartJWKS(t, testkit.JWK{KID: "auth0-1", Key: auth0Key, Alg: "RS256", Use: "sig"})
	h := provision(t, &Handler{
		Sources: []SourceConfig{{JWKS: cognito.JWKSURL(), Algorithms: []string{"RS256"}}, {JWKS: auth0.JWKSURL(), Algorithms: []string{"RS256"}}},
		Issuers: []string{"https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool", "https://tenant.auth0.com/"},
	})
	wantOK(t, serve(t, h, bearer(testkit.Sign(t, jwt.SigningMethodRS256, cognitoKey, "cognito-1",
		testkit.StandardClaims("alice", "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool", "")))))
	wantOK(t, serve(t, h, bearer(testkit.Sign(t, jwt.SigningMethodRS256, auth0Key, "auth0-1",
		testkit.StandardClaims("bob", "https://tenant.auth0.com/", "")))))
	wantUnauthorized(t, serve(t, h, bearer(testkit.Sign(t, jwt.SigningMethodRS256, auth0Key, "auth0-1",
		testkit.StandardClaims("bob", "https://evil.example/", "")))), "issuer")
	// Without binding, one IdP's key vouches for the other's issuer...
	crossed := testkit.Sign(t, jwt.SigningMethodRS256, auth0Key, "auth0-1",
		testkit.StandardClaims("mallory", "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool", ""))
	wantOK(t, serve(t, h, bearer(crossed)))
	// ...which an issuer in each jwks block prevents.
	bound := provision(t, &Handler{Sources: []SourceConfig{
		{JWKS: cognito.JWKSURL(), Issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool"},
		{JWKS: auth0.JWKSURL(), Issuer: "https://tenant.auth0.com/"},
	}})
	wantUnauthorized(t, serve(t, bound, bearer(crossed)), "issuer")
	wantOK(t, serve(t, bound, bearer(testkit.Sign(t, jwt.SigningMethodRS256, auth0Key, "auth0-1",
		testkit.StandardClaims("bob", "https://tenant.auth0.com/", "")))))
}

func TestJWKSSharedAcrossReloads(t *testing.T) {
	key := testkit.RSAKey(t)
	srv := testkit.StartJWKS(t, testkit.JWK{KID: "k1", Key: key})
	old := jwksHandler(t, srv, nil)
	srv.Down()
	// A reload provisions the new config before the old one is cleaned up:
	// it reuses the fetched keys instead of failing against a down IdP.
	next := jwksHandler(t, srv, nil)
	_ = old.Cleanup()
	if srv.Fetches() != 1 {
		t.Errorf("fetches = %d, want 1 (the new config reuses the set)", srv.Fetches())
	}
	wantOK(t, serve(t, next, bearer(testkit.Sign(t, jwt.SigningMethodRS256, key, "k1", testkit.StandardClaims("alice", "", "")))))
}

// jwksBody fetches srv's current JWKS document.
func jwksBody(t *testing.T, srv *testkit.JWKSServer) []byte {
	t.Helper()
	resp, err := http.Get(srv.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return []byte(b.String())
}
