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
// The throttle's window is the time to refill the whole burst.
func setRateLimitHeaders(h http.Header, v verdict, now time.Time) {
	var policyBuf, stateBuf [160]byte
	policy, state := policyBuf[:0], stateBuf[:0]
	d := v.decision
	if t := v.throttle; t != nil {
		w := max(store.CeilSeconds(time.Duration(t.Burst)*t.Interval()), 1)
		policy = appendItem(policy, `"throttle";q=`, t.Burst, ";w=", w)
		state = appendItem(state, `"throttle";r=`, d.ThrottleRemaining, ";t=", store.CeilSeconds(d.ThrottleReset))
	}
	if q := v.plan.quota; q != nil {
		start, end := q.Window(now)
		policy = appendItem(policy, `"quota";q=`, q.Limit, ";w=", int64(end.Sub(start)/time.Second))
		state = appendItem(state, `"quota";r=`, max(d.QuotaRemaining, 0), ";t=", store.CeilSeconds(d.QuotaReset))
	}
	for i, b := range v.plan.budgets {
		if i >= len(d.Budgets) {
			break // not checked on this route (skip_budgets)
		}
		start, end := b.Quota.Window(now)
		name := `"budget_` + b.Meter + `";q=`
		policy = appendItem(policy, name, budgetUnits(b.Quota.Limit), ";w=", int64(end.Sub(start)/time.Second))
		state = appendItem(state, name[:len(name)-2]+"r=", max(budgetUnits(d.Budgets[i].Remaining), 0), ";t=", store.CeilSeconds(d.Budgets[i].Reset))
	}
	if len(policy) == 0 {
		return
	}
	// One string and one slice hold both values.
	both := string(append(policy, state...))
	values := []string{both[:len(policy)], both[len(policy):]}
	h["Ratelimit-Policy"] = values[0:1:1]
	h["Ratelimit"] = values[1:2:2]
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
