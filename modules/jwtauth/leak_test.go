package jwtauth

import (
	"fmt"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/gpugate/gpugate/tests/testkit"
)

// TestNoGoroutineSurvivesCleanup provisions and cleans up handlers with
// JWKS and OIDC sources many times, as reloads do.
func TestNoGoroutineSurvivesCleanup(t *testing.T) {
	idp := testkit.StartJWKS(t, testkit.JWK{KID: "k1", Key: testkit.RSAKey(t)})
	before := testkit.SnapshotGoroutines()
	for i := range 20 {
		h := &Handler{Sources: []SourceConfig{
			{JWKS: idp.JWKSURL(), Refresh: caddyDuration(time.Duration(i+1) * time.Minute)},
			{OIDC: idp.Issuer()},
		}}
		if err := provisionErr(t, h); err != nil { // provisions and cleans up
			t.Fatal(err)
		}
	}
	before.NoLeaks(t)
}

// TestNoGoroutineSurvivesReload loads a config, reloads it with other JWKS
// settings, and stops Caddy: every fetcher must be gone.
func TestNoGoroutineSurvivesReload(t *testing.T) {
	idp := testkit.StartJWKS(t, testkit.JWK{KID: "k1", Key: testkit.RSAKey(t)})
	config := func(refresh string) []byte {
		return fmt.Appendf(nil, `{"admin":{"disabled":true},"logging":{"logs":{"default":{"level":"ERROR"}}},
			"apps":{"http":{"servers":{"s":{"listen":["127.0.0.1:0"],"routes":[{"handle":[{"handler":"gpugate_request_policy"}]},{"handle":[
			{"handler":"gpugate_jwt_auth","sources":[{"jwks":%q,"refresh":%q},{"oidc":%q}]},
			{"handler":"static_response","body":"ok"}]}]}}}}}`, idp.JWKSURL(), refresh, idp.Issuer())
	}
	// Warm up Caddy's own once-per-process goroutines.
	if err := caddy.Load(config("1h"), true); err != nil {
		t.Fatal(err)
	}
	if err := caddy.Stop(); err != nil {
		t.Fatal(err)
	}
	before := testkit.SnapshotGoroutines()
	for _, refresh := range []string{"1h", "2h", "3h", "3h"} {
		if err := caddy.Load(config(refresh), true); err != nil {
			t.Fatal(err)
		}
	}
	if err := caddy.Stop(); err != nil {
		t.Fatal(err)
	}
	before.NoLeaks(t)
	remoteKeySets.Range(func(key, _ any) bool {
		t.Errorf("key set %v still in the pool after stop", key)
		return true
	})
}

// TestCleanupCancelsFetchInFlight: a hanging IdP neither blocks the load
// for long nor the cleanup.
func TestCleanupCancelsFetchInFlight(t *testing.T) {
	idp := testkit.StartJWKS(t, testkit.JWK{KID: "k1", Key: testkit.RSAKey(t)})
	idp.SetDelay(time.Minute)
	before := testkit.SnapshotGoroutines()
	h := &Handler{Sources: []SourceConfig{{JWKS: idp.JWKSURL(), Timeout: caddyDuration(30 * time.Second)}}}
	start := time.Now()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: t.Context()})
	defer cancel()
	if err := h.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > initialFetchWait+time.Second {
		t.Errorf("provision took %v with a hanging IdP, want at most about %v", took, initialFetchWait)
	}
	start = time.Now()
	_ = h.Cleanup()
	if took := time.Since(start); took > time.Second {
		t.Errorf("cleanup took %v; the fetch in flight must be cancelled", took)
	}
	before.NoLeaks(t)
}
