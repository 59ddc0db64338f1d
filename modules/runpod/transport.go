package runpod

import (
	"net/http"
	"net/url"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// keyTransport is Caddy's HTTP transport with the RunPod key injected at the
// last moment: the key is set on a copy of the outgoing request, so it is
// never in a request that Caddy logs (not even with log_credentials).
type keyTransport struct {
	*reverseproxy.HTTPTransport
	authorization string
	host          string // the Host RunPod expects, e.g. api.runpod.io
}

// newKeyTransport provisions Caddy's HTTP transport for target with the
// given connect and response-header timeouts, and TLS for https targets.
func newKeyTransport(ctx caddy.Context, key string, target *url.URL, connect, header time.Duration) (*keyTransport, error) {
	ht := &reverseproxy.HTTPTransport{
		DialTimeout:           caddy.Duration(connect),
		ResponseHeaderTimeout: caddy.Duration(header),
	}
	if target.Scheme == "https" {
		ht.TLS = &reverseproxy.TLSConfig{ServerName: target.Hostname()}
	}
	if err := ht.Provision(ctx); err != nil {
		return nil, err
	}
	return &keyTransport{HTTPTransport: ht, authorization: "Bearer " + key, host: target.Host}, nil
}

// RoundTrip sends a copy of req carrying only the gateway's credentials,
// addressed to RunPod's host (not the client's Host header).
func (t *keyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	out := *req
	out.Host = t.host
	out.Header = req.Header.Clone()
	if out.Header == nil {
		out.Header = http.Header{}
	}
	stripCredentials(out.Header)
	out.Header.Set("Authorization", t.authorization)
	return t.HTTPTransport.RoundTrip(&out)
}

// Cleanup closes idle connections.
func (t *keyTransport) Cleanup() error { return t.HTTPTransport.Cleanup() }
