package usageplan

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gpugate/gpugate/modules/internal/recorder"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/gpugate/gpugate/modules/gwerror"
	"github.com/gpugate/gpugate/modules/internal/metering"
	"github.com/gpugate/gpugate/modules/internal/upstream"
	"github.com/gpugate/gpugate/modules/policy"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler enforces usage plans on a route (directive usage_plan): it reads
// the client's API key, admits or rejects the request under the first of
// the route's plans the key belongs to, and adds RateLimit headers.
type Handler struct {
	// Plans the route accepts, in order of preference.
	Plans []string `json:"plans"`
	// KeySource says where the key is read from (default header X-Api-Key).
	KeySource *KeySource `json:"key_source,omitempty"`
	// Cost is the quota units one request uses (default 1; 0 allowed).
	Cost *int64 `json:"cost,omitempty"`
	// RefundOn lists failures that give the quota units back: "5xx"
	// (any 5xx response or handler error) and "timeout" (upstream timeout).
	RefundOn []string `json:"refund_on,omitempty"`
	// HideRateLimitHeaders omits RateLimit-Policy and RateLimit.
	HideRateLimitHeaders bool `json:"hide_ratelimit_headers,omitempty"`
	// SkipBudgets admits requests whatever the plan's budgets say, still
	// charging its meters: for routes that read work already paid for (a
	// job's status), which an exhausted budget must not cut off.
	SkipBudgets bool `json:"skip_budgets,omitempty"`

	app           *App
	errors        *gwerror.Writer
	source        KeySource
	cost          int64
	refund5xx     bool
	refundTimeout bool
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.gpugate_usage_plan", New: func() caddy.Module { return new(Handler) }}
}

// Provision loads the usage_plans app and the error writer.
func (h *Handler) Provision(ctx caddy.Context) error {
	if err := policy.RequireOnServer(ctx, "usage_plan"); err != nil {
		return err
	}
	app, err := loadApp(ctx, "usage_plan")
	if err != nil {
		return err
	}
	return h.provisionWith(ctx, app)
}

// provisionWith finishes provisioning against app.
func (h *Handler) provisionWith(ctx caddy.Context, app *App) error {
	if err := h.Validate(); err != nil {
		return err
	}
	for _, p := range h.Plans {
		if _, ok := app.plans[p]; !ok {
			return errUnknownPlan(p, app.planNames())
		}
	}
	h.app = app
	var err error
	if h.errors, err = gwerror.Load(ctx); err != nil {
		return err
	}
	h.source = KeySource{From: "header", Name: DefaultKeyHeader}
	if h.KeySource != nil {
		h.source = *h.KeySource
	}
	h.cost = 1
	if h.Cost != nil {
		h.cost = *h.Cost
	}
	for _, f := range h.RefundOn {
		h.refund5xx = h.refund5xx || f == "5xx"
		h.refundTimeout = h.refundTimeout || f == "timeout"
	}
	return nil
}

// Validate checks the handler's own fields (fast, no side effects).
func (h *Handler) Validate() error {
	if len(h.Plans) == 0 {
		return errNoPlans
	}
	if h.KeySource != nil {
		if err := h.KeySource.validate(); err != nil {
			return err
		}
	}
	if h.Cost != nil && *h.Cost < 0 {
		return errNegativeCost
	}
	for _, f := range h.RefundOn {
		if f != "5xx" && f != "timeout" {
			return errRefundOn(f)
		}
	}
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	value := h.source.extract(r)
	v := h.admitObserved(r, value)
	planLabel := noPlan
	if v.plan != nil {
		planLabel = v.plan.name
	}
	if v.counted && v.reject == nil { // admitted
		v.plan.admitted(h.app.metrics).Inc()
	} else {
		h.app.metrics.decisions.WithLabelValues(planLabel, v.outcome).Inc()
	}
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok && v.key.ID != "" {
		// Also on a 429, so access logs show which key was limited.
		plan := ""
		if v.plan != nil {
			plan = v.plan.name
		}
		repl.Map(keyPlaceholders(v.key.ID, v.key.Name, plan))
	}
	if v.reject != nil {
		h.errors.Write(w, r, *v.reject)
		return nil
	}
	if v.counted && !h.HideRateLimitHeaders {
		setRateLimitHeaders(w.Header(), v, h.app.now())
	}
	if v.decision.Lease.ID != "" {
		v.plan.leases(h.app.metrics).Inc()
		defer h.release(r, v)
	}
	refundable := h.refund5xx || h.refundTimeout
	refunds := v.decision.Charge.Cost > 0 && refundable
	metered := v.counted && len(v.plan.meters) > 0
	if !refunds && !metered {
		return next.ServeHTTP(w, r)
	}
	var sheet *metering.Sheet
	if metered {
		var ctx context.Context
		ctx, sheet = metering.WithSheet(r.Context())
		r = r.WithContext(ctx)
	}
	rec := recorder.New(w)
	err := next.ServeHTTP(rec, r)
	failed := refundable && h.shouldRefund(rec.Status(), err)
	if refunds && failed {
		ctx, cancel := h.app.backgroundContext(r.Context())
		defer cancel()
		if rerr := v.store.Refund(ctx, v.decision.Charge); rerr != nil {
			h.app.metrics.storeErrors.WithLabelValues(h.app.storeKind, opRefund).Inc()
			h.app.storeErrors.warn("usage plans: refund failed", zap.String("plan", v.plan.name), zap.Error(rerr))
		}
	}
	if metered && !failed {
		h.app.chargeMeters(w, r, v, sheet.Readings(), rec.Header())
	}
	return err
}

// shouldRefund decides whether a finished request gets its units back.
func (h *Handler) shouldRefund(status int, err error) bool {
	timedOut := err != nil && (upstream.IsTimeout(err) || handlerStatus(err) == http.StatusGatewayTimeout) ||
		status == http.StatusGatewayTimeout
	if h.refundTimeout && timedOut {
		return true
	}
	if !h.refund5xx {
		return false
	}
	if err != nil {
		return handlerStatus(err) >= 500 || handlerStatus(err) == 0
	}
	return status >= 500
}

// handlerStatus is the status of a caddyhttp.HandlerError, 0 otherwise.
func handlerStatus(err error) int {
	var he caddyhttp.HandlerError
	if errors.As(err, &he) {
		return he.StatusCode
	}
	return 0
}

// release frees the request's concurrency slot when the response ends,
// also when the client went away. A client that hung up keeps its slot
// for the plan's hold_after_disconnect, so that hanging up and retrying
// cannot put more work on an upstream that ignores disconnects than the
// cap allows. Releasing never delays the response: the Redis store sends
// releases in the background.
func (h *Handler) release(r *http.Request, v verdict) {
	if hold := v.plan.disconnectHold; hold > 0 && r.Context().Err() != nil {
		h.releaseAfter(hold, r, v)
		return
	}
	h.app.releaseLease(r.Context(), v)
}

// releaseAfter releases v's slot once hold has passed. (A function of its
// own: the closure keeps v on the heap, which only this path needs.)
func (h *Handler) releaseAfter(hold time.Duration, r *http.Request, v verdict) {
	h.app.afterFunc(hold, func() { h.app.releaseLease(r.Context(), v) })
}

// releaseLease gives v's slot back to the store that granted it.
func (a *App) releaseLease(ctx context.Context, v verdict) {
	v.plan.leases(a.metrics).Dec()
	ctx, cancel := a.backgroundContext(ctx)
	defer cancel()
	if err := v.store.Release(ctx, v.decision.Lease); err != nil {
		a.metrics.storeErrors.WithLabelValues(a.storeKind, opRelease).Inc()
		a.storeErrors.warn("usage plans: releasing a concurrency lease failed", zap.String("plan", v.plan.name), zap.Error(err))
	}
}

var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
