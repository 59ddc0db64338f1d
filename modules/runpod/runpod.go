package runpod

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"go.uber.org/zap"

	"github.com/gpugate/gpugate/modules/gwerror"
	"github.com/gpugate/gpugate/modules/internal/directive"
	"github.com/gpugate/gpugate/modules/internal/upstream"
	"github.com/gpugate/gpugate/modules/usageplan"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler is the runpod directive: a terminal handler that serves one of
// the modes pods, api or serverless against RunPod.
type Handler struct {
	// Mode is pods, api or serverless.
	Mode string `json:"mode"`
	// APIKey is the RunPod API key as a placeholder ({env.X} or {file.X}),
	// resolved at provision time; the key itself never appears in config.
	APIKey string `json:"api_key"`
	// BaseURL is the v2 management API (default https://api.runpod.io/v2).
	BaseURL string `json:"base_url,omitempty"`
	// ServerlessURL is the Serverless job API (default https://api.runpod.ai/v2).
	ServerlessURL string `json:"serverless_url,omitempty"`
	// Endpoints maps client-facing aliases to Serverless endpoint ids.
	Endpoints map[string]string `json:"endpoints,omitempty"`
	// Timeout bounds a pods-mode upstream call end to end, and the wait for
	// response headers in the pass-through modes (default 30s; 120s for
	// serverless, which covers runsync's default 90s wait).
	Timeout caddy.Duration `json:"timeout,omitempty"`
	// ConnectTimeout bounds connecting to RunPod (default 10s).
	ConnectTimeout caddy.Duration `json:"connect_timeout,omitempty"`
	// MaxBody is the request body limit in bytes of the pass-through modes;
	// a larger body gets 413 and, when its size is declared, never reaches
	// RunPod. The default is RunPod's own: 20 MB for runsync, 10 MB for
	// everything else.
	MaxBody int64 `json:"max_body,omitempty"`
	// AllowImages are path.Match globs a created pod's image must match.
	AllowImages []string `json:"allow_images,omitempty"`
	// AllowGPUTypes are the GPU type ids a created pod may use.
	AllowGPUTypes []string `json:"allow_gpu_types,omitempty"`
	// Defaults fill create fields the client left out.
	Defaults *CreateDefaults `json:"defaults,omitempty"`
	// OwnerClaim is the JWT claim that owns pods ("sub" is
	// {http.auth.user.id}), or a full placeholder.
	OwnerClaim string `json:"owner_claim,omitempty"`
	// OwnerTag is how the owner is recorded on the pod: env or name.
	OwnerTag string `json:"owner_tag,omitempty"`
	// AdminScope (serverless, with owner_claim) names the token scope that
	// reaches every job, whoever created it.
	AdminScope string `json:"admin_scope,omitempty"`
	// MaxPods, MaxGPUs and MaxUSDPerHour cap what one owner holds at once
	// (pods mode, with owner_claim): pods not terminated, GPUs and USD per
	// hour of the running ones. 0 is no cap.
	MaxPods       int     `json:"max_pods,omitempty"`
	MaxGPUs       int     `json:"max_gpus,omitempty"`
	MaxUSDPerHour float64 `json:"max_usd_per_hour,omitempty"`

	base       *url.URL
	serverless *url.URL
	basePaths  upstream.PathMapper // client path -> path under the target's base (api, serverless)
	timeout    time.Duration
	upstream   *upstream.Client      // RunPod with the gateway's key; every call goes through it
	client     *http.Client          // pods mode: calls on upstream, bounded by timeout
	proxy      *reverseproxy.Handler // api and serverless modes: Caddy's proxy on upstream
	errors     *gwerror.Writer
	metrics    *metrics
	logger     *zap.Logger
	// shared is the usage-plan store: job owners (serverless with
	// owner_claim) and pod caps (pods with a max_*); nil when neither.
	shared *usageplan.Shared
	// catalog caches GPU prices for the USD per hour cap.
	catalog *priceCache
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.gpugate_runpod",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision resolves the API key and base URLs and builds the upstream
// client (and, for the pass-through modes, Caddy's reverse proxy on it).
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	if err := h.Validate(); err != nil {
		return err
	}
	key, err := upstream.ResolveSecret("runpod api_key", h.APIKey)
	if err != nil {
		return err
	}
	if h.base, err = resolveURL("base_url", h.BaseURL, DefaultBaseURL); err != nil {
		return err
	}
	if h.serverless, err = resolveURL("serverless_url", h.ServerlessURL, DefaultServerlessURL); err != nil {
		return err
	}
	h.timeout = durationOr(h.Timeout, DefaultTimeout)
	if h.Mode == ModeServerless {
		h.timeout = durationOr(h.Timeout, DefaultServerlessTimeout)
	}
	if h.errors, err = gwerror.Load(ctx); err != nil {
		return err
	}
	if h.metrics, err = loadMetrics(ctx.GetMetricsRegistry()); err != nil {
		return err
	}
	if why := h.sharedStateUse(); why != "" {
		if h.shared, err = usageplan.LoadShared(ctx, "runpod "+h.Mode, why); err != nil {
			return err
		}
	}
	h.catalog = &priceCache{}
	target := h.base
	if h.Mode == ModeServerless {
		target = h.serverless
	}
	h.upstream, err = upstream.NewClient(ctx, upstream.ClientConfig{
		Module: "runpod", Target: target,
		DialTimeout: durationOr(h.ConnectTimeout, DefaultConnectTimeout), ResponseHeaderTimeout: h.timeout,
		Credentials: http.Header{"Authorization": {"Bearer " + key}},
	})
	if err != nil {
		return err
	}
	if h.Mode == ModePods {
		h.client = &http.Client{Transport: h.upstream, Timeout: h.timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		return nil
	}
	baseSegments, err := upstream.SplitPath(target.EscapedPath())
	if err != nil {
		return fmt.Errorf("runpod: the path of %s: %v", target.Redacted(), err)
	}
	h.basePaths = upstream.NewPathMapper(nil, baseSegments)
	h.proxy, err = newProxy(ctx, h.upstream, target)
	return err
}

// Validate checks the configuration; it is fast and has no side effects.
func (h *Handler) Validate() error {
	if err := h.validateConfig(); err != nil {
		return err
	}
	// Also for JSON configs (admin /load): a literal key would sit in the
	// config the admin API serves.
	return directive.CheckSecretPlaceholder("runpod api_key", h.APIKey)
}

// Cleanup releases the reverse proxies and idle connections; it is safe
// after a failed Provision.
func (h *Handler) Cleanup() error {
	var errs []error
	if h.proxy != nil {
		errs = append(errs, h.proxy.Cleanup())
	}
	errs = append(errs, h.upstream.Cleanup())
	return errors.Join(errs...)
}

// ServeHTTP serves the configured mode. It writes every failure itself
// (through gwerror) and returns nil, except for errors Caddy must see.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	switch h.Mode {
	case ModePods:
		return h.servePods(w, r)
	case ModeServerless:
		return h.serveServerless(w, r, next)
	default:
		return h.serveAPI(w, r, next)
	}
}

// resolveURL expands placeholders in a configured base URL (or uses def)
// and parses it.
func resolveURL(name, configured, def string) (*url.URL, error) {
	raw := configured
	if raw == "" {
		raw = def
	}
	raw = caddy.NewReplacer().ReplaceAll(raw, "")
	if err := checkBaseURL(name, raw); err != nil || raw == "" {
		if err == nil {
			err = fmt.Errorf("runpod: %s resolved to an empty value; set the variable it names", name)
		}
		return nil, err
	}
	u, _ := url.Parse(strings.TrimSuffix(raw, "/"))
	return u, nil
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
