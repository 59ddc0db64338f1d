package modal

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
)

// Secrets the tests put into the environment.
const (
	testBearer      = "sk-multitalk-test-key"
	testProxyKey    = "wk-test-key"
	testProxySecret = "ws-test-secret"
)

func setSecrets(t *testing.T) {
	t.Setenv("MODALTEST_BEARER", testBearer)
	t.Setenv("MODALTEST_KEY", testProxyKey)
	t.Setenv("MODALTEST_SECRET", testProxySecret)
}

// provision provisions and validates h as Caddy would, and cleans it up
// when the test ends.
func provision(t testing.TB, h *Handler) *Handler {
	t.Helper()
	ctx := adapttest.Context(t)
	t.Cleanup(func() { _ = h.Cleanup() })
	if err := h.Provision(ctx); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	if err := h.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return h
}

// do runs one request through h and returns the recorded response.
func do(h *Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	_ = h.ServeHTTP(rec, req, nil)
	return rec
}

// serveOverHTTP puts h behind a real HTTP server (for streaming tests).
func serveOverHTTP(t testing.TB, h *Handler) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = h.ServeHTTP(w, r, nil)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func request(method, target, body string, headers ...string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	return req
}

func wantStatus(t testing.TB, rec *httptest.ResponseRecorder, status int, bodyContains string) {
	t.Helper()
	if rec.Code != status || !strings.Contains(rec.Body.String(), bodyContains) {
		t.Fatalf("got %d %q, want %d containing %q", rec.Code, rec.Body.String(), status, bodyContains)
	}
}

// provisionErr provisions h and returns the error (and cleans up, as Caddy
// does after a failed Provision).
func provisionErr(t testing.TB, h *Handler) error {
	t.Helper()
	err := h.Provision(adapttest.Context(t))
	if cerr := h.Cleanup(); cerr != nil {
		t.Errorf("Cleanup after Provision: %v", cerr)
	}
	return err
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
