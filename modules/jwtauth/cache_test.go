package jwtauth

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"
)

func TestCacheNeverOutlivesExp(t *testing.T) {
	clock := testkit.NewClock(time.Now())
	h := provision(t, &Handler{Sources: []SourceConfig{{Secret: testSecretRef}}, now: clock.Now})
	c := testkit.ClaimsAt(clock.Now(), "alice", "", "")
	c["exp"] = clock.Now().Add(time.Minute).Unix()
	tok := testkit.SignHS256(t, testSecret, c)
	wantOK(t, serve(t, h, bearer(tok)))
	if h.cache.len() != 1 {
		t.Fatalf("cache holds %d entries, want 1", h.cache.len())
	}
	wantOK(t, serve(t, h, bearer(tok))) // a hit
	clock.Advance(time.Minute)
	wantUnauthorized(t, serve(t, h, bearer(tok)), "expired")
	if h.cache.len() != 0 {
		t.Errorf("the expired entry is still cached")
	}
}

func TestCacheHitSkipsVerificationButNotScopes(t *testing.T) {
	h := hsHandler(t, func(h *Handler) { h.RequireScopes = []string{"pods:read"} })
	c := testkit.StandardClaims("alice", "", "")
	c["scope"] = "pods:read"
	tok := testkit.SignHS256(t, testSecret, c)
	wantOK(t, serve(t, h, bearer(tok)))
	h.verifier = &verifier{} // accepts nothing: only a cache hit passes now
	wantOK(t, serve(t, h, bearer(tok)))

	scoped := provision(t, &Handler{Sources: []SourceConfig{{Secret: testSecretRef}}, RequireScopes: []string{"admin"}})
	scoped.cache = h.cache // same cache, stricter route
	if out := serve(t, scoped, bearer(tok)); out.resp.StatusCode != http.StatusForbidden {
		t.Errorf("cached token on a stricter route: status %d, want 403", out.resp.StatusCode)
	}
}

func TestCacheIsBounded(t *testing.T) {
	clock := testkit.NewClock(time.Now())
	cache := newTokenCache(100, clock.Now)
	src := &staticSource{}
	for i := range 1000 {
		key := sha256.Sum256([]byte(fmt.Sprint(i)))
		cache.put(key, &identity{expires: clock.Now().Add(time.Duration(i+1) * time.Second), source: src})
		if cache.len() > 100 {
			t.Fatalf("cache grew to %d entries, bound 100", cache.len())
		}
	}
	// Expired entries make room before live ones are evicted.
	clock.Advance(2000 * time.Second)
	cache.put(sha256.Sum256([]byte("new")), &identity{expires: clock.Now().Add(time.Hour), source: src})
	if cache.len() > 100 {
		t.Errorf("len %d", cache.len())
	}
	if cache.get(sha256.Sum256([]byte("new"))) == nil {
		t.Error("fresh entry missing")
	}
	if cache.get(sha256.Sum256([]byte("5"))) != nil {
		t.Error("expired entry returned")
	}
}

func TestCacheDisabled(t *testing.T) {
	h := provision(t, &Handler{Sources: []SourceConfig{{Secret: testSecretRef}}, CacheSize: intPtr(0)})
	tok := testkit.SignHS256(t, testSecret, testkit.StandardClaims("alice", "", ""))
	wantOK(t, serve(t, h, bearer(tok)))
	if h.cache != nil || h.cache.len() != 0 {
		t.Error("cache 0 must disable the cache")
	}
}
