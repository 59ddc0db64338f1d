package routemetrics

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gpugate/gpugate/modules/internal/recorder"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gpugate/gpugate/modules/internal/upstream"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// noPlan is the plan label of a request no usage plan admitted or named.
const noPlan = "none"

// Handler records the requests of one route (directive route_metrics): it
// wraps the rest of the route, so gateway errors (401, 403, 429, 5xx)
// count as well as the upstream's answers.
type Handler struct {
	// Route is the route's name, the metrics' route label.
	Route string `json:"route"`

	series *series
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.gpugate_route_metrics", New: func() caddy.Module { return new(Handler) }}
}

// Provision registers the metrics.
func (h *Handler) Provision(ctx caddy.Context) error {
	if err := h.Validate(); err != nil {
		return err
	}
	s, err := registerSeries(ctx.GetMetricsRegistry())
	if err != nil {
		return fmt.Errorf("route_metrics: registering metrics: %w", err)
	}
	h.series = s
	return nil
}

// Validate checks the route name (fast, no side effects).
func (h *Handler) Validate() error {
	if !namePattern.MatchString(h.Route) {
		return fmt.Errorf("route_metrics: route name %q: use 1-64 letters, digits, '.', '_' or '-', e.g. route_metrics generate", h.Route)
	}
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	start := time.Now()
	rec := recorder.New(w)
	err := next.ServeHTTP(rec, r)
	status := rec.Status()
	if err != nil {
		// Caddy writes the error response after this handler returns.
		status = http.StatusInternalServerError
		var he caddyhttp.HandlerError
		if errors.As(err, &he) && he.StatusCode != 0 {
			status = he.StatusCode
		}
	}
	if status == 0 {
		status = http.StatusOK
	}
	plan := noPlan
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if repl != nil {
		if p, _ := repl.GetString("http.usage_plan.plan"); p != "" {
			plan = p
		}
	}
	h.series.requests.WithLabelValues(h.Route, plan, statusClass(status)).Inc()
	h.series.duration.WithLabelValues(h.Route, plan).Observe(time.Since(start).Seconds())
	if d, ok := integrationLatency(repl); ok {
		h.series.integration.WithLabelValues(h.Route, plan).Observe(d.Seconds())
	}
	return err
}

// integrationLatency is the time the request's upstream took to answer
// with headers: Caddy's reverse_proxy sets its placeholder, gpugate's
// upstream client (runpod, modal) its own.
func integrationLatency(repl *caddy.Replacer) (time.Duration, bool) {
	if repl == nil {
		return 0, false
	}
	for _, key := range []string{upstream.LatencyPlaceholder, "http.reverse_proxy.upstream.latency"} {
		if v, ok := repl.Get(key); ok {
			if d, ok := v.(time.Duration); ok {
				return d, true
			}
		}
	}
	return 0, false
}

// statusClass is the status label: 1xx, 2xx, 3xx, 4xx or 5xx.
func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "5xx"
	}
	return fmt.Sprintf("%dxx", status/100)
}

var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
