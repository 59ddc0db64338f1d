package usageplan

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// setRateLimitHeaders adds RateLimit-Policy and RateLimit
// (draft-ietf-httpapi-ratelimit-headers) for an admitted request:
//
//	RateLimit-Policy: "throttle";q=20;w=2, "quota";q=1000;w=86400
//	RateLimit: "throttle";r=19;t=1, "quota";r=998;t=41234
//
// The throttle's window is the time to refill the whole burst. The policy
// value changes only with the throttle, the budgets checked and a
// calendar window (a month's length), so the plan keeps the last one.
func setRateLimitHeaders(h http.Header, v verdict, now time.Time) {
	var stateBuf [160]byte
	state := stateBuf[:0]
	d := v.decision
	if t := v.throttle; t != nil {
		state = appendItem(state, `"throttle";r=`, d.ThrottleRemaining, ";t=", store.CeilSeconds(d.ThrottleReset))
	}
	if v.plan.quota != nil {
		state = appendItem(state, `"quota";r=`, max(d.QuotaRemaining, 0), ";t=", store.CeilSeconds(d.QuotaReset))
	}
	budgets := min(len(v.plan.budgets), len(d.Budgets)) // fewer on a skip_budgets route
	for i, b := range v.plan.budgets[:budgets] {
		state = appendItem(state, `"budget_`+b.Meter+`";r=`, max(budgetUnits(d.Budgets[i].Remaining), 0), ";t=", store.CeilSeconds(d.Budgets[i].Reset))
	}
	if len(state) == 0 {
		return
	}
	// One slice holds both values (the request's own: a header handler
	// may rewrite them in place).
	values := []string{v.plan.rateLimitPolicy(v.throttle, budgets, now), string(state)}
	h["Ratelimit-Policy"] = values[0:1:1]
	h["Ratelimit"] = values[1:2:2]
}

// rateLimitPolicy is a plan's RateLimit-Policy value for one throttle and
// number of budgets, while now is within from and until (every calendar
// window it names holds now).
type rateLimitPolicy struct {
	throttle    *store.Throttle
	budgets     int
	from, until time.Time
	value       string
}

// rateLimitPolicy returns the plan's RateLimit-Policy value for throttle
// and the first budgets budgets at now.
func (p *compiledPlan) rateLimitPolicy(throttle *store.Throttle, budgets int, now time.Time) string {
	if c := p.policy.Load(); c != nil && c.throttle == throttle && c.budgets == budgets &&
		!now.Before(c.from) && now.Before(c.until) {
		return c.value
	}
	var policy []byte
	var from, until time.Time
	window := func(q store.Quota) int64 {
		start, end := q.Window(now)
		if from.IsZero() || start.After(from) {
			from = start
		}
		if until.IsZero() || end.Before(until) {
			until = end
		}
		return int64(end.Sub(start) / time.Second)
	}
	if throttle != nil {
		w := max(store.CeilSeconds(time.Duration(throttle.Burst)*throttle.Interval()), 1)
		policy = appendItem(policy, `"throttle";q=`, throttle.Burst, ";w=", w)
	}
	if q := p.quota; q != nil {
		policy = appendItem(policy, `"quota";q=`, q.Limit, ";w=", window(*q))
	}
	for _, b := range p.budgets[:budgets] {
		policy = appendItem(policy, `"budget_`+b.Meter+`";q=`, budgetUnits(b.Quota.Limit), ";w=", window(b.Quota))
	}
	if until.IsZero() {
		from, until = time.Time{}, time.Unix(1<<62, 0) // no calendar window: always the same
	}
	c := &rateLimitPolicy{throttle: throttle, budgets: budgets, from: from, until: until, value: string(policy)}
	p.policy.Store(c)
	return c.value
}

// budgetUnits rounds micro-units down to whole units for a RateLimit item.
func budgetUnits(m int64) int64 {
	if m < 0 {
		return -((-m + store.Micro - 1) / store.Micro)
	}
	return m / store.Micro
}

// setExhaustedBudgetHeaders adds the RateLimit item of a budget without
// room to its 429 (or 402): remaining 0 until the window ends.
func setExhaustedBudgetHeaders(h http.Header, b store.Budget, reset time.Duration, now time.Time) {
	start, end := b.Quota.Window(now)
	name := `"budget_` + b.Meter + `"`
	h["Ratelimit-Policy"] = []string{string(appendItem(nil, name+";q=", budgetUnits(b.Quota.Limit), ";w=", int64(end.Sub(start)/time.Second)))}
	h["Ratelimit"] = []string{string(appendItem(nil, name+";r=", 0, ";t=", store.CeilSeconds(reset)))}
}

// appendItem appends one structured-field list member such as
// `"quota";r=5;t=30`, with a separator when b is not empty.
func appendItem(b []byte, head string, a int64, mid string, c int64) []byte {
	if len(b) > 0 {
		b = append(b, ", "...)
	}
	b = append(b, head...)
	b = strconv.AppendInt(b, a, 10)
	b = append(b, mid...)
	return strconv.AppendInt(b, c, 10)
}
