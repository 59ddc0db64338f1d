package jwtauth

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
)

func TestLoopbackAddress(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"127.0.0.1:8443": true, "[::1]:8443": true, "localhost:8443": true, "unix//run/gpugate.sock": true,
		"127.0.0.2:80": true, ":8443": false, "0.0.0.0:443": false, "[::]:443": false, "10.0.0.5:443": false,
		"api.example.com:443": false, "tcp/:443": false,
	} {
		if got := loopbackAddress(addr); got != want {
			t.Errorf("loopbackAddress(%q) = %v, want %v", addr, got, want)
		}
	}
}

// serverContext is a provisioning context inside an HTTP server listening
// on listen, as Caddy's http app gives its handlers.
func serverContext(t *testing.T, listen ...string) caddy.Context {
	ctx := adapttest.Context(t)
	srv := &caddyhttp.Server{Listen: listen, Routes: caddyhttp.RouteList{
		{HandlersRaw: []json.RawMessage{json.RawMessage(`{"handler":"gpugate_request_policy"}`)}},
	}}
	ctx.Context = context.WithValue(ctx.Context, caddyhttp.ServerCtxKey, srv)
	return ctx
}

func TestDevelopmentSecretOnlyOnLoopback(t *testing.T) {
	t.Setenv("JWT_DEV", DevelopmentSecret)
	for _, c := range []struct {
		listen []string
		ok     bool
	}{
		{[]string{"127.0.0.1:8443"}, true},
		{[]string{"127.0.0.1:8443", "[::1]:8443"}, true},
		{[]string{":8443"}, false},
		{[]string{"127.0.0.1:8443", "0.0.0.0:8080"}, false},
		{nil, true}, // a server with no listener of its own is checked by its addresses: none
	} {
		h := &Handler{Sources: []SourceConfig{{Secret: "{env.JWT_DEV}"}}}
		err := h.Provision(serverContext(t, c.listen...))
		_ = h.Cleanup()
		if (err == nil) != c.ok {
			t.Errorf("listen %v: Provision error %v, want ok=%v", c.listen, err, c.ok)
			continue
		}
		if err != nil {
			for _, want := range []string{"jwt_auth secret", "published development secret", "openssl rand -base64 48"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("listen %v: error %q lacks %q", c.listen, err, want)
				}
			}
			if strings.Contains(err.Error(), DevelopmentSecret) {
				t.Errorf("the error repeats the secret: %v", err)
			}
		}
	}
	// Outside an HTTP server nothing can be checked: refused.
	h := &Handler{Sources: []SourceConfig{{Secret: "{env.JWT_DEV}"}}}
	if err := h.Provision(adapttest.Context(t)); err == nil {
		t.Error("the development secret was accepted without a server to check")
	}
}

func TestJWTTokenSaysWhenItUsesTheDevelopmentSecret(t *testing.T) {
	dev := func(string) string { return DevelopmentSecret }
	own := func(string) string { return testSecret }
	if !usesDevelopmentSecret(devTokenOptions{secretEnv: "X"}, dev, nil) {
		t.Error("the development secret from the environment was not recognised")
	}
	if usesDevelopmentSecret(devTokenOptions{secretEnv: "X"}, own, nil) {
		t.Error("another secret was taken for the development one")
	}
	file := func(string) ([]byte, error) { return []byte(DevelopmentSecret + "\n"), nil }
	if !usesDevelopmentSecret(devTokenOptions{secretFile: "/s"}, nil, file) {
		t.Error("the development secret from a file was not recognised")
	}
}
