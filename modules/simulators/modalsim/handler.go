package modalsim

import (
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gpugate/gpugate/modules/internal/directive"
	"github.com/gpugate/gpugate/modules/internal/upstream"
	"github.com/gpugate/gpugate/modules/simulators/internal/pool"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Defaults of the handler (the zero value of each field).
const (
	DefaultCallLimit = 150 * time.Second
	DefaultJobStep   = 5 * time.Second
)

// Handler serves the Modal/MultiTalk simulator from Caddy (module
// http.handlers.gpugate_modal_simulator, directive modal_simulator): a site
// such as http://127.0.0.1:9912 answers like
// https://<workspace>--multitalk-api-fastapi-app.modal.run, so a gateway, a
// client or a test can work without a Modal account. It is terminal. Its
// jobs live in memory and survive config reloads that leave its
// configuration unchanged.
type Handler struct {
	// APIKey is the bearer key the MultiTalk app checks, as a placeholder
	// such as {env.MULTITALK_API_KEY}; empty: no bearer check.
	APIKey string `json:"api_key,omitempty"`
	// ProxyKey and ProxySecret turn on Modal's proxy auth (Modal-Key and
	// Modal-Secret), as placeholders; both or neither.
	ProxyKey    string `json:"proxy_key,omitempty"`
	ProxySecret string `json:"proxy_secret,omitempty"`
	// CallLimit is how long a web request runs before Modal's 303 (default
	// 150s, Modal's limit).
	CallLimit caddy.Duration `json:"call_limit,omitempty"`
	// JobStep is how long a job stays in each progress step (default 5s):
	// pending for one step, processing for three, then completed.
	JobStep caddy.Duration `json:"job_step,omitempty"`

	sim     http.Handler
	poolKey string
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.gpugate_modal_simulator", New: func() caddy.Module { return new(Handler) }}
}

// Provision resolves the keys and takes the simulator from the pool (a
// reload with the same configuration keeps its jobs).
func (h *Handler) Provision(caddy.Context) error {
	opts := Options{CallLimit: time.Duration(h.CallLimit), JobStep: time.Duration(h.JobStep), RecordLimit: -1}
	if opts.CallLimit == 0 {
		opts.CallLimit = DefaultCallLimit
	}
	if opts.JobStep == 0 {
		opts.JobStep = DefaultJobStep
	}
	for _, s := range []struct {
		field, configured string
		into              *string
	}{
		{"modal_simulator api_key", h.APIKey, &opts.APIKey},
		{"modal_simulator proxy_auth key", h.ProxyKey, &opts.ProxyKey},
		{"modal_simulator proxy_auth secret", h.ProxySecret, &opts.ProxySecret},
	} {
		if s.configured == "" {
			continue
		}
		v, err := upstream.ResolveSecret(s.field, s.configured)
		if err != nil {
			return err
		}
		*s.into = v
	}
	var err error
	h.sim, h.poolKey, err = pool.Acquire("modal_simulator", h, []string{opts.APIKey, opts.ProxyKey, opts.ProxySecret},
		func() http.Handler { return New(opts) })
	return err
}

// Validate checks the configuration without side effects.
func (h *Handler) Validate() error {
	for field, v := range map[string]string{"modal_simulator api_key": h.APIKey, "modal_simulator proxy_auth key": h.ProxyKey,
		"modal_simulator proxy_auth secret": h.ProxySecret} {
		if v == "" {
			continue
		}
		if err := directive.CheckSecretPlaceholder(field, v); err != nil {
			return err
		}
	}
	if (h.ProxyKey == "") != (h.ProxySecret == "") {
		return fmt.Errorf("modal_simulator: proxy_auth needs both the key and the secret; write `proxy_auth {env.MODAL_KEY} {env.MODAL_SECRET}`")
	}
	if h.CallLimit < 0 || h.JobStep < 0 {
		return fmt.Errorf("modal_simulator: call_limit and job_step must not be negative; write e.g. `job_step 2s`")
	}
	return nil
}

// ServeHTTP answers the request as the Modal endpoint would.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	h.sim.ServeHTTP(w, r)
	return nil
}

// Cleanup lets go of the pooled simulator; safe after a failed Provision.
func (h *Handler) Cleanup() error {
	pool.Release(h.poolKey)
	return nil
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
