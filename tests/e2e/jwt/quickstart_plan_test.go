package jwt

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"
)

// TestQuickstartUsagePlan runs the demo's /api/* route: a JWT and an API
// key of the free plan, the key created with the CLI, held in the embedded
// store across a restart.
func TestQuickstartUsagePlan(t *testing.T) {
	upstream := testkit.FreeAddr(t)
	g := testkit.StartGateway(t, demoCaddyfile, testkit.GatewayOptions{Env: map[string]string{
		"GPUGATE_JWT_SECRET":    secret,
		"GPUGATE_DEMO_UPSTREAM": upstream,
	}})
	token := devToken(t, g, "--sub", "alice", "--ttl", "1h")
	auth := "Bearer " + token

	out, err := g.Command("usage-plans", "keys", "create", "--name", "demo", "--plan", "free", "--address", g.AdminAddr)
	if err != nil {
		t.Fatalf("usage-plans keys create: %v\n%s", err, out)
	}
	var key struct {
		ID    string `json:"id"`
		Value string `json:"value"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):strings.LastIndex(out, "}")+1]), &key); err != nil || key.Value == "" {
		t.Fatalf("keys create printed %q (%v)", out, err)
	}

	// A token alone is not enough on /api/*.
	resp := g.Do("GET", "/api/hello", nil, "Authorization", auth)
	if body := readBody(t, resp); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"Forbidden"`) {
		t.Fatalf("no API key: %d %s, want 403 Forbidden", resp.StatusCode, body)
	}
	// An API key alone is not enough either: the whole site needs a token.
	resp = g.Do("GET", "/api/hello", nil, "X-Api-Key", key.Value)
	if readBody(t, resp); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %d, want 401", resp.StatusCode)
	}

	resp = g.Do("GET", "/api/hello", nil, "Authorization", auth, "X-Api-Key", key.Value)
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token + key: %d %s", resp.StatusCode, body)
	}
	var echo struct {
		APIKey   string `json:"api_key"`
		APIKeyID string `json:"api_key_id"`
		UserID   string `json:"user_id"`
	}
	if err := json.Unmarshal([]byte(body), &echo); err != nil {
		t.Fatal(err)
	}
	if echo.APIKey != "" || echo.APIKeyID != key.ID || echo.UserID != "alice" {
		t.Fatalf("upstream saw api_key=%q api_key_id=%q user=%q; want no key, id %q, alice",
			echo.APIKey, echo.APIKeyID, echo.UserID, key.ID)
	}
	if resp.Header.Get("RateLimit-Policy") == "" || resp.Header.Get("RateLimit") == "" {
		t.Errorf("admitted response lacks RateLimit headers: %v", resp.Header)
	}

	// The free plan's burst is 10 at 5 req/s: a quick run of requests must
	// hit 429 with Retry-After well before 30 requests.
	throttled := false
	for i := 0; i < 30 && !throttled; i++ {
		resp := g.Do("GET", "/api/hello", nil, "Authorization", auth, "X-Api-Key", key.Value)
		body := readBody(t, resp)
		if resp.StatusCode == http.StatusTooManyRequests {
			throttled = true
			if resp.Header.Get("Retry-After") == "" || !strings.Contains(body, `"Too Many Requests"`) {
				t.Fatalf("429 without Retry-After or with body %s", body)
			}
		}
	}
	if !throttled {
		t.Fatal("30 quick requests never hit the free plan's throttle")
	}

	// The key lives in the embedded store: it still works after a restart.
	g.Stop()
	g.Start()
	ok := false
	for i := 0; i < 20 && !ok; i++ { // wait out the throttle
		resp := g.Do("GET", "/api/hello", nil, "Authorization", auth, "X-Api-Key", key.Value)
		readBody(t, resp)
		switch resp.StatusCode {
		case http.StatusOK:
			ok = true
		case http.StatusTooManyRequests:
			waitRetryAfter(resp)
		default:
			t.Fatalf("after restart: %d, want 200 (key kept in the embedded store)", resp.StatusCode)
		}
	}
	if !ok {
		t.Fatal("key never admitted again after restart")
	}
}

// waitRetryAfter sleeps for the response's Retry-After (at most 2 s).
func waitRetryAfter(resp *http.Response) {
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || secs < 1 {
		secs = 1
	}
	time.Sleep(time.Duration(min(secs, 2)) * time.Second)
}
