package jwtauth

import (
	"strings"
	"testing"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
)

// TestAdaptGolden adapts every testdata Caddyfile and compares the JSON with
// the golden file beside it (GPUGATE_UPDATE_GOLDEN=1 rewrites them).
func TestAdaptGolden(t *testing.T) { adapttest.Golden(t, "testdata") }

// TestAdaptErrors checks that mistakes fail at adapt time with a message
// that names the directive and says what to write instead.
func TestAdaptErrors(t *testing.T) {
	cases := []struct {
		name, block string
		want        []string
	}{
		{"no key source", ``, []string{"jwt_auth: no key source", "add `secret`"}},
		{"args on directive line", "", []string{"jwt_auth takes its options in a block"}},
		{"unknown option", `secret {env.S}
		issuers a`, []string{`unknown subdirective "issuers"`, "issuer"}},
		{"secret without value", `secret`, []string{"jwt_auth secret: missing value", "secret {env.JWT_SECRET}"}},
		{"literal secret", `secret this-is-a-literal-production-secret-0123456789`, []string{"jwt_auth secret", "{env.NAME}", "never literally"}},
		{"alg none", `secret {env.S} none`, []string{`"none" is never accepted`}},
		{"unknown alg", `secret {env.S} HS257`, []string{`unknown algorithm "HS257"`, "HS256"}},
		{"public alg on secret", `secret {env.S} RS256`, []string{"jwt_auth secret: algorithm RS256 does not fit", "HS256"}},
		{"hmac alg on jwks", `jwks https://idp.example/jwks.json HS256`, []string{"jwt_auth jwks: algorithm HS256 does not fit", "never HS*"}},
		{"hmac alg on public_key", `public_key /k.pem HS256`, []string{"jwt_auth public_key: algorithm HS256"}},
		{"plain http jwks", `jwks http://idp.example/jwks.json`, []string{"must use https", "localhost"}},
		{"relative jwks", `jwks /jwks.json`, []string{"not an absolute URL", "https://"}},
		{"bad jwks block option", "jwks https://idp.example/j {\n\t\t\tinterval 1h\n\t\t}", []string{`unknown subdirective "interval"`, "refresh, min_refetch, timeout"}},
		{"issuer in oidc block", "oidc https://idp.example/ {\n\t\t\tissuer https://idp.example/\n\t\t}", []string{"jwt_auth oidc: issuer in a key source block applies only to jwks"}},
		{"block on secret", "secret {env.S} {\n\t\t\trefresh 1h\n\t\t}", []string{"jwt_auth secret takes no block"}},
		{"bad duration", "jwks https://idp.example/j {\n\t\t\trefresh soon\n\t\t}", []string{`refresh "soon" is not a positive duration`, "refresh 1h"}},
		{"bad leeway", `secret {env.S}
		leeway 5 minutes`, []string{"jwt_auth leeway: exactly one value", "leeway 30s"}},
		{"bad from", `secret {env.S}
		from body token`, []string{`unknown source "body"`, "from cookie <name>"}},
		{"from without name", `secret {env.S}
		from header`, []string{"jwt_auth from:", "write `from header <Name>`"}},
		{"claim_header reserved", `secret {env.S}
		claim_header sub Authorization`, []string{"jwt_auth claim_header: Authorization cannot be set", "X-User-Id"}},
		{"claim_header arity", `secret {env.S}
		claim_header sub`, []string{"claim_header <claim> <Header-Name>"}},
		{"bad cache", `secret {env.S}
		cache lots`, []string{`jwt_auth cache: "lots" is not a number`, "cache 10000"}},
		{"keep_authorization value", `secret {env.S}
		keep_authorization yes`, []string{"keep_authorization takes no value"}},
		{"issuer without value", `secret {env.S}
		issuer`, []string{"jwt_auth issuer: at least one value", "issuer https://"}},
		{"scope-only with issuer", `require_scopes admin
		issuer https://idp.example/`, []string{"jwt_auth issuer: needs a key source in the same block"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			directive := "jwt_auth {\n\t\t" + c.block + "\n\t}"
			if c.name == "args on directive line" {
				directive = "jwt_auth {env.S}"
			}
			_, err := adapttest.Adapt(":8443 {\n\t" + directive + "\n\trespond ok\n}\n")
			if err == nil {
				t.Fatalf("adapt succeeded; want an error containing %q", c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestAdaptKeepsSecretPlaceholder makes sure a secret placeholder is not
// resolved into the adapted JSON.
func TestAdaptKeepsSecretPlaceholder(t *testing.T) {
	t.Setenv("JWT_SECRET", "this-must-never-appear-in-adapted-json")
	out, err := adapttest.Adapt(":8443 {\n\tjwt_auth {\n\t\tsecret {env.JWT_SECRET}\n\t}\n\trespond ok\n}\n")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "this-must-never-appear") || !strings.Contains(string(out), `{env.JWT_SECRET}`) {
		t.Errorf("adapted JSON: %s", out)
	}
}
