package authcache

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
)

func init() {
	caddy.RegisterModule(testAuthorizer{})
}

// testAuthorizer stands in for forward_auth: "Bearer good-<x>" is admitted
// with X-Plan-Key: key-<x>; anything else gets 401. It counts its calls.
type testAuthorizer struct{}

var authorizerCalls atomic.Int64

func (testAuthorizer) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.gpugate_test_authorizer", New: func() caddy.Module { return new(testAuthorizer) }}
}

func (testAuthorizer) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	authorizerCalls.Add(1)
	tok := r.Header.Get("Authorization")
	r.Header.Del("X-Plan-Key")
	if len(tok) > len("Bearer good-") && tok[:len("Bearer good-")] == "Bearer good-" {
		r.Header.Set("X-Plan-Key", "key-"+tok[len("Bearer good-"):])
		return next.ServeHTTP(w, r)
	}
	w.WriteHeader(http.StatusUnauthorized)
	return nil
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newHandler(t *testing.T, clk *clock, maxEntries int) *Handler {
	t.Helper()
	h := &Handler{
		Key: []string{"{http.request.header.Authorization}"}, TTL: caddy.Duration(time.Minute),
		Headers: []string{"x-plan-key"}, MaxEntries: maxEntries,
		Routes: caddyhttp.RouteList{{HandlersRaw: []json.RawMessage{json.RawMessage(`{"handler":"gpugate_test_authorizer"}`)}}},
		now:    clk.now,
	}
	if err := h.Provision(adapttest.Context(t)); err != nil {
		t.Fatal(err)
	}
	return h
}

// serve sends one request through h and returns the status and the
// X-Plan-Key the next handler saw.
func serve(t *testing.T, h *Handler, auth string, hdr ...string) (int, string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/api/x", nil)
	repl := caddy.NewReplacer()
	r = r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl))
	repl.Map(func(key string) (any, bool) {
		if key == "http.request.header.Authorization" {
			return r.Header.Get("Authorization"), true
		}
		return nil, false
	})
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	var seen string
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		seen = r.Header.Get("X-Plan-Key")
		w.WriteHeader(http.StatusOK)
		return nil
	})
	rec := httptest.NewRecorder()
	if err := h.ServeHTTP(rec, r, next); err != nil {
		t.Fatal(err)
	}
	return rec.Code, seen
}

// TestCacheHitMissAndExpiry: the authorizer runs once per credential per
// TTL; a hit restores the header it set; after the TTL it runs again.
// (Not parallel: the test authorizer's call counter is shared.)
func TestCacheHitMissAndExpiry(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	h := newHandler(t, clk, 0)
	start := authorizerCalls.Load()
	calls := func() int64 { return authorizerCalls.Load() - start }

	for i := range 3 {
		if code, key := serve(t, h, "Bearer good-alice"); code != http.StatusOK || key != "key-alice" {
			t.Fatalf("request %d: %d %q", i, code, key)
		}
	}
	if calls() != 1 {
		t.Fatalf("authorizer calls for one token: %d, want 1", calls())
	}
	if _, key := serve(t, h, "Bearer good-bob"); key != "key-bob" || calls() != 2 {
		t.Fatalf("second token: %q, %d calls", key, calls())
	}
	clk.add(59 * time.Second)
	serve(t, h, "Bearer good-alice")
	if calls() != 2 {
		t.Fatalf("within the TTL the authorizer ran again: %d", calls())
	}
	clk.add(time.Second)
	if _, key := serve(t, h, "Bearer good-alice"); key != "key-alice" || calls() != 3 {
		t.Fatalf("after the TTL: %q, %d calls", key, calls())
	}
}

// TestRefusalsAreNotCached: a refused credential is answered by the
// authorizer every time and never reaches the next handler.
func TestRefusalsAreNotCached(t *testing.T) {
	h := newHandler(t, &clock{t: time.Unix(1_700_000_000, 0)}, 0)
	start := authorizerCalls.Load()
	for range 2 {
		if code, key := serve(t, h, "Bearer forged"); code != http.StatusUnauthorized || key != "" {
			t.Fatalf("refused: %d %q", code, key)
		}
	}
	if n := authorizerCalls.Load() - start; n != 2 {
		t.Fatalf("authorizer calls: %d, want 2", n)
	}
	// No credential: nothing to key on, the authorizer decides.
	if code, _ := serve(t, h, ""); code != http.StatusUnauthorized {
		t.Fatalf("no credential: %d", code)
	}
}

// TestClientCopyOfHeaderIsReplaced: on a hit, a header the client sent
// under a cached name is replaced by the authorizer's value.
func TestClientCopyOfHeaderIsReplaced(t *testing.T) {
	h := newHandler(t, &clock{t: time.Unix(1_700_000_000, 0)}, 0)
	serve(t, h, "Bearer good-carol")
	if _, key := serve(t, h, "Bearer good-carol", "X-Plan-Key", "key-of-someone-else"); key != "key-carol" {
		t.Fatalf("hit kept the client's header: %q", key)
	}
}

// TestBounded: the cache holds at most max_entries credentials; the least
// recently used one is asked again.
func TestBounded(t *testing.T) {
	h := newHandler(t, &clock{t: time.Unix(1_700_000_000, 0)}, 2)
	start := authorizerCalls.Load()
	for _, who := range []string{"a", "b", "c", "c", "b", "a"} {
		serve(t, h, "Bearer good-"+who)
	}
	// a, b, c miss; c, b hit; a was evicted by c.
	if n := authorizerCalls.Load() - start; n != 4 {
		t.Fatalf("authorizer calls: %d, want 4", n)
	}
	if h.cache.Len() != 2 {
		t.Fatalf("cache size %d", h.cache.Len())
	}
}
