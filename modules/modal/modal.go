package modal

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/gpugate/gpugate/modules/gwerror"
	"github.com/gpugate/gpugate/modules/internal/upstream"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Redirect modes of Handler.Redirects.
const (
	// RedirectsFollow follows Modal's long-call 303 redirects server-side.
	RedirectsFollow = "follow"
	// RedirectsPass passes 303 redirects to the client, with their
	// Location mapped back onto the gateway.
	RedirectsPass = "pass"
)

// Defaults of the optional settings.
const (
	// DefaultTimeout bounds each upstream call until its response headers:
	// Modal answers every web request within 150 s (with the result or a 303).
	DefaultTimeout = 160 * time.Second
	// DefaultFollowFor bounds the whole chain of followed redirects.
	DefaultFollowFor = 30 * time.Minute
	// DefaultMaxBody is API Gateway's payload limit.
	DefaultMaxBody = 10 << 20
	// dialTimeout bounds connecting to the upstream.
	dialTimeout = 10 * time.Second
	// maxRedirectHops stops an upstream that answers 303 in a loop at once.
	maxRedirectHops = 1000
)

// Handler proxies requests to a Modal web endpoint. It is terminal: it
// always writes a response and never calls the next handler.
type Handler struct {
	// URL is the endpoint, https://<workspace>--<label>.modal.run, with an
	// optional base path. Mutually exclusive with Workspace/Label.
	URL string `json:"url,omitempty"`
	// Workspace and Label build the URL as Modal does.
	Workspace string `json:"workspace,omitempty"`
	Label     string `json:"label,omitempty"`
	// Dev targets the endpoint of `modal serve` (label suffix "-dev").
	Dev bool `json:"dev,omitempty"`

	// Bearer is the placeholder ({env.X} or {file.X}) of the key sent as
	// "Authorization: Bearer <key>" to apps that check their own keys.
	Bearer string `json:"bearer,omitempty"`
	// ProxyAuthKey and ProxyAuthSecret are the placeholders of the Modal
	// proxy-auth token sent as Modal-Key / Modal-Secret.
	ProxyAuthKey    string `json:"proxy_auth_key,omitempty"`
	ProxyAuthSecret string `json:"proxy_auth_secret,omitempty"`
	// StripHeaders names extra client request headers to remove besides the
	// standard credential headers (Authorization, X-Api-Key, Cookie, ...).
	StripHeaders []string `json:"strip_headers,omitempty"`

	// PathPrefix is the client-side prefix that requests must start with;
	// it is replaced by UpstreamPrefix (empty: stripped).
	PathPrefix     string `json:"path_prefix,omitempty"`
	UpstreamPrefix string `json:"upstream_prefix,omitempty"`

	// Redirects is "follow" (default) or "pass".
	Redirects string `json:"redirects,omitempty"`
	// FollowFor bounds the total time spent following redirects.
	FollowFor caddy.Duration `json:"follow_for,omitempty"`
	// Timeout bounds each upstream call until response headers arrive.
	Timeout caddy.Duration `json:"timeout,omitempty"`
	// MaxBody is the request body limit in bytes; larger bodies get 413.
	MaxBody int64 `json:"max_body,omitempty"`
	// TLSCA is a PEM file (or a placeholder naming one) of extra CAs to
	// trust for the upstream, besides the system roots.
	TLSCA string `json:"tls_ca,omitempty"`

	origin    *url.URL
	paths     upstream.PathMapper
	injected  http.Header
	transport *http.Transport
	errors    *gwerror.Writer
	logger    *zap.Logger
	metrics   *metrics
	buffers   *sync.Pool
	now       func() time.Time
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.gpugate_modal",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision resolves the endpoint and secrets and builds the HTTP client.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	h.now = time.Now
	if err := h.provisionEndpoint(); err != nil {
		return err
	}
	if err := h.provisionCredentials(); err != nil {
		return err
	}
	if h.Timeout == 0 {
		h.Timeout = caddy.Duration(DefaultTimeout)
	}
	if h.FollowFor == 0 {
		h.FollowFor = caddy.Duration(DefaultFollowFor)
	}
	if h.MaxBody == 0 {
		h.MaxBody = DefaultMaxBody
	}
	if h.Redirects == "" {
		h.Redirects = RedirectsFollow
	}
	tlsConfig, err := h.tlsConfig()
	if err != nil {
		return err
	}
	h.transport = newTransport(tlsConfig)
	h.buffers = &sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
	if h.errors, err = gwerror.Load(ctx); err != nil {
		return fmt.Errorf("modal: loading gateway responses: %v", err)
	}
	if h.metrics, err = newMetrics(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("modal: registering metrics: %v", err)
	}
	return nil
}

func (h *Handler) provisionEndpoint() error {
	raw := h.URL
	if raw == "" && (h.Workspace != "" || h.Label != "") {
		var err error
		if raw, err = EndpointURL(h.Workspace, h.Label, h.Dev); err != nil {
			return err
		}
	}
	if strings.Contains(raw, "{") {
		resolved, err := caddy.NewReplacer().ReplaceOrErr(raw, true, true)
		if err != nil {
			return fmt.Errorf("modal url: cannot resolve the placeholders in %q", raw)
		}
		raw = resolved
	}
	if raw == "" {
		return fmt.Errorf("modal: no endpoint; write url https://<workspace>--<label>.modal.run, or workspace and label")
	}
	origin, base, err := parseUpstreamURL(raw)
	if err != nil {
		return err
	}
	clientPrefix, err := parsePrefix("path prefix", h.PathPrefix)
	if err != nil {
		return err
	}
	upstreamPrefix, err := parsePrefix("upstream prefix", h.UpstreamPrefix)
	if err != nil {
		return err
	}
	h.origin = origin
	h.paths = upstream.NewPathMapper(clientPrefix, append(append([]string(nil), base...), upstreamPrefix...))
	return nil
}

// provisionCredentials resolves the configured secrets into the headers
// injected on every upstream call.
func (h *Handler) provisionCredentials() error {
	h.injected = http.Header{}
	if h.Bearer != "" {
		key, err := upstream.ResolveSecret("modal bearer", h.Bearer)
		if err != nil {
			return err
		}
		h.injected.Set("Authorization", "Bearer "+key)
	}
	if h.ProxyAuthKey != "" || h.ProxyAuthSecret != "" {
		key, err := upstream.ResolveSecret("modal proxy_auth key", h.ProxyAuthKey)
		if err != nil {
			return err
		}
		secret, err := upstream.ResolveSecret("modal proxy_auth secret", h.ProxyAuthSecret)
		if err != nil {
			return err
		}
		h.injected.Set("Modal-Key", key)
		h.injected.Set("Modal-Secret", secret)
	}
	return nil
}

// tlsConfig returns the TLS settings for the upstream, trusting the system
// roots plus the operator's extra CA file when one is configured. The
// server name (SNI) comes from the upstream URL's host.
func (h *Handler) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if h.TLSCA == "" {
		return cfg, nil
	}
	file, err := caddy.NewReplacer().ReplaceOrErr(h.TLSCA, false, true)
	if err != nil {
		return nil, fmt.Errorf("modal tls_ca: cannot resolve %q", h.TLSCA)
	}
	if file == "" {
		return cfg, nil // e.g. {env.MODAL_TLS_CA} left unset: system roots only
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("modal tls_ca: %v", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("modal tls_ca: %s holds no PEM certificate", file)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// newTransport builds the upstream transport. Responses are passed through
// as the upstream encoded them (no transparent gzip).
func newTransport(tlsConfig *tls.Config) *http.Transport {
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   dialTimeout,
		ForceAttemptHTTP2:     true,
		DisableCompression:    true,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// Validate checks the settings that Provision did not already reject.
func (h *Handler) Validate() error {
	if h.URL != "" && (h.Workspace != "" || h.Label != "") {
		return fmt.Errorf("modal: write either url or workspace + label, not both")
	}
	if h.UpstreamPrefix != "" && h.PathPrefix == "" {
		return fmt.Errorf("modal: an upstream prefix needs a client prefix; write replace_prefix <from> <to>")
	}
	if h.Redirects != RedirectsFollow && h.Redirects != RedirectsPass {
		return fmt.Errorf("modal: redirects must be %q or %q, not %q", RedirectsFollow, RedirectsPass, h.Redirects)
	}
	if h.Timeout < 0 || h.FollowFor < 0 || h.MaxBody < 0 {
		return fmt.Errorf("modal: timeout, follow_redirects and max_body must not be negative")
	}
	// Also for JSON configs (admin /load): a literal secret would sit in the
	// config the admin API serves.
	for _, secret := range []struct{ name, value string }{
		{"modal bearer", h.Bearer},
		{"modal proxy_auth key", h.ProxyAuthKey},
		{"modal proxy_auth secret", h.ProxyAuthSecret},
	} {
		if secret.value == "" {
			continue
		}
		if err := upstream.CheckSecretPlaceholder(secret.name, secret.value); err != nil {
			return err
		}
	}
	return nil
}

// Cleanup closes idle upstream connections; safe after a failed Provision.
func (h *Handler) Cleanup() error {
	if h.transport != nil {
		h.transport.CloseIdleConnections()
	}
	return nil
}

// callTimeout is the time left for one upstream call: the per-call timeout,
// cut short by the end of the redirect-following budget when redirects are
// followed.
func (h *Handler) callTimeout(deadline time.Time) time.Duration {
	d := time.Duration(h.Timeout)
	if h.Redirects != RedirectsFollow {
		return d
	}
	if left := deadline.Sub(h.now()); left < d {
		d = left
	}
	return d
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
