package modal

import (
	"fmt"
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
	"github.com/gpugate/gpugate/modules/internal/directive"
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

	origin   *url.URL
	paths    upstream.PathMapper
	upstream *upstream.Client // the endpoint, with the gateway's credentials
	errors   *gwerror.Writer
	logger   *zap.Logger
	metrics  *metrics
	buffers  *sync.Pool
	// now is the clock of the redirect-following budget (time.Now unless a
	// test injects one).
	now func() time.Time
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.gpugate_modal",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision checks the settings, resolves the endpoint and secrets and
// builds the upstream client.
func (h *Handler) Provision(ctx caddy.Context) error {
	if err := h.Validate(); err != nil {
		return err
	}
	h.logger = ctx.Logger()
	if h.now == nil {
		h.now = time.Now
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
	if err := h.provisionEndpoint(); err != nil {
		return err
	}
	credentials, err := h.credentials()
	if err != nil {
		return err
	}
	caFile, err := h.caFile()
	if err != nil {
		return err
	}
	h.upstream, err = upstream.NewClient(ctx, upstream.ClientConfig{
		Module: "modal", Target: h.origin, DialTimeout: dialTimeout,
		CAFile: caFile, Credentials: credentials, StripHeaders: h.StripHeaders,
	})
	if err != nil {
		return err
	}
	h.buffers = &sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
	if h.errors, err = gwerror.Load(ctx); err != nil {
		return fmt.Errorf("modal: loading gateway responses: %w", err)
	}
	if h.metrics, err = newMetrics(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("modal: registering metrics: %w", err)
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
			return fmt.Errorf("modal url: cannot resolve the placeholders in %q: %w", raw, err)
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

// credentials resolves the configured secrets into the headers the
// upstream client sets on every call.
func (h *Handler) credentials() (http.Header, error) {
	injected := http.Header{}
	if h.Bearer != "" {
		key, err := upstream.ResolveSecret("modal bearer", h.Bearer)
		if err != nil {
			return nil, err
		}
		injected.Set("Authorization", "Bearer "+key)
	}
	if h.ProxyAuthKey != "" || h.ProxyAuthSecret != "" {
		key, err := upstream.ResolveSecret("modal proxy_auth key", h.ProxyAuthKey)
		if err != nil {
			return nil, err
		}
		secret, err := upstream.ResolveSecret("modal proxy_auth secret", h.ProxyAuthSecret)
		if err != nil {
			return nil, err
		}
		injected.Set("Modal-Key", key)
		injected.Set("Modal-Secret", secret)
	}
	return injected, nil
}

// caFile resolves tls_ca: the PEM file of the CAs trusted for the
// endpoint instead of the system roots, or "" for the system roots (also
// when a placeholder such as {env.MODAL_TLS_CA} is left unset).
func (h *Handler) caFile() (string, error) {
	if h.TLSCA == "" {
		return "", nil
	}
	file, err := caddy.NewReplacer().ReplaceOrErr(h.TLSCA, false, true)
	if err != nil {
		return "", fmt.Errorf("modal tls_ca: cannot resolve %q: %w", h.TLSCA, err)
	}
	if file == "" {
		return "", nil
	}
	if _, err := os.Stat(file); err != nil {
		return "", fmt.Errorf("modal tls_ca: %w", err)
	}
	return file, nil
}

// Validate checks the settings that Provision did not already reject.
func (h *Handler) Validate() error {
	if h.URL != "" && (h.Workspace != "" || h.Label != "") {
		return fmt.Errorf("modal: write either url or workspace + label, not both")
	}
	if h.UpstreamPrefix != "" && h.PathPrefix == "" {
		return fmt.Errorf("modal: an upstream prefix needs a client prefix; write replace_prefix <from> <to>")
	}
	if h.Redirects != "" && h.Redirects != RedirectsFollow && h.Redirects != RedirectsPass {
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
		if err := directive.CheckSecretPlaceholder(secret.name, secret.value); err != nil {
			return err
		}
	}
	return nil
}

// Cleanup closes idle upstream connections; safe after a failed Provision.
func (h *Handler) Cleanup() error { return h.upstream.Cleanup() }

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
