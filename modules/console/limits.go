package console

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan"
	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// planRow is a plan's limits in words.
type planRow struct {
	Name        string
	Throttle    string
	Overrides   []string
	Quota       string
	Concurrency string
	Keys        int
}

func describePlan(name string, p *usageplan.Plan) planRow {
	row := planRow{Name: name, Throttle: describeThrottle(p.Throttle), Quota: "none", Concurrency: "no cap"}
	for _, o := range p.ThrottleOverrides {
		row.Overrides = append(row.Overrides, o.Method+" "+o.Path+": "+describeThrottle(&o.Throttle))
	}
	if q := p.Quota; q != nil {
		row.Quota = fmt.Sprintf("%d per %s", q.Limit, q.Period)
		if q.Offset > 0 {
			row.Quota += fmt.Sprintf(" (windows start %s later)", time.Duration(q.Offset))
		}
	}
	if p.Concurrency > 0 {
		row.Concurrency = fmt.Sprintf("%d in flight", p.Concurrency)
		if p.HoldAfterDisconnect > 0 {
			row.Concurrency += fmt.Sprintf(", a slot kept %s after a disconnect", time.Duration(p.HoldAfterDisconnect))
		}
	}
	return row
}

func describeThrottle(t *store.Throttle) string {
	if t == nil {
		return "none"
	}
	return formatRate(t.Rate) + ", burst " + strconv.FormatInt(t.Burst, 10)
}

func formatRate(rate float64) string {
	return strconv.FormatFloat(rate, 'f', -1, 64) + " req/s"
}

// summary is a plan's limits in one line.
func (r planRow) summary() string {
	s := "Throttle " + r.Throttle
	for _, o := range r.Overrides {
		s += "; " + o
	}
	return s + ". Quota " + r.Quota + ". Concurrency " + r.Concurrency + "."
}

// sortedPlans lists the app's plans by name.
func sortedPlans(app *usageplan.App) []string {
	names := make([]string, 0, len(app.Plans))
	for name := range app.Plans {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// quotaOf is a plan's quota in the store's form, nil when it has none.
func quotaOf(p *usageplan.Plan) *store.Quota {
	if p == nil || p.Quota == nil {
		return nil
	}
	return &store.Quota{Limit: p.Quota.Limit, Period: p.Quota.Period, Offset: time.Duration(p.Quota.Offset)}
}

// formatTime is a time as the console shows it.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
