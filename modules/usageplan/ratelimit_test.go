package usageplan

import (
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// TestRateLimitPolicyFollowsWindowThrottleAndBudgets: the plan's kept
// RateLimit-Policy value is rebuilt when a month ends (its length
// changes), for another throttle (a route override) and for a route that
// skips the budgets.
func TestRateLimitPolicyFollowsWindowThrottleAndBudgets(t *testing.T) {
	t.Parallel()
	own := &store.Throttle{Rate: 10, Burst: 20}
	override := &store.Throttle{Rate: 1, Burst: 5}
	p := &compiledPlan{
		throttle: own,
		quota:    &store.Quota{Limit: 1000, Period: store.Month},
		budgets:  []store.Budget{{Meter: "gpu_seconds", Quota: store.Quota{Limit: 3600 * store.Micro, Period: store.Day}}},
	}
	jan31 := time.Date(2027, time.January, 31, 23, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name     string
		throttle *store.Throttle
		budgets  int
		now      time.Time
		want     string
	}{
		{"january", own, 1, jan31,
			`"throttle";q=20;w=2, "quota";q=1000;w=2678400, "budget_gpu_seconds";q=3600;w=86400`},
		{"same again", own, 1, jan31.Add(30 * time.Minute),
			`"throttle";q=20;w=2, "quota";q=1000;w=2678400, "budget_gpu_seconds";q=3600;w=86400`},
		{"february", own, 1, jan31.Add(time.Hour),
			`"throttle";q=20;w=2, "quota";q=1000;w=2419200, "budget_gpu_seconds";q=3600;w=86400`},
		{"override", override, 1, jan31.Add(time.Hour),
			`"throttle";q=5;w=5, "quota";q=1000;w=2419200, "budget_gpu_seconds";q=3600;w=86400`},
		{"skip_budgets", override, 0, jan31.Add(time.Hour),
			`"throttle";q=5;w=5, "quota";q=1000;w=2419200`},
		{"back in january", own, 1, jan31,
			`"throttle";q=20;w=2, "quota";q=1000;w=2678400, "budget_gpu_seconds";q=3600;w=86400`},
	} {
		if got := p.rateLimitPolicy(c.throttle, c.budgets, c.now); got != c.want {
			t.Errorf("%s: RateLimit-Policy %s, want %s", c.name, got, c.want)
		}
	}
	throttleOnly := &compiledPlan{throttle: own}
	for _, now := range []time.Time{jan31, jan31.AddDate(5, 0, 0)} {
		if got := throttleOnly.rateLimitPolicy(own, 0, now); got != `"throttle";q=20;w=2` {
			t.Errorf("throttle only at %v: %s", now, got)
		}
	}
}
