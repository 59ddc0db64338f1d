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
	// Meters is each meter's [used, remaining] per key and UTC day, in the
	// meter's unit (remaining is -1 for a meter without a budget).
	Meters map[string]map[string][][2]float64 `json:"meters,omitempty"`
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
	if err := a.meterUsage(ctx, &out, plan, ids, from, to); err != nil {
		return Usage{}, err
	}
	return out, nil
}

// meterUsage adds each meter's daily use and remaining budget.
func (a *App) meterUsage(ctx context.Context, out *Usage, plan *compiledPlan, ids []string, from, to time.Time) error {
	for _, m := range plan.meters {
		var q *store.Quota
		if m.window.Limit >= 0 {
			q = &m.window
		}
		queryFrom := from
		if q != nil {
			start, _ := q.Window(from)
			queryFrom = store.UTCDay(start)
		}
		lead := int(from.Sub(queryFrom) / (24 * time.Hour))
		perKey := map[string][][2]float64{}
		for _, id := range ids {
			days, err := a.st().Usage(ctx, id, store.MeterCounter(plan.name, m.name), queryFrom, to)
			if err != nil {
				return err
			}
			pairs := usagePairs(days, q)[lead:]
			fl := make([][2]float64, len(pairs))
			for i, p := range pairs {
				fl[i] = [2]float64{fromMicros(p[0]), -1}
				if q != nil {
					fl[i][1] = fromMicros(p[1])
				}
			}
			perKey[id] = fl
		}
		if out.Meters == nil {
			out.Meters = map[string]map[string][][2]float64{}
		}
		out.Meters[m.name] = perKey
	}
	return nil
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
