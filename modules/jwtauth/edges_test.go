package jwtauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"
)

// signRawHS256 signs payload bytes as they are (a JSON library would clean
// them), with testSecret.
func signRawHS256(payload []byte) string {
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString(payload)
	mac := hmac.New(sha256.New, []byte(testSecret))
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}

// TestJWTEdges: tokens that a JSON library or a date conversion would turn
// into something the issuer never signed are refused (RFC 7519, RFC 8259,
// RFC 8725).
func TestJWTEdges(t *testing.T) {
	h := hsHandler(t, nil)
	now := time.Now().Unix()
	valid := func(extra string) []byte {
		return fmt.Appendf(nil, `{"sub":"alice","iat":%d,"exp":%d%s}`, now, now+600, extra)
	}
	wantOK(t, serve(t, h, bearer(signRawHS256(valid("")))))
	for name, payload := range map[string][]byte{
		"nbf near 2^63 (wraps into the past)": valid(`,"nbf":9223372036854775807`),
		"exp near 2^63":                       fmt.Appendf(nil, `{"sub":"alice","iat":%d,"exp":9223372036854775807}`, now),
		"negative iat":                        fmt.Appendf(nil, `{"sub":"alice","iat":-1,"exp":%d}`, now+600),
		"nbf as a string":                     valid(`,"nbf":"0"`),
		"invalid UTF-8 in sub":                fmt.Appendf(nil, `{"sub":"alice%s","iat":%d,"exp":%d}`, "\xff", now, now+600),
		"numeric sub":                         fmt.Appendf(nil, `{"sub":123,"iat":%d,"exp":%d}`, now, now+600),
		"numeric iss":                         valid(`,"iss":42`),
	} {
		t.Run(name, func(t *testing.T) {
			out := serve(t, h, bearer(signRawHS256(payload)))
			if out.resp.StatusCode != 401 || out.upstream != nil {
				t.Fatalf("status %d (upstream reached: %v), want 401", out.resp.StatusCode, out.upstream != nil)
			}
		})
	}
}

// TestClientIDAudience: a token without aud meets the audience rule with
// its client_id (AWS API Gateway's behaviour for Cognito access tokens)
// unless the source switches that off.
func TestClientIDAudience(t *testing.T) {
	claims := testkit.StandardClaims("alice", "", "")
	delete(claims, "aud")
	claims["client_id"] = "4example1clientid"
	tok := testkit.SignHS256(t, testSecret, claims)

	on := hsHandler(t, func(h *Handler) { h.Audiences = []string{"4example1clientid"} })
	wantOK(t, serve(t, on, bearer(tok)))
	off := hsHandler(t, func(h *Handler) {
		h.Audiences = []string{"4example1clientid"}
		h.Sources[0].DisableClientIDAudience = true
	})
	wantUnauthorized(t, serve(t, off, bearer(tok)), "audience")
}
