package usageplan

import (
	"net/http"
	"strconv"
	"strings"
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
	var policy, state []string
	d := v.decision
	if t := v.throttle; t != nil {
		w := store.CeilSeconds(time.Duration(t.Burst) * t.Interval())
		policy = append(policy, `"throttle";q=`+itoa(t.Burst)+";w="+itoa(max(w, 1)))
		state = append(state, `"throttle";r=`+itoa(d.ThrottleRemaining)+";t="+itoa(store.CeilSeconds(d.ThrottleReset)))
	}
	if q := v.plan.quota; q != nil {
		start, end := q.Window(now)
		policy = append(policy, `"quota";q=`+itoa(q.Limit)+";w="+itoa(int64(end.Sub(start)/time.Second)))
		state = append(state, `"quota";r=`+itoa(max(d.QuotaRemaining, 0))+";t="+itoa(store.CeilSeconds(d.QuotaReset)))
	}
	if len(policy) == 0 {
		return
	}
	h.Set("RateLimit-Policy", strings.Join(policy, ", "))
	h.Set("RateLimit", strings.Join(state, ", "))
}
