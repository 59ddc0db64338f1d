package jwtauth

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestIssueDevTokenIsAcceptedByJWTAuth(t *testing.T) {
	env := map[string]string{"GPUGATE_JWT_SECRET": testSecret}
	token, err := issueDevToken(devTokenOptions{secretEnv: "GPUGATE_JWT_SECRET", sub: "alice", scope: "pods:read",
		ttl: time.Hour, alg: "HS256", claims: []string{"tenant=acme"}}, func(k string) string { return env[k] }, os.ReadFile, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h := hsHandler(t, func(h *Handler) {
		h.RequireScopes = []string{"pods:read"}
		h.ClaimHeaders = []ClaimHeader{{Claim: "tenant", Header: "X-Tenant"}}
	})
	out := serve(t, h, bearer(token))
	wantOK(t, out)
	if out.upstream.Header.Get("X-Tenant") != "acme" || out.repl.ReplaceAll("{http.auth.user.id}", "") != "alice" {
		t.Errorf("claims did not arrive: %v", out.upstream.Header)
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, claims); err != nil {
		t.Fatal(err)
	}
	exp, _ := claims.GetExpirationTime()
	if d := time.Until(exp.Time); d < 59*time.Minute || d > time.Hour {
		t.Errorf("exp in %v, want 1h", d)
	}
}

func TestIssueDevTokenErrors(t *testing.T) {
	noFile := func(string) ([]byte, error) { return nil, errors.New("no such file") }
	cases := []struct {
		name string
		o    devTokenOptions
		env  string
		want string
	}{
		{"unset env", devTokenOptions{secretEnv: "X", alg: "HS256", ttl: time.Hour}, "", "X is not set"},
		{"short secret", devTokenOptions{secretEnv: "X", alg: "HS256", ttl: time.Hour}, "short", "needs at least 32"},
		{"RS256", devTokenOptions{secretEnv: "X", alg: "RS256", ttl: time.Hour}, testSecret, "HS256, HS384 or HS512"},
		{"missing file", devTokenOptions{secretFile: "/nope", alg: "HS256", ttl: time.Hour}, "", "--secret-file"},
		{"bad claim", devTokenOptions{secretEnv: "X", alg: "HS256", ttl: time.Hour, claims: []string{"oops"}}, testSecret, "name=value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := issueDevToken(c.o, func(string) string { return c.env }, noFile, time.Now())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %q", err, c.want)
			}
			if err != nil && strings.Contains(err.Error(), testSecret) {
				t.Error("error leaks the secret")
			}
		})
	}
}
