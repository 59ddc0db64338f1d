package jwtauth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"
)

// TestReadinessFollowsKeySetFreshness: a JWKS key set fetched within twice
// its refresh interval is ready; one that has not been refreshed for longer
// (the identity provider down, the clock moved past) is not, and the
// detail says the last good keys stay in use. Not parallel: the check reads
// every key set of the process.
func TestReadinessFollowsKeySetFreshness(t *testing.T) {
	srv := testkit.StartJWKS(t, testkit.JWK{KID: "k1", Key: testkit.RSAKey(t)})
	clock := testkit.NewClock(time.Now())
	jwksHandlerAt(t, srv, clock.Now, nil) // refresh 1h: no background fetch during the test

	check := func() (bool, string) {
		t.Helper()
		checks := jwksHealth{}.CheckHealth(context.Background())
		if len(checks) != 1 || checks[0].Name != "jwt_auth.jwks" {
			t.Fatalf("checks = %+v, want one jwt_auth.jwks check", checks)
		}
		return checks[0].OK, checks[0].Detail
	}
	if ok, detail := check(); !ok || !strings.Contains(detail, "1 key sets") {
		t.Fatalf("fresh key set: ok=%v %q, want ready", ok, detail)
	}
	clock.Advance(119 * time.Minute)
	if ok, detail := check(); !ok {
		t.Fatalf("fetched 119 min ago with a 1 h refresh: not ready (%q)", detail)
	}
	clock.Advance(2 * time.Minute)
	if ok, detail := check(); ok || !strings.Contains(detail, "not refreshed within twice their refresh interval") {
		t.Fatalf("fetched 121 min ago with a 1 h refresh: ok=%v %q, want not ready and why", ok, detail)
	}
}
