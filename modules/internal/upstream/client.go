package upstream

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/gpugate/gpugate/modules/internal/tracing"
)

// Defaults of ClientConfig.
const (
	DefaultDialTimeout = 10 * time.Second
	// idleConnsPerHost keeps enough warm connections for a busy gateway
	// (Caddy's default of 32 makes a loaded gateway open and close
	// connections to the upstream all the time).
	idleConnsPerHost = 256
	idleConnTimeout  = 90 * time.Second
)

// ClientConfig describes one upstream.
type ClientConfig struct {
	// Module names the gpugate module using the client ("runpod",
	// "modal"), for logs and metrics.
	Module string
	// Target is the upstream's origin: scheme and host (any path is the
	// caller's business). https targets get TLS with the host as SNI.
	Target *url.URL
	// DialTimeout bounds connecting (default DefaultDialTimeout);
	// ResponseHeaderTimeout bounds the wait for response headers once the
	// request is sent (0: none).
	DialTimeout           time.Duration
	ResponseHeaderTimeout time.Duration
	// CAFile, when set, is a PEM file of the CAs trusted for the upstream,
	// instead of the system roots (as Caddy's reverse_proxy tls_trust_pool
	// file).
	CAFile string
	// Credentials are the gateway's own headers for the upstream (e.g.
	// Authorization: Bearer <key>), set on the outgoing copy only.
	Credentials http.Header
	// StripHeaders are more client headers to remove, besides the ones
	// OutboundHeader always removes.
	StripHeaders []string
}

// Client is the one way gpugate's upstream modules talk to an upstream:
// Caddy's HTTP transport (TLS, SNI, timeouts, keep-alive pool), the
// outbound and inbound header policy, the gateway's credentials set on the
// outgoing copy of each request (so they are in no request Caddy logs, not
// even with log_credentials), and per-upstream latency metrics. It is an
// http.RoundTripper, for Caddy's reverse_proxy or an http.Client.
type Client struct {
	transport   *reverseproxy.HTTPTransport
	module      string
	host        string
	credentials http.Header
	strip       []string
	logger      *zap.Logger
	latency     *latency
}

// NewClient provisions the transport of cfg.
func NewClient(ctx caddy.Context, cfg ClientConfig) (*Client, error) {
	if cfg.Target == nil || cfg.Target.Host == "" || (cfg.Target.Scheme != "http" && cfg.Target.Scheme != "https") {
		return nil, fmt.Errorf("%s: the upstream needs an http(s) URL with a host", cfg.Module)
	}
	tc := TransportConfig{DialTimeout: cfg.DialTimeout, ResponseHeaderTimeout: cfg.ResponseHeaderTimeout}
	if cfg.Target.Scheme == "https" {
		tc.TLS, tc.ServerName, tc.CAFile = true, cfg.Target.Hostname(), cfg.CAFile
	}
	ht, err := NewTransport(ctx, tc)
	if err != nil {
		return nil, fmt.Errorf("%s: upstream transport: %w", cfg.Module, err)
	}
	lat, err := loadLatency(ctx.GetMetricsRegistry(), cfg.Module, cfg.Target.Host)
	if err != nil {
		_ = ht.Cleanup()
		return nil, err
	}
	return &Client{
		transport: ht, module: cfg.Module, host: cfg.Target.Host,
		credentials: cfg.Credentials.Clone(), strip: append([]string(nil), cfg.StripHeaders...),
		logger: ctx.Logger().With(zap.String("upstream", cfg.Target.Host)), latency: lat,
	}, nil
}

// TransportConfig tunes NewTransport.
type TransportConfig struct {
	// DialTimeout bounds connecting (and the TLS handshake); default
	// DefaultDialTimeout. ResponseHeaderTimeout bounds the wait for
	// response headers (0: none).
	DialTimeout           time.Duration
	ResponseHeaderTimeout time.Duration
	// TLS configures TLS for https URLs: ServerName fixes the SNI (empty:
	// each URL's host), CAFile replaces the system roots with the CAs of a
	// PEM file.
	TLS        bool
	ServerName string
	CAFile     string
}

// NewTransport provisions Caddy's HTTP transport, the one transport gpugate
// makes outbound calls with (Client for upstreams, jwt_auth for JWKS):
// bodies passed through as encoded (no transparent gzip), a keep-alive
// pool sized for a busy gateway, proxies from the environment.
func NewTransport(ctx caddy.Context, cfg TransportConfig) (*reverseproxy.HTTPTransport, error) {
	dial := cfg.DialTimeout
	if dial <= 0 {
		dial = DefaultDialTimeout
	}
	off := false
	ht := &reverseproxy.HTTPTransport{
		DialTimeout:           caddy.Duration(dial),
		ResponseHeaderTimeout: caddy.Duration(cfg.ResponseHeaderTimeout),
		Compression:           &off,
		KeepAlive: &reverseproxy.KeepAlive{
			MaxIdleConnsPerHost: idleConnsPerHost,
			IdleConnTimeout:     caddy.Duration(idleConnTimeout),
		},
	}
	if cfg.TLS {
		ht.TLS = &reverseproxy.TLSConfig{ServerName: cfg.ServerName, HandshakeTimeout: caddy.Duration(dial)}
		if cfg.CAFile != "" {
			pool, _ := json.Marshal(map[string]any{"provider": "file", "pem_files": []string{cfg.CAFile}})
			ht.TLS.CARaw = pool
		}
	}
	if err := ht.Provision(ctx); err != nil {
		return nil, err
	}
	return ht, nil
}

// RoundTrip sends a copy of req to the upstream: addressed to the
// upstream's host, with the header OutboundHeader builds (client credentials
// and hop-by-hop headers gone, the gateway's credentials set), and cleans
// the response header with InboundHeader. req itself is not changed. Its
// Host, TLS and context describe the client's request (a request a module
// builds itself copies them from the client's): they become
// X-Forwarded-Host, -Proto and -For.
func (c *Client) RoundTrip(req *http.Request) (*http.Response, error) {
	out := *req
	out.Header = OutboundHeader(req, c.credentials, c.strip)
	out.Host = c.host
	u := *req.URL
	u.Host = c.host
	out.URL = &u
	ctx, span := tracing.Start(req.Context(), "gpugate.upstream", trace.SpanKindClient,
		attribute.String("gpugate.module", c.module), attribute.String("server.address", c.host),
		attribute.String("http.request.method", req.Method))
	defer span.End()
	out = *out.WithContext(ctx)
	start := time.Now()
	resp, err := c.transport.RoundTrip(&out)
	outcome := c.latency.observe(req, start, resp, err)
	addLatency(req, time.Since(start))
	span.SetAttributes(attribute.String("gpugate.upstream.outcome", outcome))
	if err != nil {
		// The outcome only: an error's text may hold the request's URL.
		span.SetStatus(codes.Error, outcome)
		return nil, err
	}
	span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	if resp.StatusCode >= 500 {
		span.SetStatus(codes.Error, outcome)
	}
	InboundHeader(resp)
	return resp, nil
}

// Host is the upstream's host[:port], for log lines.
func (c *Client) Host() string { return c.host }

// Cleanup closes idle connections; safe on a nil Client.
func (c *Client) Cleanup() error {
	if c == nil || c.transport == nil {
		return nil
	}
	return c.transport.Cleanup()
}

// Interface guard.
var _ http.RoundTripper = (*Client)(nil)
