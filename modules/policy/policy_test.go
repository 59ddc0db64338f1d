package policy

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
)

// serve runs r through a provisioned policy and returns the response and
// the request the next handler saw (nil when the policy answered).
func serve(t *testing.T, h *Handler, r *http.Request) (*httptest.ResponseRecorder, *http.Request) {
	t.Helper()
	w := httptest.NewRecorder()
	r = caddyhttp.PrepareRequest(r, caddy.NewReplacer(), w, &caddyhttp.Server{})
	var seen *http.Request
	next := caddyhttp.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) error { seen = r; return nil })
	if err := h.ServeHTTP(w, r, next); err != nil {
		t.Fatal(err)
	}
	return w, seen
}

func provisioned(t *testing.T, protected ...string) *Handler {
	t.Helper()
	h := &Handler{ProtectedHeaders: protected}
	if err := h.Provision(adapttest.Context(t)); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestClientCopiesOfInjectedHeadersAreDeleted(t *testing.T) {
	t.Parallel()
	h := provisioned(t, "X-User-Id", "x-api-key-id")
	r := httptest.NewRequest("GET", "/api/x", nil)
	r.Header["X-User-Id"] = []string{"admin", "root"} // duplicates
	r.Header["x-user-id"] = []string{"lower"}         // a key Go did not canonicalise (set by hand)
	r.Header["X_User_Id"] = []string{"underscore"}    // what nginx or CGI read as X-User-Id
	r.Header.Set("X-Api-Key-Id", "forged")
	r.Header.Set("Connection", "X-User-Id, keep-alive, X-Api-Key-Id")
	r.Header.Set("Accept", "application/json")
	_, seen := serve(t, h, r)
	if seen == nil {
		t.Fatal("the request did not pass")
	}
	for name := range seen.Header {
		if fold(name) == "x-user-id" || fold(name) == "x-api-key-id" {
			t.Errorf("client copy %s: %q reached the next handler", name, seen.Header[name])
		}
	}
	if got := seen.Header.Get("Connection"); got != "keep-alive" {
		t.Errorf("Connection = %q, want only keep-alive (tokens naming injected headers removed)", got)
	}
	if seen.Header.Get("Accept") != "application/json" {
		t.Error("an ordinary header was removed")
	}
}

func TestNonCanonicalPathsAre400(t *testing.T) {
	t.Parallel()
	h := provisioned(t)
	for _, target := range []string{"/api/generate;x", "/api/generate%20", "/%61pi/v1/generate", "/api/..;/admin",
		"/api/%252e%252e/admin", "/api/%C0%AE%C0%AE/x", "/api//generate"} {
		r := httptest.NewRequest("POST", "/", nil)
		r.URL.RawPath, r.URL.Path = target, "" // EscapedPath returns RawPath when it is a valid encoding
		if p, err := decodeForTest(target); err == nil {
			r.URL.Path = p
		}
		w, seen := serve(t, h, r)
		if seen != nil || w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"message":"Invalid request path`) ||
			w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s (passed on: %v), want 400 with a JSON message", target, w.Code, w.Body, seen != nil)
		}
	}
	if _, seen := serve(t, h, httptest.NewRequest("POST", "/api/v1/generate", nil)); seen == nil {
		t.Error("a canonical path was refused")
	}
}

// decodeForTest is url.PathUnescape for building requests.
func decodeForTest(s string) (string, error) { return url.PathUnescape(s) }

// TestProtectedHeaderFolding: the allocation-free fold agrees with fold
// for every kind of name, including ones longer than its buffer and ones
// that are not ASCII.
func TestProtectedHeaderFolding(t *testing.T) {
	t.Parallel()
	long := "X-" + strings.Repeat("Long-", 20) + "Id"
	h := provisioned(t, "X-User-Id", long, "X-Key-Id")
	for name, want := range map[string]bool{
		"X-User-Id": true, "x_user_id": true, "X_USER_ID": true, "X-User-Idx": false, "Accept": false, "": false,
		strings.ToUpper(long): true, strings.ReplaceAll(long, "-", "_"): true, long + "x": false,
		"X-\u212Aey-Id": true, // the Kelvin sign lowercases to k
		"X-Ключ-Id":     false,
	} {
		if got := h.isProtected(name); got != want || got != h.folded[fold(name)] {
			t.Errorf("isProtected(%q) = %v, want %v (fold: %v)", name, got, want, h.folded[fold(name)])
		}
	}
}

// BenchmarkServeHTTP is the policy on an ordinary proxied request: a
// canonical path, a few client headers, none of them protected.
func BenchmarkServeHTTP(b *testing.B) {
	h := &Handler{ProtectedHeaders: []string{"Forwarded", "X-Real-Ip", "X-User-Id", "X-Gpugate-Key-Id"}}
	if err := h.Provision(adapttest.Context(b)); err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/v2/pods/abc123/status", nil)
	for _, name := range []string{"Authorization", "X-Api-Key", "User-Agent", "Accept", "Accept-Encoding"} {
		r.Header.Set(name, "v")
	}
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		if err := h.ServeHTTP(w, r, next); err != nil {
			b.Fatal(err)
		}
	}
}
