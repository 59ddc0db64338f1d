package jwtauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/golang-jwt/jwt/v5"
	"github.com/gpugate/gpugate/tests/testkit"
)

// hsHandler is a handler with one HS256 secret.
func hsHandler(t testing.TB, tweak func(h *Handler)) *Handler {
	h := &Handler{Sources: []SourceConfig{{Secret: testSecretRef}}}
	if tweak != nil {
		tweak(h)
	}
	return provision(t, h)
}

func wantUnauthorized(t *testing.T, out outcome, description string) {
	t.Helper()
	if out.resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status = %d, want 401 (body %s)", out.resp.StatusCode, out.body)
	}
	if out.body != "{\"message\":\"Unauthorized\"}\n" || out.resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("body = %q (%s), want {\"message\":\"Unauthorized\"} as JSON", out.body, out.resp.Header.Get("Content-Type"))
	}
	got := out.resp.Header.Get("WWW-Authenticate")
	if description == "" {
		if got != "Bearer" {
			t.Errorf("WWW-Authenticate = %q, want a bare Bearer challenge", got)
		}
	} else if !strings.HasPrefix(got, `Bearer error="invalid_token", error_description="`) || !strings.Contains(got, description) {
		t.Errorf("WWW-Authenticate = %q, want invalid_token mentioning %q", got, description)
	}
	if out.upstream != nil {
		t.Error("a refused request reached the upstream")
	}
}

func wantOK(t *testing.T, out outcome) {
	t.Helper()
	if out.resp.StatusCode != http.StatusOK || out.upstream == nil {
		t.Fatalf("status = %d, body %s, WWW-Authenticate %q; want the request passed on",
			out.resp.StatusCode, out.body, out.resp.Header.Get("WWW-Authenticate"))
	}
}

func TestHS256AcceptedAndAuthorizationRemoved(t *testing.T) {
	h := hsHandler(t, func(h *Handler) {
		h.ClaimHeaders = []ClaimHeader{{Claim: "sub", Header: "X-User-Id"}, {Claim: "org.id", Header: "X-Org-Id"}}
	})
	claims := testkit.StandardClaims("alice", "", "")
	claims["org"] = map[string]any{"id": "acme", "tier": 3}
	claims["groups"] = []any{"admin", "ops"}
	claims["id"] = "not-the-user-id" // {http.auth.user.id} stays the user id
	r := bearer(testkit.SignHS256(t, testSecret, claims))
	r.Header.Set("X-User-Id", "mallory") // a forged copy
	r.Header.Add("X-Org-Id", "evil")
	out := serve(t, h, r)
	wantOK(t, out)
	if got := out.upstream.Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization reached the upstream: %q", got)
	}
	if got := out.upstream.Header.Values("X-User-Id"); len(got) != 1 || got[0] != "alice" {
		t.Errorf("X-User-Id = %q, want only alice", got)
	}
	if got := out.upstream.Header.Values("X-Org-Id"); len(got) != 1 || got[0] != "acme" {
		t.Errorf("X-Org-Id = %q, want only acme", got)
	}
	for placeholder, want := range map[string]string{
		"{http.auth.user.id}":       "alice",
		"{http.auth.user.sub}":      "alice",
		"{http.auth.user.org.id}":   "acme",
		"{http.auth.user.org.tier}": "3",
		"{http.auth.user.groups}":   "admin,ops",
	} {
		if got := out.repl.ReplaceAll(placeholder, "<unset>"); got != want {
			t.Errorf("%s = %q, want %q", placeholder, got, want)
		}
	}
}

func TestClientCopiesOfClaimHeadersDeletedEvenWhenClaimAbsent(t *testing.T) {
	h := hsHandler(t, func(h *Handler) { h.ClaimHeaders = []ClaimHeader{{Claim: "tenant", Header: "X-Tenant"}} })
	r := bearer(testkit.SignHS256(t, testSecret, testkit.StandardClaims("alice", "", "")))
	r.Header.Set("X-Tenant", "someone-else")
	out := serve(t, h, r)
	wantOK(t, out)
	if got := out.upstream.Header.Get("X-Tenant"); got != "" {
		t.Errorf("client-supplied X-Tenant reached the upstream: %q", got)
	}
}

func TestKeepAuthorization(t *testing.T) {
	h := hsHandler(t, func(h *Handler) { h.KeepAuthorization = true })
	token := testkit.SignHS256(t, testSecret, testkit.StandardClaims("alice", "", ""))
	out := serve(t, h, bearer(token))
	wantOK(t, out)
	if got := out.upstream.Header.Get("Authorization"); got != "Bearer "+token {
		t.Errorf("Authorization = %q, want it kept", got)
	}
}

func TestMissingToken(t *testing.T) {
	h := hsHandler(t, nil)
	wantUnauthorized(t, serve(t, h, bearer("")), "")
	r := bearer("")
	r.Header.Set("Authorization", "Basic YWxpY2U6c2VjcmV0")
	wantUnauthorized(t, serve(t, h, r), "")
}

func TestTimeClaims(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	now := clock.Now()
	tokenWith := func(iat, nbf, exp time.Time) string {
		c := testkit.Claims{"sub": "alice", "iat": iat.Unix(), "nbf": nbf.Unix()}
		if !exp.IsZero() {
			c["exp"] = exp.Unix()
		}
		return testkit.SignHS256(t, testSecret, c)
	}
	strict := provision(t, &Handler{Sources: []SourceConfig{{Secret: testSecretRef}}, now: clock.Now})
	lenient := provision(t, &Handler{Sources: []SourceConfig{{Secret: testSecretRef}}, Leeway: caddyDuration(time.Minute), now: clock.Now})
	cases := []struct {
		name        string
		token       string
		strictWant  string // "" = accepted
		lenientWant string
	}{
		{"valid", tokenWith(now.Add(-time.Minute), now.Add(-time.Minute), now.Add(time.Hour)), "", ""},
		{"expired 30s ago", tokenWith(now.Add(-time.Hour), now.Add(-time.Hour), now.Add(-30*time.Second)), "expired", ""},
		{"expired 2m ago", tokenWith(now.Add(-time.Hour), now.Add(-time.Hour), now.Add(-2*time.Minute)), "expired", "expired"},
		{"not valid for 30s", tokenWith(now, now.Add(30*time.Second), now.Add(time.Hour)), "not valid yet", ""},
		{"issued in the future", tokenWith(now.Add(10*time.Minute), now, now.Add(time.Hour)), "issued in the future", "issued in the future"},
		{"no exp", tokenWith(now, now, time.Time{}), "no exp", "no exp"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, hc := range []struct {
				h    *Handler
				want string
			}{{strict, c.strictWant}, {lenient, c.lenientWant}} {
				out := serve(t, hc.h, bearer(c.token))
				if hc.want == "" {
					wantOK(t, out)
				} else {
					wantUnauthorized(t, out, hc.want)
				}
			}
		})
	}
}

func TestSignatureAndAlgorithmRules(t *testing.T) {
	rsaKey := testkit.RSAKey(t)
	pemPath := writePublicKey(t, rsaKey.Public())
	h := provision(t, &Handler{Sources: []SourceConfig{{PublicKey: pemPath}, {Secret: testSecretRef}}})
	claims := testkit.StandardClaims("alice", "", "")

	wantOK(t, serve(t, h, bearer(testkit.Sign(t, jwt.SigningMethodRS256, rsaKey, "", claims))))
	wantOK(t, serve(t, h, bearer(testkit.SignHS256(t, testSecret, claims))))

	other := testkit.RSAKey(t)
	wantUnauthorized(t, serve(t, h, bearer(testkit.Sign(t, jwt.SigningMethodRS256, other, "", claims))), "signature is invalid")

	// RS384 is not on the PEM key's default allow-list (RS256).
	wantUnauthorized(t, serve(t, h, bearer(testkit.Sign(t, jwt.SigningMethodRS384, rsaKey, "", claims))), "algorithm is not accepted")

	// alg none.
	none := testkit.Sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claims)
	wantUnauthorized(t, serve(t, h, bearer(none)), "algorithm is not accepted")

	// HMAC with the public key as secret (the classic confusion attack):
	// HS256 is allowed here only for the secret source.
	pemBytes := readFile(t, pemPath)
	confused := testkit.Sign(t, jwt.SigningMethodHS256, pemBytes, "", claims)
	wantUnauthorized(t, serve(t, h, bearer(confused)), "signature is invalid")

	// A tampered payload.
	good := testkit.SignHS256(t, testSecret, claims)
	parts := strings.Split(good, ".")
	evil := testkit.SignHS256(t, testSecret, testkit.StandardClaims("root", "", ""))
	wantUnauthorized(t, serve(t, h, bearer(parts[0]+"."+strings.Split(evil, ".")[1]+"."+parts[2])), "signature is invalid")

	// Garbage.
	wantUnauthorized(t, serve(t, h, bearer("not.a.jwt")), "malformed")
	wantUnauthorized(t, serve(t, h, bearer(strings.Repeat("a", maxTokenBytes+1))), "too large")
}

func TestEmbeddedKeyHeadersAreNeverFollowed(t *testing.T) {
	jwks := testkit.StartJWKS(t)
	attacker := testkit.RSAKey(t)
	h := provision(t, &Handler{Sources: []SourceConfig{{PublicKey: writePublicKey(t, testkit.RSAKey(t).Public())}}})
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, testkit.StandardClaims("alice", "", ""))
	tok.Header["jku"] = jwks.JWKSURL()
	tok.Header["x5u"] = jwks.JWKSURL()
	tok.Header["jwk"] = map[string]any{"kty": "RSA", "n": "AQAB", "e": "AQAB"}
	signed, err := tok.SignedString(attacker)
	if err != nil {
		t.Fatal(err)
	}
	wantUnauthorized(t, serve(t, h, bearer(signed)), "signature is invalid")
	if jwks.Fetches() != 0 {
		t.Errorf("the gateway fetched a URL named by the token (%d fetches)", jwks.Fetches())
	}
}

func TestCritHeaderRejected(t *testing.T) {
	h := hsHandler(t, nil)
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, testkit.StandardClaims("alice", "", ""))
	tok.Header["crit"] = []string{"exp"}
	signed, _ := tok.SignedString([]byte(testSecret))
	wantUnauthorized(t, serve(t, h, bearer(signed)), "critical header")
}

func TestPublicKeyTypes(t *testing.T) {
	rsaKey, ecKey, edKey := testkit.RSAKey(t), testkit.ECKey(t), testkit.EdKey(t)
	claims := testkit.StandardClaims("alice", "", "")
	cases := []struct {
		name   string
		pub    any
		method jwt.SigningMethod
		key    any
	}{
		{"RS256", rsaKey.Public(), jwt.SigningMethodRS256, rsaKey},
		{"ES256", ecKey.Public(), jwt.SigningMethodES256, ecKey},
		{"EdDSA", edKey.Public(), jwt.SigningMethodEdDSA, edKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := provision(t, &Handler{Sources: []SourceConfig{{PublicKey: writePublicKey(t, c.pub)}}})
			wantOK(t, serve(t, h, bearer(testkit.Sign(t, c.method, c.key, "", claims))))
		})
	}
	t.Run("PS256 when listed", func(t *testing.T) {
		h := provision(t, &Handler{Sources: []SourceConfig{{PublicKey: writePublicKey(t, rsaKey.Public()), Algorithms: []string{"PS256"}}}})
		wantOK(t, serve(t, h, bearer(testkit.Sign(t, jwt.SigningMethodPS256, rsaKey, "", claims))))
		wantUnauthorized(t, serve(t, h, bearer(testkit.Sign(t, jwt.SigningMethodRS256, rsaKey, "", claims))), "algorithm is not accepted")
	})
}

func TestIssuerAndAudience(t *testing.T) {
	h := hsHandler(t, func(h *Handler) {
		h.Issuers = []string{"https://a.example/", "https://b.example/"}
		h.Audiences = []string{"api-1", "api-2"}
	})
	sign := func(c testkit.Claims) string { return testkit.SignHS256(t, testSecret, c) }
	wantOK(t, serve(t, h, bearer(sign(testkit.StandardClaims("alice", "https://b.example/", "api-2")))))
	multi := testkit.StandardClaims("alice", "https://a.example/", "")
	multi["aud"] = []string{"other", "api-1"}
	wantOK(t, serve(t, h, bearer(sign(multi))))
	cognitoAccess := testkit.StandardClaims("alice", "https://a.example/", "")
	cognitoAccess["client_id"] = "api-1"
	wantOK(t, serve(t, h, bearer(sign(cognitoAccess))))
	wantUnauthorized(t, serve(t, h, bearer(sign(testkit.StandardClaims("alice", "https://evil.example/", "api-1")))), "issuer")
	wantUnauthorized(t, serve(t, h, bearer(sign(testkit.StandardClaims("alice", "https://a.example/", "api-3")))), "audience")
	wantUnauthorized(t, serve(t, h, bearer(sign(testkit.StandardClaims("alice", "https://a.example/", "")))), "audience")
}

func TestRequiredClaimsUserClaimAndTyp(t *testing.T) {
	h := hsHandler(t, func(h *Handler) {
		h.RequireClaims = []string{"email", "realm_access.roles"}
		h.UserClaim = "email"
		h.Typ = "at+jwt"
	})
	full := testkit.StandardClaims("u-1", "", "")
	full["email"] = "alice@example.com"
	full["realm_access"] = map[string]any{"roles": []any{"user"}}
	signTyp := func(c testkit.Claims, typ string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
		tok.Header["typ"] = typ
		s, _ := tok.SignedString([]byte(testSecret))
		return s
	}
	out := serve(t, h, bearer(signTyp(full, "application/at+JWT")))
	wantOK(t, out)
	if got := out.repl.ReplaceAll("{http.auth.user.id}", ""); got != "alice@example.com" {
		t.Errorf("user id = %q, want the email claim", got)
	}
	wantUnauthorized(t, serve(t, h, bearer(signTyp(full, "JWT"))), "token type")
	partial := testkit.StandardClaims("u-1", "", "")
	partial["email"] = "alice@example.com"
	wantUnauthorized(t, serve(t, h, bearer(signTyp(partial, "at+jwt"))), "realm_access.roles")
}

func TestScopes(t *testing.T) {
	h := hsHandler(t, func(h *Handler) { h.RequireScopes = []string{"pods:read", "pods:write"} })
	withScope := func(name string, v any) string {
		c := testkit.StandardClaims("alice", "", "")
		c[name] = v
		return testkit.SignHS256(t, testSecret, c)
	}
	wantOK(t, serve(t, h, bearer(withScope("scope", "openid pods:read pods:write"))))
	wantOK(t, serve(t, h, bearer(withScope("scp", []any{"pods:write", "pods:read"}))))
	wantOK(t, serve(t, h, bearer(withScope("scp", "pods:read pods:write"))))
	out := serve(t, h, bearer(withScope("scope", "pods:read")))
	if out.resp.StatusCode != http.StatusForbidden || out.body != "{\"message\":\"Forbidden\"}\n" {
		t.Fatalf("status %d body %q, want 403 Forbidden", out.resp.StatusCode, out.body)
	}
	if got := out.resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, `error="insufficient_scope"`) || !strings.Contains(got, `scope="pods:read pods:write"`) {
		t.Errorf("WWW-Authenticate = %q", got)
	}
	if out.upstream != nil {
		t.Error("a forbidden request reached the upstream")
	}
}

func TestAuthorizeOnlyHandlerChecksEarlierVerification(t *testing.T) {
	verify := hsHandler(t, nil)
	scopes := provision(t, &Handler{RequireScopes: []string{"admin"}})
	chain := chainHandlers(verify, scopes)
	c := testkit.StandardClaims("alice", "", "")
	c["scope"] = "admin"
	wantOK(t, serve(t, chain, bearer(testkit.SignHS256(t, testSecret, c))))
	c["scope"] = "user"
	if out := serve(t, chain, bearer(testkit.SignHS256(t, testSecret, c))); out.resp.StatusCode != http.StatusForbidden {
		t.Errorf("status %d, want 403", out.resp.StatusCode)
	}
	// Alone (misconfigured, or a forged request) it never lets anything through.
	wantUnauthorized(t, serve(t, scopes, bearer(testkit.SignHS256(t, testSecret, c))), "")
}

func TestTokenLocations(t *testing.T) {
	h := hsHandler(t, func(h *Handler) {
		h.From = []TokenLocation{{From: "header", Name: "X-Auth-Token"}, {From: "cookie", Name: "session"}, {From: "query", Name: "access_token"}}
	})
	token := testkit.SignHS256(t, testSecret, testkit.StandardClaims("alice", "", ""))

	r := httptest.NewRequest(http.MethodGet, "https://gw.example/pods", nil)
	r.Header.Set("X-Auth-Token", token)
	out := serve(t, h, r)
	wantOK(t, out)
	if out.upstream.Header.Get("X-Auth-Token") != "" {
		t.Error("X-Auth-Token reached the upstream")
	}

	r = httptest.NewRequest(http.MethodGet, "https://gw.example/pods", nil)
	r.AddCookie(&http.Cookie{Name: "theme", Value: "dark"})
	r.AddCookie(&http.Cookie{Name: "session", Value: token})
	out = serve(t, h, r)
	wantOK(t, out)
	if got := out.upstream.Header.Get("Cookie"); got != "theme=dark" {
		t.Errorf("Cookie upstream = %q, want only theme=dark", got)
	}

	r = httptest.NewRequest(http.MethodGet, "https://gw.example/pods?limit=5&access_token="+token, nil)
	out = serve(t, h, r)
	wantOK(t, out)
	if got := out.upstream.URL.RawQuery; got != "limit=5" {
		t.Errorf("query upstream = %q, want limit=5", got)
	}

	// Authorization is not among the configured locations.
	wantUnauthorized(t, serve(t, h, bearer(token)), "")

	r = httptest.NewRequest(http.MethodGet, "https://gw.example/pods?access_token=a&access_token=b", nil)
	wantUnauthorized(t, serve(t, h, r), "more than one token")
}

func TestDuplicateAuthorizationRejected(t *testing.T) {
	h := hsHandler(t, nil)
	token := testkit.SignHS256(t, testSecret, testkit.StandardClaims("alice", "", ""))
	r := bearer(token)
	r.Header.Add("Authorization", "Bearer "+token)
	wantUnauthorized(t, serve(t, h, r), "more than one token")
}

func TestExpiredTokenIsRestylableType(t *testing.T) {
	h := hsHandler(t, nil)
	c := testkit.StandardClaims("alice", "", "")
	c["exp"] = time.Now().Add(-time.Hour).Unix()
	out := serve(t, h, bearer(testkit.SignHS256(t, testSecret, c)))
	wantUnauthorized(t, out, "expired")
}

// TestVerifiedUserIDReplacesAnEarlierOne: a user id an earlier handler
// set ({http.auth.user.id} from a vars rule, as basic_auth also sets it)
// gives way to the verified token's, which owner-scoped modules trust.
func TestVerifiedUserIDReplacesAnEarlierOne(t *testing.T) {
	h := hsHandler(t, nil)
	r, repl := caddyRequest(bearer(testkit.SignHS256(t, testSecret, testkit.StandardClaims("alice", "", ""))))
	r = r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{}))
	var upstreamID string
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		upstreamID, _ = repl.GetString("http.auth.user.id")
		return nil
	})
	vars := caddyhttp.VarsMiddleware{"http.auth.user.id": "anonymous"}
	err := vars.ServeHTTP(httptest.NewRecorder(), r, caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return h.ServeHTTP(w, r, next)
	}))
	if err != nil || upstreamID != "alice" {
		t.Fatalf("{http.auth.user.id} = %q (%v), want the verified alice", upstreamID, err)
	}
}
