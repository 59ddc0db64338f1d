package health

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Modes of the handler.
const (
	// ModeLive answers 200 while the process serves HTTP (liveness).
	ModeLive = "live"
	// ModeReady answers 200 only when every readiness check passes, 503
	// otherwise (readiness).
	ModeReady = "ready"
)

// DefaultTimeout bounds one readiness probe.
const DefaultTimeout = 2 * time.Second

// Names of the handler's own checks.
const (
	checkConfig   = "config"
	checkShutdown = "shutdown"
)

// Handler answers health probes (directive gpugate_health). It is
// terminal: it writes the report and never calls the next handler.
type Handler struct {
	// Mode is "live" or "ready" (default).
	Mode string `json:"mode,omitempty"`
	// Timeout bounds a readiness probe (default 2s); a checker that has
	// not answered by then fails.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	checkers []namedChecker
	metrics  *prometheus.GaugeVec
	// running reports whether ctx's configuration is the one Caddy runs
	// (injected by tests).
	running func() bool
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.gpugate_health", New: func() caddy.Module { return new(Handler) }}
}

// Provision loads every readiness checker of Namespace (ready mode) and
// registers the metrics.
func (h *Handler) Provision(ctx caddy.Context) error {
	if err := h.Validate(); err != nil {
		return err
	}
	if h.running == nil {
		// Each config has a registry of its own (and handlers a context
		// derived from the config's, so contexts do not compare).
		reg := ctx.GetMetricsRegistry()
		h.running = func() bool {
			active := caddy.ActiveContext()
			return active.GetMetricsRegistry() == reg
		}
	}
	var err error
	if h.metrics, err = checkUp.Register(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("gpugate_health: registering metrics: %w", err)
	}
	if h.mode() != ModeReady {
		return nil
	}
	for _, info := range caddy.GetModules(Namespace) {
		m, err := ctx.LoadModuleByID(string(info.ID), nil)
		if err != nil {
			return fmt.Errorf("gpugate_health: loading readiness check %s: %w", info.ID, err)
		}
		c, ok := m.(Checker)
		if !ok {
			return fmt.Errorf("gpugate_health: module %s is in namespace %s but is no health.Checker", info.ID, Namespace)
		}
		h.checkers = append(h.checkers, namedChecker{name: info.ID.Name(), Checker: c})
	}
	return nil
}

// Validate checks the mode and timeout (fast, no side effects).
func (h *Handler) Validate() error {
	switch h.Mode {
	case "", ModeLive, ModeReady:
	default:
		return fmt.Errorf("gpugate_health: mode %q: write live or ready", h.Mode)
	}
	if h.Timeout < 0 {
		return fmt.Errorf("gpugate_health: timeout must be positive; write e.g. timeout 2s")
	}
	return nil
}

func (h *Handler) mode() string {
	if h.Mode == "" {
		return ModeReady
	}
	return h.Mode
}

func (h *Handler) timeout() time.Duration {
	if h.Timeout > 0 {
		return time.Duration(h.Timeout)
	}
	return DefaultTimeout
}

// namedChecker is a loaded checker and its module name (what a probe
// reports when the checker does not answer in time).
type namedChecker struct {
	name string
	Checker
}

// report is the JSON body of a probe.
type report struct {
	// Status is "ok" (200) or "unavailable" (503).
	Status string        `json:"status"`
	Checks []checkReport `json:"checks,omitempty"`
}

type checkReport struct {
	Name   string `json:"name"`
	Status string `json:"status"` // "ok" or "fail"
	Detail string `json:"detail,omitempty"`
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	rep := report{Status: "ok"}
	if h.mode() == ModeReady {
		checks := h.readiness(r)
		for _, c := range checks {
			cr := checkReport{Name: c.Name, Status: "ok", Detail: c.Detail}
			up := 1.0
			if !c.OK {
				cr.Status, up, rep.Status = "fail", 0, "unavailable"
			}
			h.metrics.WithLabelValues(c.Name).Set(up)
			rep.Checks = append(rep.Checks, cr)
		}
	}
	body, err := json.Marshal(rep)
	if err != nil {
		return caddyhttp.Error(http.StatusInternalServerError, err)
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	status := http.StatusOK
	if rep.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	w.WriteHeader(status)
	_, err = w.Write(append(body, '\n'))
	return err
}

// readiness runs the handler's own checks and every checker's, in
// parallel and bounded by the timeout, sorted by name. A checker that has
// not answered in time is reported failed under its module name (its
// goroutine ends on its own: the channel has room for every answer).
func (h *Handler) readiness(r *http.Request) []Check {
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout())
	defer cancel()
	checks := []Check{h.configCheck(), shutdownCheck(r)}
	type answer struct {
		i      int
		checks []Check
	}
	answers := make(chan answer, len(h.checkers))
	for i, c := range h.checkers {
		go func() { answers <- answer{i, c.CheckHealth(ctx)} }()
	}
	answered := make([]bool, len(h.checkers))
	for range h.checkers {
		select {
		case a := <-answers:
			answered[a.i] = true
			checks = append(checks, a.checks...)
		case <-ctx.Done():
			for i, c := range h.checkers {
				if !answered[i] {
					checks = append(checks, Check{Name: c.name, Detail: fmt.Sprintf("no answer within %s", h.timeout())})
				}
			}
			sortChecks(checks)
			return checks
		}
	}
	sortChecks(checks)
	return checks
}

func sortChecks(checks []Check) {
	sort.SliceStable(checks, func(i, j int) bool { return checks[i].Name < checks[j].Name })
}

// configCheck passes when this handler's configuration finished starting
// and is the one Caddy runs (not one still starting, nor one a reload
// replaced).
func (h *Handler) configCheck() Check {
	if h.running() {
		return Check{Name: checkConfig, OK: true, Detail: "running"}
	}
	return Check{Name: checkConfig, Detail: "this configuration is starting or was replaced"}
}

// shutdownCheck fails while the server is shutting down (Caddy's
// shutdown_delay): the load balancer takes the instance out while it still
// serves, then the grace period drains the requests in flight.
func shutdownCheck(r *http.Request) Check {
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if repl != nil {
		if v, _ := repl.Get("http.shutting_down"); v == true {
			return Check{Name: checkShutdown, Detail: "shutting down; draining requests in flight"}
		}
	}
	return Check{Name: checkShutdown, OK: true, Detail: "serving"}
}

var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
