package jwtauth

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
)

// testSecret is a 32-byte HS256 key.
const testSecret = "test-secret-0123456789-abcdefghij"

// testSecretRef is how a config names testSecret: secrets are placeholders,
// never literals (TestMain sets the variable).
const testSecretRef = "{env.JWTAUTH_TEST_SECRET}"

func TestMain(m *testing.M) {
	os.Setenv("JWTAUTH_TEST_SECRET", testSecret)
	os.Exit(m.Run())
}

// provision provisions h in a fresh caddy.Context and cleans it up when
// the test ends.
func provision(t testing.TB, h *Handler) *Handler {
	t.Helper()
	ctx := adapttest.Context(t)
	t.Cleanup(func() { _ = h.Cleanup() })
	if err := h.Provision(ctx); err != nil {
		t.Fatalf("provision: %v", err)
	}
	if err := h.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	return h
}

// provisionErr provisions h and returns the error.
func provisionErr(t testing.TB, h *Handler) error {
	t.Helper()
	err := h.Provision(adapttest.Context(t))
	_ = h.Cleanup()
	return err
}

// outcome is what a request produced: the response, and the request that
// reached the next handler (nil when jwt_auth answered itself).
type outcome struct {
	resp     *http.Response
	body     string
	upstream *http.Request
	repl     *caddy.Replacer
}

// serve runs one request through h in front of a handler that records it.
func serve(t testing.TB, h caddyhttp.MiddlewareHandler, r *http.Request) outcome {
	t.Helper()
	r, repl := caddyRequest(r)
	var out outcome
	out.repl = repl
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		out.upstream = r
		w.WriteHeader(http.StatusOK)
		return nil
	})
	rec := httptest.NewRecorder()
	if err := h.ServeHTTP(rec, r, next); err != nil {
		t.Fatalf("ServeHTTP returned %v; failures must be written, not returned", err)
	}
	out.resp = rec.Result()
	b, _ := io.ReadAll(out.resp.Body)
	out.body = string(b)
	return out
}

// bearer builds a GET request with Authorization: Bearer token.
func bearer(token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://gw.example/pods", nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return r
}

// writePEM writes a public key (or any DER block) to a temporary file.
func writePEM(t testing.TB, blockType string, der []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// writePublicKey writes pub as a PKIX PUBLIC KEY PEM file.
func writePublicKey(t testing.TB, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, "PUBLIC KEY", der)
}

func intPtr(n int) *int { return &n }

func caddyDuration(d time.Duration) caddy.Duration { return caddy.Duration(d) }

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// chainHandlers runs a, then b, then the final handler.
func chainHandlers(a, b caddyhttp.MiddlewareHandler) caddyhttp.MiddlewareHandler {
	return middlewareFunc(func(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
		return a.ServeHTTP(w, r, caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			return b.ServeHTTP(w, r, next)
		}))
	})
}

type middlewareFunc func(http.ResponseWriter, *http.Request, caddyhttp.Handler) error

func (f middlewareFunc) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return f(w, r, next)
}

// caddyRequest gives r the context a Caddy server gives a request: a
// replacer and the extra log fields {http.request.uuid} needs.
func caddyRequest(r *http.Request) (*http.Request, *caddy.Replacer) {
	r = r.WithContext(context.WithValue(r.Context(), caddyhttp.ExtraLogFieldsCtxKey, new(caddyhttp.ExtraLogFields)))
	repl := caddyhttp.NewTestReplacer(r)
	return r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl)), repl
}
