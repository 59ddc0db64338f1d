package upstream_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
	"github.com/gpugate/gpugate/modules/internal/upstream"
	"github.com/gpugate/gpugate/modules/modal"
	"github.com/gpugate/gpugate/modules/runpod"
)

// recorder is an upstream that remembers the last request's header and
// answers with headers the gateway must not pass on.
type recorder struct {
	mu     sync.Mutex
	header http.Header
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.header = r.Header.Clone()
	rec.mu.Unlock()
	w.Header().Set("Server", "uvicorn/0.30 (behind the gateway)")
	w.Header().Set("Connection", "X-Upstream-Hop")
	w.Header().Set("X-Upstream-Hop", "1")
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"pods":[],"ok":true}`))
}

func (rec *recorder) last() http.Header {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.header
}

// TestHeaderPolicyOfEveryUpstreamModule runs one table of client headers
// through every module that proxies client requests (runpod api and
// serverless, modal) and checks what the upstream received and what the
// client got back: one outbound header policy, the same everywhere.
func TestHeaderPolicyOfEveryUpstreamModule(t *testing.T) {
	t.Setenv("POLICY_TEST_KEY", "gateway-secret")
	up := &recorder{}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)

	modules := []struct {
		name    string
		path    string
		handler caddyhttp.MiddlewareHandler
		// own: the module sends requests of its own (no client header
		// but the forwarding ones is passed on by design).
		own bool
	}{
		{"runpod pods", "/pods", &runpod.Handler{Mode: runpod.ModePods, APIKey: "{env.POLICY_TEST_KEY}", BaseURL: srv.URL + "/v2"}, true},
		{"runpod api", "/pods", &runpod.Handler{Mode: runpod.ModeAPI, APIKey: "{env.POLICY_TEST_KEY}", BaseURL: srv.URL + "/v2"}, false},
		{"runpod serverless", "/jobs/echo/health", &runpod.Handler{Mode: runpod.ModeServerless, APIKey: "{env.POLICY_TEST_KEY}",
			ServerlessURL: srv.URL + "/v2", Endpoints: map[string]string{"echo": "ep-1"}}, false},
		{"modal", "/api/v1/jobs", &modal.Handler{URL: srv.URL, Bearer: "{env.POLICY_TEST_KEY}"}, false},
	}
	// Client header -> what the upstream must see ("" = absent).
	policy := []struct{ name, sent, upstream string }{
		{"Authorization", "Bearer client-jwt", "Bearer gateway-secret"},
		{"X-Api-Key", "client-api-key", ""},
		{"Cookie", "session=client", ""},
		{"Proxy-Authorization", "Basic Y2xpZW50", ""},
		{"Modal-Key", "wk-client", ""},
		{"Modal-Secret", "ws-client", ""},
		{"X-Amz-Security-Token", "client-token", ""},
		{"X-Partner-Key", "client-partner-key", ""}, // read by a key source (MarkCredentialHeader)
		{"Connection", "X-Hop-By-Name", ""},
		{"X-Hop-By-Name", "named by Connection", ""},
		{"Keep-Alive", "timeout=5", ""},
		{"Forwarded", "for=203.0.113.9", ""},
		{"X-Forwarded-For", "203.0.113.9", "192.0.2.1"}, // the peer as the gateway saw it
		{"X-Forwarded-Host", "evil.example", "gw.example"},
		{"X-Forwarded-Proto", "https", "http"},
		{"X-Real-Ip", "203.0.113.9", ""},
		{"Accept", "application/json", "application/json"},
		{"X-Request-Id", "req-1", "req-1"},
	}
	for _, m := range modules {
		t.Run(m.name, func(t *testing.T) {
			ctx := adapttest.Context(t)
			if err := m.handler.(caddy.Provisioner).Provision(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = m.handler.(caddy.CleanerUpper).Cleanup() })

			req := httptest.NewRequest("GET", "http://gw.example"+m.path, nil)
			for _, p := range policy {
				req.Header.Set(p.name, p.sent)
			}
			w := httptest.NewRecorder()
			req = caddyhttp.PrepareRequest(req, caddy.NewReplacer(), w, &caddyhttp.Server{})
			upstream.MarkCredentialHeader(req, "X-Partner-Key")
			if err := m.handler.ServeHTTP(w, req, caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })); err != nil {
				t.Fatal(err)
			}
			if w.Code != http.StatusOK {
				t.Fatalf("status %d %s", w.Code, w.Body)
			}
			got := up.last()
			for _, p := range policy {
				if m.own && (p.name == "Accept" || p.name == "X-Request-Id") {
					continue // the module's own request carries its own or none
				}
				if v := strings.Join(got.Values(p.name), ","); v != p.upstream {
					t.Errorf("upstream header %s = %q, want %q", p.name, v, p.upstream)
				}
			}
			for name, vals := range got {
				for _, v := range vals {
					if strings.Contains(v, "client") && name != "X-Hop-By-Name" {
						t.Errorf("a client credential reached the upstream in %s: %q", name, v)
					}
				}
			}
			for _, name := range []string{"X-Upstream-Hop", "Keep-Alive"} {
				if v := w.Header().Get(name); v != "" {
					t.Errorf("client got the upstream's hop-by-hop header %s: %q", name, v)
				}
			}
			if v := w.Header().Get("Server"); strings.Contains(v, "uvicorn") {
				t.Errorf("client got the upstream's Server header %q", v)
			}
		})
	}
}
