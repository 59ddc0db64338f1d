// Package authorizer is the end-to-end test of docs/custom-authorizer.Caddyfile:
// forward_auth asks a custom authorizer, auth_cache reuses its answer for the
// TTL, and usage_plan holds the caller to the plan of the key the authorizer
// returned, with neither the key nor the token reaching the upstream.
package authorizer

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"
)

// authorizer admits "Bearer tok-<name>" for the names it has a key for.
type authorizer struct {
	*httptest.Server
	calls atomic.Int64
	mu    sync.Mutex
	keys  map[string]string // name -> plan key value
}

func startAuthorizer(t *testing.T) *authorizer {
	a := &authorizer{keys: map[string]string{}}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.calls.Add(1)
		name, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer tok-")
		a.mu.Lock()
		key, known := a.keys[name]
		a.mu.Unlock()
		if r.URL.Path != "/authorize" || !ok || !known {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"message":"Unauthorized"}`)
			return
		}
		w.Header().Set("X-Gpugate-Plan-Key", key)
		w.Header().Set("X-Principal-Id", name)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *authorizer) admit(name, key string) {
	a.mu.Lock()
	a.keys[name] = key
	a.mu.Unlock()
}

// upstream records the headers of what reached it.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []http.Header
}

func startUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen = append(u.seen, r.Header.Clone())
		u.mu.Unlock()
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.seen)
}

func (u *upstream) last() http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.seen[len(u.seen)-1]
}

func TestForwardAuthWithCacheAndUsagePlan(t *testing.T) {
	t.Parallel()
	a := startAuthorizer(t)
	u := startUpstream(t)
	g := testkit.StartGateway(t, "docs/custom-authorizer.Caddyfile", testkit.GatewayOptions{Env: map[string]string{
		"GPUGATE_DATA":       t.TempDir(),
		"GPUGATE_AUTHORIZER": strings.TrimPrefix(a.URL, "http://"),
		"GPUGATE_UPSTREAM":   strings.TrimPrefix(u.URL, "http://"),
		"GPUGATE_AUTH_TTL":   "2s",
	}})

	// A key in the standard plan, which the authorizer returns for alice.
	out, err := g.Command("usage-plans", "keys", "create", "--name", "alice", "--plan", "standard", "--address", g.AdminAddr)
	if err != nil {
		t.Fatalf("create key: %v\n%s", err, out)
	}
	var created struct{ Value string }
	if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &created); err != nil || created.Value == "" {
		t.Fatalf("create key output: %v\n%s", err, out)
	}
	a.admit("alice", created.Value)
	a.admit("mallory", "gpg_not-a-key-in-the-store-000000000000")

	call := func(method, token string, hdr ...string) int {
		t.Helper()
		if token != "" {
			hdr = append(hdr, "Authorization", "Bearer "+token)
		}
		path := "/api/jobs"
		if method == http.MethodPost {
			path = "/api/generate"
		}
		resp := g.Do(method, path, nil, hdr...)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	// The first request asks the authorizer; the next ones within the TTL
	// reuse its answer.
	for i := range 3 {
		if code := call(http.MethodGet, "tok-alice"); code != http.StatusOK {
			t.Fatalf("request %d: %d\n%s", i, code, g.Logs())
		}
	}
	if n := a.calls.Load(); n != 1 {
		t.Errorf("authorizer calls for three requests within the TTL: %d, want 1", n)
	}
	seen := u.last()
	if seen.Get("X-Principal-Id") != "alice" || seen.Get("X-Gpugate-Plan-Key") != "" || seen.Get("Authorization") != "" {
		t.Errorf("upstream headers: %v", seen)
	}

	// A client cannot pick its principal or plan key, cached answer or not.
	if code := call(http.MethodGet, "tok-alice", "X-Principal-Id", "admin", "X-Gpugate-Plan-Key", "forged"); code != http.StatusOK || u.last().Get("X-Principal-Id") != "alice" {
		t.Errorf("spoofed headers: %d, upstream saw %q", code, u.last().Get("X-Principal-Id"))
	}

	// The plan applies to the key the authorizer returned: burst 2 on POST /api/generate.
	var codes []int
	for range 3 {
		codes = append(codes, call(http.MethodPost, "tok-alice"))
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != http.StatusTooManyRequests {
		t.Errorf("POST /api/generate: %v, want 200 200 429", codes)
	}

	// Refusals come from the authorizer, are not cached, and reach no upstream.
	before, reached := a.calls.Load(), u.count()
	for range 2 {
		if code := call(http.MethodGet, "tok-eve"); code != http.StatusUnauthorized {
			t.Errorf("unknown token: %d", code)
		}
	}
	if code := call(http.MethodGet, ""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d", code)
	}
	if a.calls.Load()-before != 3 || u.count() != reached {
		t.Errorf("refusals: %d authorizer calls (want 3), %d reached the upstream", a.calls.Load()-before, u.count()-reached)
	}

	// An admitted principal whose key is not in the store gets usage_plan's 403.
	if code := call(http.MethodGet, "tok-mallory"); code != http.StatusForbidden {
		t.Errorf("key not in the store: %d", code)
	}

	// After the TTL the authorizer is asked again.
	before = a.calls.Load()
	deadline := time.Now().Add(15 * time.Second)
	for a.calls.Load() == before && time.Now().Before(deadline) {
		if code := call(http.MethodGet, "tok-alice"); code != http.StatusOK {
			t.Fatalf("alice: %d", code)
		}
		time.Sleep(100 * time.Millisecond) // polling interval, not a wait for a result
	}
	if a.calls.Load() == before {
		t.Error("the authorizer was not asked again after the TTL")
	}

	resp, err := http.Get("http://" + g.AdminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`gpugate_auth_cache_lookups_total{result="hit"}`, `gpugate_auth_cache_lookups_total{result="miss"}`, `gpugate_auth_cache_lookups_total{result="no_key"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(g.Logs(), created.Value) {
		t.Error("the plan key reached a log line")
	}
}
