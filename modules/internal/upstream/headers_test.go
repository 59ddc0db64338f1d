package upstream

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// withVars gives r the request variables Caddy's server sets up.
func withVars(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{}))
}

func TestOutboundHeader(t *testing.T) {
	t.Parallel()
	r := withVars(httptest.NewRequest("POST", "https://gw.example/api", nil))
	r.TLS = &tls.ConnectionState{}
	r.RemoteAddr = "192.0.2.7:5555"
	for k, v := range map[string]string{
		"Authorization": "Bearer client", "X-Api-Key": "client-key", "Cookie": "s=1", "Modal-Key": "wk-c",
		"Modal-Secret": "ws-c", "Proxy-Authorization": "Basic eA==", "X-Amz-Security-Token": "t",
		"X-Partner-Key": "marked", "X-Extra": "configured", "Connection": "X-Hop, keep-alive", "X-Hop": "1",
		"Keep-Alive": "timeout=5", "Te": "trailers", "Upgrade": "h2c", "Forwarded": "for=6.6.6.6",
		"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Host": "evil", "X-Real-Ip": "6.6.6.6", "Via": "1.1 evil",
		"Content-Type": "application/json", "X-Request-Id": "req-1",
	} {
		r.Header.Set(k, v)
	}
	MarkCredentialHeader(r, "x-partner-key")
	out := OutboundHeader(r, http.Header{"Authorization": {"Bearer gateway"}}, []string{"x-extra"})
	want := map[string]string{
		"Authorization":   "Bearer gateway",
		"X-Forwarded-For": "192.0.2.7", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "gw.example",
		"Content-Type": "application/json", "X-Request-Id": "req-1", "User-Agent": "",
	}
	for name, vals := range out {
		if w, ok := want[name]; !ok || strings.Join(vals, ",") != w {
			t.Errorf("upstream header %s = %q, want %q (absent: %v)", name, vals, w, !ok)
		}
	}
	for name := range want {
		if _, ok := out[name]; !ok {
			t.Errorf("upstream header %s missing", name)
		}
	}
	if r.Header.Get("X-Api-Key") != "client-key" {
		t.Error("OutboundHeader changed the client request")
	}
}

func TestInboundHeader(t *testing.T) {
	t.Parallel()
	resp := &http.Response{StatusCode: 200, Header: http.Header{
		"Server": {"uvicorn"}, "Connection": {"X-Upstream-Hop"}, "X-Upstream-Hop": {"1"},
		"Keep-Alive": {"timeout=5"}, "Content-Type": {"application/json"},
	}}
	InboundHeader(resp)
	if len(resp.Header) != 1 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("response header after the policy: %v, want only Content-Type", resp.Header)
	}
	upgrade := &http.Response{StatusCode: http.StatusSwitchingProtocols, Header: http.Header{
		"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Server": {"x"},
	}}
	InboundHeader(upgrade)
	if upgrade.Header.Get("Upgrade") != "websocket" || upgrade.Header.Get("Server") != "" {
		t.Errorf("101 header: %v", upgrade.Header)
	}
}
