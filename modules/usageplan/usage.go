package usageplan

import (
	"context"
	"strings"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// maxUsageDays bounds one usage query (API Gateway allows 90 days).
const maxUsageDays = 366

// Usage is API Gateway's get-usage answer: for each key, one
// [used, remaining] pair per UTC day from StartDate to EndDate.
type Usage struct {
	// UsagePlanID, StartDate and EndDate echo the query.
	UsagePlanID string                `json:"usagePlanId"`
	StartDate   string                `json:"startDate"`
	EndDate     string                `json:"endDate"`
	Values      map[string][][2]int64 `json:"values"`
}

// UsageOf returns the usage of plan for one key (keyID non-empty) or for
// every key in the plan, for the UTC days from..to.
func (a *App) UsageOf(ctx context.Context, planName, keyID string, from, to time.Time) (Usage, error) {
	if planName == "" {
		return Usage{}, badRequest("name the plan: plan=<name> (declared: %s)", strings.Join(a.planNames(), ", "))
	}
	plan, ok := a.plans[planName]
	if !ok {
		return Usage{}, badRequest("unknown plan %q (declared: %s)", planName, strings.Join(a.planNames(), ", "))
	}
	from, to = store.UTCDay(from), store.UTCDay(to)
	if to.Before(from) {
		return Usage{}, badRequest("end date is before start date")
	}
	if to.Sub(from) > maxUsageDays*24*time.Hour {
		return Usage{}, badRequest("at most %d days per query", maxUsageDays)
	}
	var ids []string
	if keyID != "" {
		kv, err := a.Key(ctx, keyID)
		if err != nil {
			return Usage{}, err
		}
		if _, err := a.keyPlan(kv, planName); err != nil {
			return Usage{}, err
		}
		ids = []string{keyID}
	} else {
		keys, err := a.ListKeys(ctx)
		if err != nil {
			return Usage{}, err
		}
		for _, k := range keys {
			for _, p := range k.Plans {
				if p == planName {
					ids = append(ids, k.ID)
				}
			}
		}
	}
	out := Usage{UsagePlanID: planName, StartDate: from.Format(time.DateOnly), EndDate: to.Format(time.DateOnly),
		Values: map[string][][2]int64{}}
	// Read from the start of the first day's quota window, so the first
	// day's remaining accounts for use earlier in the same window.
	queryFrom := from
	if plan.quota != nil {
		start, _ := plan.quota.Window(from)
		queryFrom = store.UTCDay(start)
	}
	lead := int(from.Sub(queryFrom) / (24 * time.Hour))
	for _, id := range ids {
		days, err := a.st().Usage(ctx, id, planName, queryFrom, to)
		if err != nil {
			return Usage{}, err
		}
		out.Values[id] = usagePairs(days, plan.quota)[lead:]
	}
	return out, nil
}

// usagePairs turns stored days into [used, remaining] pairs. A day with no
// activity keeps the previous day's remaining within the same quota
// window, and starts a new window at the full limit.
func usagePairs(days []store.DayUsage, q *store.Quota) [][2]int64 {
	pairs := make([][2]int64, len(days))
	var remaining int64
	var window time.Time
	for i, d := range days {
		if q == nil {
			pairs[i] = [2]int64{d.Used, -1}
			continue
		}
		start, _ := q.Window(d.Day.Add(24*time.Hour - time.Nanosecond))
		if !start.Equal(window) {
			window, remaining = start, q.Limit
		}
		if d.Known {
			remaining = d.Remaining
		}
		pairs[i] = [2]int64{d.Used, max(remaining, 0)}
	}
	return pairs
}
