package runpodsim

import (
	"fmt"
	"net/http"
	"regexp"
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

// Defaults of the handler's delays (the zero value of each field).
const (
	DefaultProvisionDelay = 2 * time.Second
	DefaultStartDelay     = 3 * time.Second
	DefaultQueueDelay     = time.Second
	DefaultRunDelay       = 3 * time.Second
)

// endpointIDPattern is what a Serverless endpoint id may look like.
var endpointIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Handler serves the RunPod simulator from Caddy (module
// http.handlers.gpugate_runpod_simulator, directive runpod_simulator): a
// site such as http://127.0.0.1:9911 answers like https://api.runpod.io/v2
// (and the Serverless API under the same /v2), so a gateway, a client or a
// test can work without a RunPod account. It is terminal: it never calls
// the next handler. Its state (pods, jobs) lives in memory and survives
// config reloads that leave its configuration unchanged.
type Handler struct {
	// APIKey is the bearer key clients must send, as a placeholder such as
	// {env.RUNPOD_API_KEY}; required.
	APIKey string `json:"api_key,omitempty"`
	// ProvisionDelay and StartDelay are how long a new pod stays
	// PROVISIONING, then STARTING (defaults 2s and 3s).
	ProvisionDelay caddy.Duration `json:"provision_delay,omitempty"`
	StartDelay     caddy.Duration `json:"start_delay,omitempty"`
	// Endpoints are the Serverless endpoint ids that exist.
	Endpoints []string `json:"endpoints,omitempty"`
	// QueueDelay and RunDelay are how long a job stays IN_QUEUE, then
	// IN_PROGRESS (defaults 1s and 3s).
	QueueDelay caddy.Duration `json:"queue_delay,omitempty"`
	RunDelay   caddy.Duration `json:"run_delay,omitempty"`
	// NoCapacity lists catalog GPU ids that answer 400 "no capacity".
	NoCapacity []string `json:"no_capacity,omitempty"`
	// RateLimitPerMinute answers 429 past this many requests a minute; 0
	// means unlimited.
	RateLimitPerMinute int `json:"rate_limit_per_minute,omitempty"`

	sim     http.Handler
	poolKey string
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.gpugate_runpod_simulator", New: func() caddy.Module { return new(Handler) }}
}

// Provision resolves the key and takes the simulator from the pool (a
// reload with the same configuration keeps its pods and jobs).
func (h *Handler) Provision(caddy.Context) error {
	key, err := upstream.ResolveSecret("runpod_simulator api_key", h.APIKey)
	if err != nil {
		return err
	}
	opts := Options{APIKey: key, ProvisionDelay: orDefault(h.ProvisionDelay, DefaultProvisionDelay),
		StartDelay: orDefault(h.StartDelay, DefaultStartDelay), Endpoints: h.Endpoints,
		QueueDelay: orDefault(h.QueueDelay, DefaultQueueDelay), RunDelay: orDefault(h.RunDelay, DefaultRunDelay),
		NoCapacity: h.NoCapacity, RateLimitPerMinute: h.RateLimitPerMinute,
		LogInterval: 500 * time.Millisecond,
		// Nobody reads the recorder of a simulator served by Caddy (the
		// access log shows what arrived): record nothing.
		RecordLimit: -1}
	h.sim, h.poolKey, err = pool.Acquire("runpod_simulator", h, []string{key}, func() http.Handler { return New(opts) })
	return err
}

// Validate checks the configuration without side effects.
func (h *Handler) Validate() error {
	if h.APIKey == "" {
		return fmt.Errorf("runpod_simulator: api_key is required; write e.g. `api_key {env.RUNPOD_API_KEY}` (the key the gateway sends)")
	}
	if err := directive.CheckSecretPlaceholder("runpod_simulator api_key", h.APIKey); err != nil {
		return err
	}
	for name, d := range map[string]caddy.Duration{"provision_delay": h.ProvisionDelay, "start_delay": h.StartDelay,
		"queue_delay": h.QueueDelay, "run_delay": h.RunDelay} {
		if d < 0 {
			return fmt.Errorf("runpod_simulator: %s must not be negative; write e.g. `%s 2s`", name, name)
		}
	}
	for _, id := range h.Endpoints {
		if !endpointIDPattern.MatchString(id) {
			return fmt.Errorf("runpod_simulator: endpoint %q: ids are 1 to 64 of A-Z a-z 0-9 _ -", id)
		}
		if id == "pods" || id == "catalog" {
			return fmt.Errorf("runpod_simulator: endpoint %q would shadow the management API; pick another id", id)
		}
	}
	for _, id := range h.NoCapacity {
		if _, ok := gpuType(id); !ok {
			return fmt.Errorf("runpod_simulator: no_capacity %q is not a GPU type id of the catalog (e.g. \"NVIDIA GeForce RTX 4090\")", id)
		}
	}
	if h.RateLimitPerMinute < 0 {
		return fmt.Errorf("runpod_simulator: rate_limit must be a positive number of requests per minute")
	}
	return nil
}

// ServeHTTP answers the request as RunPod would.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	h.sim.ServeHTTP(w, r)
	return nil
}

// Cleanup lets go of the pooled simulator; safe after a failed Provision.
func (h *Handler) Cleanup() error {
	pool.Release(h.poolKey)
	return nil
}

func orDefault(d caddy.Duration, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return time.Duration(d)
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
