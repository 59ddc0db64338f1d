package console

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan"
	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// keyPage is one key: its record, its actions, and per plan its daily use
// and its limits now.
type keyPage struct {
	page
	Key        usageplan.KeyView
	Created    string
	Static     bool
	Actions    []actionButton
	Plans      []keyPlan
	StateError string
}

// keyPlan is the key under one of its plans.
type keyPlan struct {
	Name       string
	Limits     string
	Chart      *chart
	UsageError string
	Quota      string
	State      *stateView
}

// stateView is a plan's limits now, formatted.
type stateView struct {
	Throttles []bucketView
	InFlight  int64
	Cap       int64
}

type bucketView struct {
	Name      string
	Rate      string
	Burst     int64
	Available int64
	FullIn    string
}

func (c *Console) serveKey(w http.ResponseWriter, r *http.Request, app *usageplan.App, id string) {
	ctx := r.Context()
	kv, err := app.Key(ctx, id)
	if err != nil {
		status, msg := usageplan.ErrorStatus(err)
		c.pages.message(w, r, app, status, "Key "+id, msg)
		return
	}
	pg := keyPage{page: c.pages.newPage(r, app, "Key "+kv.Name), Key: kv, Created: formatTime(kv.Created),
		Static: kv.Source != "store", Actions: actionsFor(kv)}
	pg.Flash = doneMessage(r.URL.Query().Get("done"))
	states := map[string]usageplan.LimitState{}
	if ls, err := app.LimitStates(ctx, id); err != nil {
		_, pg.StateError = usageplan.ErrorStatus(err)
	} else {
		for _, s := range ls {
			states[s.Plan] = s
		}
	}
	today := store.UTCDay(app.Now())
	first := today.AddDate(0, 0, -(chartDays - 1))
	for _, name := range kv.Plans {
		plan, declared := app.Plans[name]
		if !declared {
			pg.Plans = append(pg.Plans, keyPlan{Name: name, Limits: "This plan is no longer declared: the key is refused on routes of it.",
				Chart: newChart("chart-"+name, first, nil), UsageError: "no such plan"})
			continue
		}
		kp := keyPlan{Name: name, Limits: describePlan(name, plan).summary()}
		u, err := app.UsageOf(ctx, name, id, first, today)
		if err != nil {
			_, kp.UsageError = usageplan.ErrorStatus(err)
			kp.Chart = newChart("chart-"+name, first, nil)
		} else {
			kp.Chart = newChart("chart-"+name, first, u.Values[id])
			kp.Quota = quotaLine(quotaOf(plan), u.Values[id], app.Now())
			if plan.Quota == nil {
				kp.Chart.Note = "This plan has no quota, so its use is not counted"
			}
		}
		if s, ok := states[name]; ok {
			kp.State = newStateView(s)
		}
		pg.Plans = append(pg.Plans, kp)
	}
	c.pages.render(w, http.StatusOK, "key", pg)
}

// quotaLine says what is left of the quota after today's requests.
func quotaLine(q *store.Quota, pairs [][2]int64, now time.Time) string {
	if q == nil || len(pairs) == 0 {
		return ""
	}
	_, end := q.Window(now)
	left := pairs[len(pairs)-1][1]
	return "Quota left after today's requests: " + strconv.FormatInt(left, 10) + " of " + strconv.FormatInt(q.Limit, 10) + " per " + string(q.Period) +
		"; the window ends " + formatTime(end) + "."
}

func newStateView(s usageplan.LimitState) *stateView {
	v := &stateView{InFlight: s.InFlight, Cap: s.Concurrency}
	for _, t := range s.Throttles {
		name := t.Bucket
		if name == "" {
			name = "plan default"
		}
		v.Throttles = append(v.Throttles, bucketView{Name: name, Rate: formatRate(t.Rate), Burst: t.Burst,
			Available: t.Available, FullIn: t.FullIn.Round(100 * time.Millisecond).String()})
	}
	return v
}
