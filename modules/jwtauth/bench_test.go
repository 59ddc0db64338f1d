package jwtauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/golang-jwt/jwt/v5"
	"github.com/gpugate/gpugate/tests/testkit"
)

// benchCase is one algorithm with its handler source and a signed token.
type benchCase struct {
	name   string
	source SourceConfig
	token  string
}

func benchCases(b *testing.B) []benchCase {
	rsaKey, ecKey := testkit.RSAKey(b), testkit.ECKey(b)
	claims := testkit.StandardClaims("alice", "https://idp.example/", "api")
	claims["scope"] = "pods:read pods:write"
	return []benchCase{
		{"HS256", SourceConfig{Secret: testSecretRef}, testkit.SignHS256(b, testSecret, claims)},
		{"RS256", SourceConfig{PublicKey: writePublicKey(b, rsaKey.Public())}, testkit.Sign(b, jwt.SigningMethodRS256, rsaKey, "", claims)},
		{"ES256", SourceConfig{PublicKey: writePublicKey(b, ecKey.Public())}, testkit.Sign(b, jwt.SigningMethodES256, ecKey, "", claims)},
	}
}

// BenchmarkVerify measures token verification with the cache hit (the
// same token again) and missed (cache off: full signature and claim
// checks every time).
func BenchmarkVerify(b *testing.B) {
	for _, c := range benchCases(b) {
		for _, mode := range []struct {
			name string
			size int
		}{{"cache_hit", DefaultCacheSize}, {"cache_miss", 0}} {
			b.Run(c.name+"/"+mode.name, func(b *testing.B) {
				h := provision(b, &Handler{Sources: []SourceConfig{c.source}, Issuers: []string{"https://idp.example/"},
					Audiences: []string{"api"}, CacheSize: intPtr(mode.size)})
				ctx := context.Background()
				if _, rej := h.identify(ctx, c.token); rej != nil {
					b.Fatal(rej.description)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if _, rej := h.identify(ctx, c.token); rej != nil {
						b.Fatal(rej.description)
					}
				}
			})
		}
	}
}

// BenchmarkServeHTTP measures the whole handler (token lookup, cache hit,
// scope check, header cleanup, placeholders) for an RS256 token.
func BenchmarkServeHTTP(b *testing.B) {
	c := benchCases(b)[1]
	h := provision(b, &Handler{Sources: []SourceConfig{c.source}, RequireScopes: []string{"pods:read"},
		ClaimHeaders: []ClaimHeader{{Claim: "sub", Header: "X-User-Id"}}})
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodGet, "https://gw.example/pods", nil)
		r.Header.Set("Authorization", "Bearer "+c.token)
		r, _ = caddyRequest(r)
		if err := h.ServeHTTP(w, r, next); err != nil || r.Header.Get("X-User-Id") != "alice" {
			b.Fatal("not authenticated", err)
		}
	}
}
