package cors

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/gpugate/gpugate/modules/gwerror"
	"github.com/gpugate/gpugate/modules/internal/adapttest"
)

func newHandler(t testing.TB, h *Handler) *Handler {
	t.Helper()
	if err := h.Provision(adapttest.Context(t)); err != nil {
		t.Fatal(err)
	}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	return h
}

// browserApp is the policy of a browser front end on example.com.
func browserApp(t testing.TB) *Handler {
	return newHandler(t, &Handler{
		Origins:       []string{"https://app.example.com", "https://*.example.com", "http://localhost:3000"},
		Methods:       []string{"GET", "POST", "DELETE"},
		Headers:       []string{"content-type", "Authorization", "X-Api-Key"},
		ExposeHeaders: []string{"RateLimit", "Retry-After", "X-Request-Id"},
		Credentials:   true,
		MaxAge:        caddy.Duration(10 * time.Minute),
	})
}

// counter is a next handler that counts calls and answers 200.
type counter struct{ calls int }

func (c *counter) ServeHTTP(w http.ResponseWriter, _ *http.Request) error {
	c.calls++
	w.WriteHeader(http.StatusOK)
	return nil
}

func TestOriginMatching(t *testing.T) {
	t.Parallel()
	m, err := newOriginMatcher([]string{"https://app.example.com", "https://*.example.com", "http://localhost:3000", "https://API.Other.org:443"})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]bool{
		"https://app.example.com":         true,
		"https://APP.example.com":         true,
		"https://a.b.example.com":         true,
		"https://x-1.example.com":         true,
		"http://localhost:3000":           true,
		"https://api.other.org":           true, // configured with the default port
		"https://example.com":             false,
		"http://app.example.com":          false,
		"https://app.example.com:8443":    false,
		"https://evilexample.com":         false,
		"https://app.example.com.evil.io": false,
		"https://.example.com":            false,
		"https://a..example.com":          false,
		"https://a/b.example.com":         false,
		"https://a@b.example.com":         false,
		"http://localhost:3001":           false,
		"null":                            false,
		"":                                false,
	}
	for origin, want := range cases {
		if got := m.allowed(origin); got != want {
			t.Errorf("allowed(%q) = %v, want %v", origin, got, want)
		}
	}
	any, _ := newOriginMatcher([]string{"*"})
	if !any.allowed("https://anything.example") {
		t.Error("* does not allow every origin")
	}
}

func TestParseOriginErrors(t *testing.T) {
	t.Parallel()
	for _, o := range []string{"null", "app.example.com", "https://", "https://a.example.com/x", "https://a.example.com/",
		"https://*.com", "https://*.co.uk", "https://*.github.io", "https://a.*.example.com", "https://*", "ws://a.example.com",
		"https://user@a.example.com", "https://a_b.example.com", "https://a.example.com?x=1"} {
		if _, _, err := ParseOrigin(o); err == nil {
			t.Errorf("ParseOrigin(%q) accepted an invalid origin", o)
		} else if !strings.Contains(err.Error(), "write ") {
			t.Errorf("ParseOrigin(%q): %v does not say what to write instead", o, err)
		}
	}
}

func TestPreflight(t *testing.T) {
	t.Parallel()
	h := browserApp(t)
	next := &counter{}
	r := httptest.NewRequest(http.MethodOptions, "/api/v1/generate", nil)
	r.Header.Set("Origin", "https://studio.example.com")
	r.Header.Set("Access-Control-Request-Method", "POST")
	r.Header.Set("Access-Control-Request-Headers", "content-type,x-api-key")
	w := httptest.NewRecorder()
	if err := h.ServeHTTP(w, r, next); err != nil {
		t.Fatal(err)
	}
	if next.calls != 0 {
		t.Fatal("preflight reached the next handler (auth, quota)")
	}
	want := map[string]string{
		"Access-Control-Allow-Origin":      "https://studio.example.com",
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Methods":     "GET, POST, DELETE",
		"Access-Control-Allow-Headers":     "content-type, Authorization, X-Api-Key",
		"Access-Control-Max-Age":           "600",
	}
	if w.Code != http.StatusNoContent {
		t.Errorf("status %d", w.Code)
	}
	for k, v := range want {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if vary := strings.Join(w.Header().Values("Vary"), ", "); !strings.Contains(vary, "Origin") || !strings.Contains(vary, "Access-Control-Request-Method") {
		t.Errorf("Vary = %q", vary)
	}
}

func TestPreflightFromDisallowedOrigin(t *testing.T) {
	t.Parallel()
	h := browserApp(t)
	next := &counter{}
	r := httptest.NewRequest(http.MethodOptions, "/api/v1/generate", nil)
	r.Header.Set("Origin", "https://evil.example.net")
	r.Header.Set("Access-Control-Request-Method", "POST")
	w := httptest.NewRecorder()
	_ = h.ServeHTTP(w, r, next)
	if next.calls != 0 || w.Code != http.StatusNoContent {
		t.Fatalf("calls %d status %d", next.calls, w.Code)
	}
	for k := range w.Header() {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Errorf("disallowed origin got %s", k)
		}
	}
}

func TestPlainOptionsIsNotAPreflight(t *testing.T) {
	t.Parallel()
	h := browserApp(t)
	next := &counter{}
	r := httptest.NewRequest(http.MethodOptions, "/api/v1/generate", nil)
	r.Header.Set("Origin", "https://app.example.com")
	_ = h.ServeHTTP(httptest.NewRecorder(), r, next)
	if next.calls != 1 {
		t.Fatal("an OPTIONS request without Access-Control-Request-Method must reach the next handler")
	}
}

func TestWildcardOriginAndHeaders(t *testing.T) {
	t.Parallel()
	h := newHandler(t, &Handler{Origins: []string{"*"}, Headers: []string{"*"}})
	r := httptest.NewRequest(http.MethodOptions, "/", nil)
	r.Header.Set("Origin", "https://anyone.example")
	r.Header.Set("Access-Control-Request-Method", "PUT")
	r.Header.Set("Access-Control-Request-Headers", "x-custom, content-type")
	w := httptest.NewRecorder()
	_ = h.ServeHTTP(w, r, &counter{})
	if got := w.Header().Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("Allow-Origin %q, want *", got)
	}
	if got := w.Header().Get("Access-Control-Allow-Headers"); got != "x-custom, content-type" {
		t.Errorf("Allow-Headers %q", got)
	}
	if w.Header().Get("Access-Control-Allow-Credentials") != "" {
		t.Error("credentials sent without being configured")
	}
	if got := w.Header().Get("Access-Control-Allow-Methods"); got != "GET, HEAD, POST" {
		t.Errorf("default methods %q", got)
	}
}

// upstreamWithCORS sets its own CORS headers, as many upstream apps do.
type upstreamWithCORS struct{}

func (upstreamWithCORS) ServeHTTP(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Add("Access-Control-Allow-Origin", "*")
	w.Header().Add("Access-Control-Allow-Methods", "PUT")
	w.Header().Add("Vary", "Accept-Encoding")
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true}`))
	return nil
}

func TestActualRequestHeadersWinOverUpstream(t *testing.T) {
	t.Parallel()
	h := browserApp(t)
	r := httptest.NewRequest(http.MethodPost, "/api/v1/generate", nil)
	r.Header.Set("Origin", "https://app.example.com")
	w := httptest.NewRecorder()
	_ = h.ServeHTTP(w, r, upstreamWithCORS{})
	hdr := w.Header()
	if v := hdr.Values("Access-Control-Allow-Origin"); len(v) != 1 || v[0] != "https://app.example.com" {
		t.Errorf("Allow-Origin %q, want exactly the request origin", v)
	}
	if hdr.Get("Access-Control-Allow-Methods") != "" {
		t.Error("upstream's preflight header leaked into an actual response")
	}
	if hdr.Get("Access-Control-Expose-Headers") != "RateLimit, Retry-After, X-Request-Id" {
		t.Errorf("Expose-Headers %q", hdr.Get("Access-Control-Expose-Headers"))
	}
	if vary := strings.Join(hdr.Values("Vary"), ", "); vary != "Origin, Accept-Encoding" {
		t.Errorf("Vary %q", vary)
	}
}

func TestDisallowedOriginGetsNoCORSHeaders(t *testing.T) {
	t.Parallel()
	h := browserApp(t)
	r := httptest.NewRequest(http.MethodGet, "/api/v1/jobs/1", nil)
	r.Header.Set("Origin", "https://evil.example.net")
	w := httptest.NewRecorder()
	_ = h.ServeHTTP(w, r, upstreamWithCORS{})
	if w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Error("a disallowed origin was granted access (upstream's * must not pass)")
	}
	if w.Header().Get("Vary") == "" {
		t.Error("no Vary: Origin")
	}
}

// gatewayError rejects the request through gwerror, like jwt_auth does.
type gatewayError struct{ typ gwerror.Type }

func (g gatewayError) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	(*gwerror.Writer)(nil).Write(w, r, gwerror.Response{Type: g.typ, Header: http.Header{"Retry-After": {"3"}}})
	return nil
}

func TestCORSHeadersOnGatewayErrors(t *testing.T) {
	t.Parallel()
	h := browserApp(t)
	for _, typ := range []gwerror.Type{gwerror.Unauthorized, gwerror.AccessDenied, gwerror.Throttled, gwerror.IntegrationTimeout} {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/generate", nil)
		r.Header.Set("Origin", "https://app.example.com")
		w := httptest.NewRecorder()
		_ = h.ServeHTTP(w, r, gatewayError{typ})
		if w.Code != gwerror.DefaultOf(typ).Status {
			t.Errorf("%s: status %d", typ, w.Code)
		}
		if w.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
			w.Header().Get("Access-Control-Allow-Credentials") != "true" ||
			!strings.Contains(w.Header().Get("Access-Control-Expose-Headers"), "Retry-After") {
			t.Errorf("%s: CORS headers missing on the error: %v", typ, w.Header())
		}
	}
}

// failing returns an error without writing, leaving the response to Caddy.
type failing struct{}

func (failing) ServeHTTP(http.ResponseWriter, *http.Request) error {
	return caddyhttp.Error(http.StatusBadGateway, nil)
}

func TestCORSHeadersSetBeforeNextFails(t *testing.T) {
	t.Parallel()
	h := browserApp(t)
	r := httptest.NewRequest(http.MethodGet, "/api/v1/jobs/1", nil)
	r.Header.Set("Origin", "https://app.example.com")
	w := httptest.NewRecorder()
	if err := h.ServeHTTP(w, r, failing{}); err == nil {
		t.Fatal("the error of next was swallowed")
	}
	if w.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Error("CORS headers not in place for Caddy's error response")
	}
}

func TestNoOriginAddsOnlyVary(t *testing.T) {
	t.Parallel()
	h := browserApp(t)
	w := httptest.NewRecorder()
	_ = h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil), &counter{})
	if w.Header().Get("Vary") != "Origin" || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("headers %v", w.Header())
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	bad := []Handler{
		{Origins: []string{"*"}, Credentials: true},
		{},
		{Origins: []string{"https://a.example.com"}, ExposeHeaders: []string{"*"}, Credentials: true},
		{Origins: []string{"https://a.example.com"}, Headers: []string{"X Bad"}},
	}
	for i, h := range bad {
		if err := h.Validate(); err == nil {
			t.Errorf("case %d: invalid configuration accepted", i)
		}
	}
}

// copying answers through io.Copy (ReadFrom) and flushes, without an
// explicit WriteHeader.
type copying struct{}

func (copying) ServeHTTP(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, err := io.Copy(w, strings.NewReader("streamed"))
	http.NewResponseController(w).Flush()
	return err
}

func TestHeadersFinalWithReadFromAndFlush(t *testing.T) {
	t.Parallel()
	h := browserApp(t)
	r := httptest.NewRequest(http.MethodGet, "/api/v1/jobs/1", nil)
	r.Header.Set("Origin", "https://app.example.com")
	w := httptest.NewRecorder()
	if err := h.ServeHTTP(w, r, copying{}); err != nil {
		t.Fatal(err)
	}
	if v := w.Result().Header.Values("Access-Control-Allow-Origin"); len(v) != 1 || v[0] != "https://app.example.com" || w.Body.String() != "streamed" || !w.Flushed {
		t.Fatalf("Allow-Origin %q body %q flushed %v", v, w.Body, w.Flushed)
	}
}
