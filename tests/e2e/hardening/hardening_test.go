// Package hardening drives the built binary with the shipped
// gateway.Caddyfile as an attacker would: forged or hidden identity
// headers, client address claims, and paths that mean one thing to Caddy's
// matchers and another to an upstream.
package hardening

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gpugate/gpugate/tests/testkit"
)

const partnerKey = "partner-key-hardening-0123456789abcdef"

// start runs gateway.Caddyfile in front of a recording upstream.
func start(t *testing.T) (*testkit.Gateway, *testkit.Upstream) {
	t.Helper()
	up := testkit.StartUpstream(t, nil)
	gw := testkit.StartGateway(t, "caddyfiles/gateway.Caddyfile", testkit.GatewayOptions{Env: map[string]string{
		"GPUGATE_UPSTREAM":   up.HostPort(),
		"GPUGATE_API_KEY":    partnerKey,
		"GPUGATE_JWT_SECRET": "hardening-jwt-secret-0123456789abcdefghij",
		"GPUGATE_DATA":       t.TempDir(),
	}})
	return gw, up
}

// fold is how servers behind the gateway may read a header name:
// case-insensitive, '_' as '-'.
func fold(name string) string { return strings.ToLower(strings.ReplaceAll(name, "_", "-")) }

// TestInjectedHeadersCannotBeForgedOrDropped: client copies of the key id
// and plan headers, in any case, with underscores, repeated, and named in
// Connection so a proxy would drop the gateway's own, leave exactly the
// gateway's values at the upstream; client Forwarded and X-Real-Ip never
// arrive.
func TestInjectedHeadersCannotBeForgedOrDropped(t *testing.T) {
	t.Parallel()
	gw, up := start(t)
	reply := gw.Raw("GET /api/items HTTP/1.1\r\n"+
		"X-Api-Key: "+partnerKey+"\r\n"+
		"X-Gpugate-Key-Id: forged\r\n"+
		"x-gpugate-key-id: forged-lower\r\n"+
		"X_Gpugate_Key_Id: forged-underscore\r\n"+
		"X-Gpugate-Plan: enterprise\r\n"+
		"Connection: keep-alive, X-Gpugate-Key-Id, x-gpugate-plan\r\n"+
		"Forwarded: for=6.6.6.6;proto=https\r\n"+
		"X-Real-Ip: 6.6.6.6", nil)
	reply.Want(t, http.StatusOK)
	reqs := up.Requests()
	if len(reqs) != 1 {
		t.Fatalf("the upstream got %d requests", len(reqs))
	}
	got := map[string][]string{}
	for name, values := range reqs[0].Header {
		got[fold(name)] = append(got[fold(name)], values...)
	}
	if v := got["x-gpugate-key-id"]; len(v) != 1 || v[0] != "static-partner" {
		t.Errorf("key id headers at the upstream = %q, want exactly the gateway's [static-partner]", v)
	}
	if v := got["x-gpugate-plan"]; len(v) != 1 || v[0] != "pro" {
		t.Errorf("plan headers at the upstream = %q, want exactly the gateway's [pro]", v)
	}
	for _, name := range []string{"forwarded", "x-real-ip", "x-api-key"} {
		if v, ok := got[name]; ok {
			t.Errorf("%s reached the upstream: %q", name, v)
		}
	}
}

// TestNonCanonicalPathsAreRefused: paths that some upstream framework
// resolves to another path than Caddy's matchers saw get 400 JSON and
// never reach the upstream (nor cost quota).
func TestNonCanonicalPathsAreRefused(t *testing.T) {
	t.Parallel()
	gw, up := start(t)
	for _, path := range []string{"/api/generate;x", "/api/generate%20", "/%61pi/generate", "/api/..;/admin",
		"/api/%2e%2e/admin", "/api/%252e%252e/admin", "/api/%C0%AE%C0%AE/admin", "/api//generate", "/api/a%2fb"} {
		r := gw.Raw("POST "+path+" HTTP/1.1\r\nX-Api-Key: "+partnerKey+"\r\nContent-Length: 2", []byte("{}"))
		if r.Status != http.StatusBadRequest || !strings.HasPrefix(string(r.Body), `{"message":"Invalid request path`) ||
			r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("POST %s = %d %s, want 400 JSON", path, r.Status, r.Body)
		}
	}
	if n := len(up.Requests()); n != 0 {
		t.Fatalf("%d refused requests reached the upstream: %+v", n, up.Requests())
	}
	gw.Raw("POST /api/generate HTTP/1.1\r\nX-Api-Key: "+partnerKey+"\r\nContent-Length: 2", []byte("{}")).Want(t, http.StatusOK)
}
