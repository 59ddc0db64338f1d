package jwtauth

import (
	"crypto/x509"
	"strings"
	"testing"

	"github.com/gpugate/gpugate/tests/testkit"
)

func TestProvisionErrors(t *testing.T) {
	rsaKey := testkit.RSAKey(t)
	privDER := x509.MarshalPKCS1PrivateKey(rsaKey)
	ecPub := writePublicKey(t, testkit.ECKey(t).Public())
	t.Setenv("JWTAUTH_TEST_SHORT", "short-secret")
	t.Setenv("JWTAUTH_TEST_32", testSecret)
	cases := []struct {
		name string
		h    Handler
		want []string
	}{
		{"short HMAC secret", Handler{Sources: []SourceConfig{{Secret: "{env.JWTAUTH_TEST_SHORT}"}}},
			[]string{"jwt_auth secret: the secret is 12 bytes, HS256 needs at least 32", "openssl rand"}},
		{"secret too short for HS512", Handler{Sources: []SourceConfig{{Secret: "{env.JWTAUTH_TEST_32}", Algorithms: []string{"HS512"}}}},
			[]string{"HS512 needs at least 64"}},
		{"unset secret variable", Handler{Sources: []SourceConfig{{Secret: "{env.JWTAUTH_TEST_UNSET}"}}},
			[]string{"jwt_auth secret"}},
		{"private key PEM", Handler{Sources: []SourceConfig{{PublicKey: writePEM(t, "RSA PRIVATE KEY", privDER)}}},
			[]string{"holds a private key", "openssl pkey -pubout"}},
		{"missing PEM file", Handler{Sources: []SourceConfig{{PublicKey: "/nonexistent/key.pem"}}},
			[]string{"jwt_auth public_key /nonexistent/key.pem"}},
		{"alg does not fit EC key", Handler{Sources: []SourceConfig{{PublicKey: ecPub, Algorithms: []string{"ES384"}}}},
			[]string{"algorithm ES384 does not fit the key", "P-256: ES256"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := provisionErr(t, &c.h)
			if err == nil {
				t.Fatal("provision succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "short-secret") || strings.Contains(err.Error(), testSecret) {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
}

func TestPEMFormats(t *testing.T) {
	rsaKey := testkit.RSAKey(t)
	for name, path := range map[string]string{
		"PKCS1": writePEM(t, "RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)),
		"PKIX":  writePublicKey(t, rsaKey.Public()),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := loadPublicKey(path); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestValidateRefusesLiteralSecretInJSON covers configs that skip the
// Caddyfile (JSON through the admin API's /load): a literal secret fails
// Validate, so it never sits in the config the admin API serves.
func TestValidateRefusesLiteralSecretInJSON(t *testing.T) {
	h := &Handler{Sources: []SourceConfig{{Secret: "a-literal-secret-0123456789abcdef0123"}}}
	err := h.Validate()
	if err == nil || !strings.Contains(err.Error(), "jwt_auth secret") || strings.Contains(err.Error(), "a-literal-secret") {
		t.Fatalf("Validate() = %v, want a jwt_auth secret placeholder error that does not echo the secret", err)
	}
	if err := (&Handler{Sources: []SourceConfig{{Secret: testSecretRef}}}).Validate(); err != nil {
		t.Fatalf("placeholder secret: %v", err)
	}
}
