package jwtauth

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"
)

// FuzzVerify feeds arbitrary token text to the HS256 verifier: it never
// panics or hangs, and whatever it accepts has an identity.
func FuzzVerify(f *testing.F) {
	claims := testkit.StandardClaims("alice", "", "")
	good := testkit.SignHS256(f, testSecret, claims)
	for _, seed := range []string{good, "", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", good + "x", "..", "a.b", good[:len(good)/2]} {
		f.Add(seed)
	}
	h := hsHandler(f, nil)
	f.Fuzz(func(t *testing.T, token string) {
		id, rej := h.verifier.verify(context.Background(), token)
		if rej == nil && (id == nil || id.userID == "" || id.expires.Before(time.Now())) {
			t.Fatalf("accepted %q without a valid identity", token)
		}
	})
}

// FuzzClaims renders arbitrary claim sets the way placeholders and claim
// headers do: no panic, and header values never carry control characters.
func FuzzClaims(f *testing.F) {
	for _, seed := range []string{`{"sub":"a","scope":"x y","n":{"a":{"b":[1,"2",{"c":null}]}}}`, `{"scp":["a",1]}`, `{"sub":"a\r\nX: y"}`, `[]`, `1`} {
		f.Add([]byte(seed), "n.a.b")
	}
	f.Fuzz(func(t *testing.T, payload []byte, name string) {
		var claims map[string]any
		if json.Unmarshal(payload, &claims) != nil {
			return
		}
		_ = scopesOf(claims)
		_ = missingScopes(claims, []string{"a"})
		_ = claimPresent(claims, name)
		if v, ok := lookupClaim(claims, name); ok {
			s := sanitizeHeaderValue(claimString(v))
			for i := 0; i < len(s); i++ {
				if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
					t.Fatalf("header value %q keeps control character %#x", s, c)
				}
			}
		}
	})
}
