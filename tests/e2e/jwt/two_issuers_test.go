package jwt

import (
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gpugate/gpugate/tests/testkit"
)

const cognitoIssuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Test"

// TestTwoIssuersAcrossReloadWithIdPDown runs the binary with a JWKS and an
// OIDC source, then reloads while the IdP is down: the keys survive.
func TestTwoIssuersAcrossReloadWithIdPDown(t *testing.T) {
	cognitoKey, auth0Key := testkit.RSAKey(t), testkit.ECKey(t)
	cognito := testkit.StartJWKS(t, testkit.JWK{KID: "c1", Key: cognitoKey, Alg: "RS256", Use: "sig"})
	auth0 := testkit.StartJWKS(t, testkit.JWK{KID: "a1", Key: auth0Key, Alg: "ES256", Use: "sig"})
	g := testkit.StartGateway(t, "tests/e2e/jwt/testdata/two-issuers.Caddyfile", testkit.GatewayOptions{Env: map[string]string{
		"JWT_COGNITO_JWKS":   cognito.JWKSURL(),
		"JWT_COGNITO_ISSUER": cognitoIssuer,
		"JWT_AUTH0_ISSUER":   auth0.Issuer(),
	}})
	cognitoClaims := testkit.StandardClaims("alice", cognitoIssuer, "")
	cognitoClaims["scope"] = "admin"
	cognitoToken := testkit.Sign(t, jwt.SigningMethodRS256, cognitoKey, "c1", cognitoClaims)
	auth0Token := testkit.Sign(t, jwt.SigningMethodES256, auth0Key, "a1", testkit.StandardClaims("bob", auth0.Issuer(), ""))

	expect := func(path, token string, status int, body string) {
		t.Helper()
		resp := g.Do(http.MethodGet, path, nil, "Authorization", "Bearer "+token)
		got := readBody(t, resp)
		if resp.StatusCode != status || (body != "" && got != body) {
			t.Errorf("GET %s: %d %q, want %d %q", path, resp.StatusCode, got, status, body)
		}
	}
	expect("/", cognitoToken, 200, "hello alice from "+cognitoIssuer)
	expect("/", auth0Token, 200, "hello bob from "+auth0.Issuer())
	expect("/admin/x", cognitoToken, 200, "admin alice")
	expect("/admin/x", auth0Token, 403, "")
	// A Cognito key cannot vouch for the Auth0 issuer (OIDC binds keys to it).
	expect("/", testkit.Sign(t, jwt.SigningMethodRS256, cognitoKey, "c1", testkit.StandardClaims("eve", auth0.Issuer(), "")), 401, "")

	// Key rotation at Cognito: a new kid is picked up on first use.
	rotated := testkit.RSAKey(t)
	cognito.AddKey(t, testkit.JWK{KID: "c2", Key: rotated, Alg: "RS256"})
	time.Sleep(150 * time.Millisecond) // past min_refetch
	expect("/", testkit.Sign(t, jwt.SigningMethodRS256, rotated, "c2", testkit.StandardClaims("carol", cognitoIssuer, "")), 200, "hello carol from "+cognitoIssuer)

	// Both IdPs go down; a reload keeps the keys (shared across configs).
	cognito.Down()
	auth0.Down()
	fetches := cognito.Fetches() + auth0.Fetches()
	g.Reload("tests/e2e/jwt/testdata/two-issuers.Caddyfile")
	expect("/", cognitoToken, 200, "hello alice from "+cognitoIssuer)
	expect("/", auth0Token, 200, "hello bob from "+auth0.Issuer())
	if now := cognito.Fetches() + auth0.Fetches(); now != fetches {
		t.Errorf("the reload fetched again (%d -> %d); the key sets should be reused", fetches, now)
	}
}
