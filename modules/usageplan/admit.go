package usageplan

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/gpugate/gpugate/modules/gwerror"
	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// verdict is the outcome of admitting one request.
type verdict struct {
	// reject is the gateway response to write; nil when admitted.
	reject *gwerror.Response
	// outcome is the metric label.
	outcome string
	key     store.Key
	plan    *compiledPlan
	// decision is the store's answer; counted is false when the store
	// failed and on_store_error allow let the request through uncounted.
	decision store.Decision
	counted  bool
	// throttle is the bucket that applied (the plan's or an override's).
	throttle *store.Throttle
	// store decided; the lease and the charge go back to it (the config
	// may have been replaced by the time the response ends).
	store store.Store
}

// admit authenticates the key value, picks the first accepted plan the
// key belongs to and asks the store for a decision.
// checkBudgets is false on routes that read work already paid for (a job's
// status): their meters are charged, their budgets not checked.
func (a *App) admit(ctx context.Context, r *http.Request, value string, accepted []string, cost int64, checkBudgets bool) verdict {
	if value == "" {
		return forbidden(gwerror.InvalidAPIKey)
	}
	// One store_timeout bounds all of this request's store work: the key
	// lookup (when its cache entry expired) and the decision together.
	ctx, cancel := a.storeContext(ctx)
	defer cancel()
	st := a.st()
	hash := HashKey(value)
	key, err := a.lookupKey(ctx, st, hash)
	if errors.Is(err, store.ErrNotFound) {
		return forbidden(gwerror.InvalidAPIKey)
	}
	if err != nil {
		// A key that cannot be verified is never admitted, whatever
		// on_store_error says: failing open here would admit any value.
		a.metrics.storeErrors.WithLabelValues(a.storeKind, opKeyLookup).Inc()
		a.storeErrors.warn("usage plans: key lookup failed", zap.Error(err))
		return storeUnavailable()
	}
	if !key.Enabled {
		return forbidden(gwerror.InvalidAPIKey)
	}
	now := a.now()
	if !key.AcceptsHash(hash, now) {
		// The value before a rotation, after its grace period.
		a.keyRefusals.warn("usage plans: a rotated key's old value was refused (grace period over)",
			zap.String("key_id", key.ID), zap.Time("grace_ended", key.PreviousUntil))
		return forbidden(gwerror.InvalidAPIKey)
	}
	if key.Expired(now) {
		a.keyRefusals.warn("usage plans: an expired key was refused", zap.String("key_id", key.ID), zap.Time("expired", key.Expires))
		return forbidden(gwerror.InvalidAPIKey)
	}
	plan := a.acceptedPlan(key, accepted)
	if plan == nil {
		return forbidden(gwerror.AccessDenied)
	}
	req := store.Request{KeyID: key.ID, Plan: plan.name, Throttle: plan.throttle, Quota: plan.quota,
		Concurrency: plan.concurrency, Cost: cost, Now: now}
	if checkBudgets {
		req.Budgets = plan.budgets
	}
	for _, o := range plan.overrides {
		if (o.method == "*" || o.method == r.Method) && matchPathOrSlash(o.path, r) {
			req.Bucket, req.Throttle = o.bucket, o.throttle
			break
		}
	}
	start := time.Now()
	d, err := st.Decide(ctx, req)
	a.metrics.decideDuration.Get(func() prometheus.Observer {
		return a.metrics.storeDuration.WithLabelValues(a.storeKind)
	}).Observe(time.Since(start).Seconds())
	if err != nil {
		a.metrics.storeErrors.WithLabelValues(a.storeKind, opDecide).Inc()
		a.storeErrors.warn("usage plans: store decision failed", zap.String("plan", plan.name), zap.Error(err))
		if a.OnStoreError == "allow" {
			return verdict{outcome: outcomeStoreAllowed, key: key, plan: plan}
		}
		v := storeUnavailable()
		v.plan = plan
		return v
	}
	v := verdict{outcome: d.Outcome.String(), key: key, plan: plan, decision: d, counted: true, throttle: req.Throttle, store: st}
	if d.Outcome != store.Admitted {
		v.reject = &gwerror.Response{Type: rejectType(d.Outcome), Header: http.Header{
			"Retry-After": {retryAfter(d.RetryAfter)},
		}}
		if d.Outcome == store.BudgetExhausted && d.Budget >= 0 && d.Budget < len(plan.budgets) {
			v.reject.Status = plan.budgetStatus[d.Budget]
			setExhaustedBudgetHeaders(v.reject.Header, plan.budgets[d.Budget], d.RetryAfter, now)
		}
	}
	return v
}

// matchPathOrSlash matches like Caddy's path matcher, treating /x and /x/
// alike, so a throttle override for POST /api/generate also covers POST
// /api/generate/ (most upstream routers serve both).
func matchPathOrSlash(m caddyhttp.MatchPath, r *http.Request) bool {
	if m.Match(r) {
		return true
	}
	p := r.URL.Path
	if p == "" || p == "/" {
		return false
	}
	u := *r.URL
	if strings.HasSuffix(p, "/") {
		u.Path = strings.TrimRight(p, "/")
		u.RawPath = strings.TrimRight(u.RawPath, "/")
	} else {
		u.Path = p + "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	r2 := *r
	r2.URL = &u
	return m.Match(&r2)
}

// lookupKey finds a configured key, then a stored one in st.
func (a *App) lookupKey(ctx context.Context, st store.Store, hash string) (store.Key, error) {
	if k, ok := a.static[hash]; ok {
		return k, nil
	}
	return st.KeyByHash(ctx, hash)
}

// storeContext bounds the store work of one request by store_timeout.
// The embedded store answers from memory and needs no deadline (which
// would cost a timer per call).
func (a *App) storeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if a.storeKind != "redis" {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, a.storeTimeout())
}

// backgroundContext is for store calls after the response (release,
// refund): they must happen even when the client went away.
func (a *App) backgroundContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if a.storeKind != "redis" {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), time.Second)
}

// acceptedPlan is the first of the route's plans the key belongs to.
func (a *App) acceptedPlan(key store.Key, accepted []string) *compiledPlan {
	for _, name := range accepted {
		if slices.Contains(key.Plans, name) {
			return a.plans[name]
		}
	}
	return nil
}

func forbidden(t gwerror.Type) verdict {
	return verdict{reject: &gwerror.Response{Type: t}, outcome: outcomeForbidden}
}

func storeUnavailable() verdict {
	return verdict{outcome: outcomeStoreDenied, reject: &gwerror.Response{Type: gwerror.Default5XX,
		Status: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {"1"}}}}
}

func rejectType(o store.Outcome) gwerror.Type {
	switch o {
	case store.Throttled:
		return gwerror.Throttled
	case store.QuotaExceeded, store.BudgetExhausted:
		return gwerror.QuotaExceeded
	default:
		return gwerror.ConcurrencyLimited
	}
}

// retryAfter formats a wait as Retry-After seconds, rounded up, at least 1.
func retryAfter(d time.Duration) string {
	s := store.CeilSeconds(d)
	if s < 1 {
		s = 1
	}
	return itoa(s)
}
