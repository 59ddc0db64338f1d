package embedded

import (
	"context"
	"sync"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// windowID names one quota window of a key under a plan.
type windowID struct {
	keyID, plan string
	start       int64 // unix seconds
}

// dayID names one UTC day of a key under a plan.
type dayID struct {
	keyID, plan string
	day         int64 // unix seconds of UTC midnight
}

// dayRecord is the use of one day and the quota remaining after it.
type dayRecord struct {
	Used      int64 `json:"u"`
	Remaining int64 `json:"r"`
}

// bucketID names one throttle bucket.
type bucketID struct{ keyID, plan, bucket string }

// leaseID names the concurrency slots of a key under a plan.
type leaseID struct{ keyID, plan string }

// counters is the in-memory limiter state. Quota windows and days are
// persisted by the owner through dirty sets; throttle buckets and leases
// are process-local (a restart refills buckets and drops in-flight leases).
type counters struct {
	mu       sync.Mutex
	tats     map[bucketID]time.Time
	windows  map[windowID]int64
	days     map[dayID]dayRecord
	inflight map[leaseID]int64
	dirtyW   map[windowID]struct{}
	dirtyD   map[dayID]struct{}
	// byStart and byDay index windows and days by time, so pruning looks
	// only at the old ones instead of walking every record.
	byStart map[int64][]windowID
	byDay   map[int64][]dayID
	// extras are the once-marks, records and last-used times (spend.go).
	extras
}

// setWindow stores a window's use, indexing a new window.
func (c *counters) setWindow(id windowID, used int64) {
	if _, ok := c.windows[id]; !ok {
		c.byStart[id.start] = append(c.byStart[id.start], id)
	}
	c.windows[id] = used
}

// setDay stores a day's record, indexing a new day.
func (c *counters) setDay(id dayID, rec dayRecord) {
	if _, ok := c.days[id]; !ok {
		c.byDay[id.day] = append(c.byDay[id.day], id)
	}
	c.days[id] = rec
}

func newCounters() *counters {
	return &counters{
		tats:     map[bucketID]time.Time{},
		windows:  map[windowID]int64{},
		days:     map[dayID]dayRecord{},
		inflight: map[leaseID]int64{},
		dirtyW:   map[windowID]struct{}{},
		dirtyD:   map[dayID]struct{}{},
		byStart:  map[int64][]windowID{},
		byDay:    map[int64][]dayID{},
		extras:   newExtras(),
	}
}

// Decide implements store.Limiter.
func (c *counters) Decide(_ context.Context, req store.Request) (store.Decision, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var d store.Decision
	bucket := bucketID{req.KeyID, req.Plan, req.Bucket}
	var nextTat time.Time
	if req.Throttle != nil {
		next, ok, retry := req.Throttle.Admit(c.tats[bucket], req.Now)
		if !ok {
			return store.Decision{Outcome: store.Throttled, RetryAfter: retry}, nil
		}
		nextTat = next
	}
	var win windowID
	var used int64
	var windowEnd time.Time
	if req.Quota != nil {
		start, end := req.Quota.Window(req.Now)
		windowEnd = end
		win = windowID{req.KeyID, req.Plan, start.Unix()}
		used = c.windows[win]
		if used+req.Cost > req.Quota.Limit {
			return store.Decision{Outcome: store.QuotaExceeded, RetryAfter: end.Sub(req.Now)}, nil
		}
	}
	budgets, exhausted := c.budgetRoom(req)
	if exhausted >= 0 {
		return store.Decision{Outcome: store.BudgetExhausted, Budget: exhausted,
			RetryAfter: budgets[exhausted].Reset}, nil
	}
	lid := leaseID{req.KeyID, req.Plan}
	if req.Concurrency > 0 {
		if c.inflight[lid] >= req.Concurrency {
			return store.Decision{Outcome: store.ConcurrencyLimited, RetryAfter: time.Second}, nil
		}
		c.inflight[lid]++
		d.Lease = store.Lease{KeyID: req.KeyID, Plan: req.Plan, ID: "local"}
	}
	if req.Throttle != nil {
		c.tats[bucket] = nextTat
		d.ThrottleRemaining, d.ThrottleReset = req.Throttle.Remaining(nextTat, req.Now)
	}
	d.Budgets = budgets
	c.touch(req.KeyID, req.Now)
	if req.Quota != nil {
		var day time.Time
		used, day = c.count(req.KeyID, req.Plan, win, req.Quota.Limit, req.Cost, req.Now)
		d.QuotaRemaining = req.Quota.Limit - used
		d.QuotaReset = windowEnd.Sub(req.Now)
		d.Charge = store.Charge{KeyID: req.KeyID, Plan: req.Plan, Window: time.Unix(win.start, 0).UTC(),
			Day: day, Cost: req.Cost, Limit: req.Quota.Limit}
	}
	return d, nil
}

// count adds cost to the window win and to the UTC day of now, recording
// the limit's remaining for the day, and returns the window's use and the
// day. Quotas and meters count alike. Call with c.mu held.
func (c *counters) count(keyID, plan string, win windowID, limit, cost int64, now time.Time) (int64, time.Time) {
	used := c.windows[win] + cost
	c.setWindow(win, used)
	c.dirtyW[win] = struct{}{}
	day := store.UTCDay(now)
	did := dayID{keyID, plan, day.Unix()}
	rec := c.days[did]
	rec.Used += cost
	rec.Remaining = limit - used
	c.setDay(did, rec)
	c.dirtyD[did] = struct{}{}
	return used, day
}

// budgetRoom returns the room of req's budgets and the index of the first
// one without room (-1 when all have some). Call with c.mu held.
func (c *counters) budgetRoom(req store.Request) ([]store.BudgetState, int) {
	if len(req.Budgets) == 0 {
		return nil, -1
	}
	out := make([]store.BudgetState, len(req.Budgets))
	exhausted := -1
	for i, b := range req.Budgets {
		start, end := b.Quota.Window(req.Now)
		used := c.windows[windowID{req.KeyID, store.MeterCounter(req.Plan, b.Meter), start.Unix()}]
		out[i] = store.BudgetState{Remaining: b.Quota.Limit - used, Reset: end.Sub(req.Now)}
		if used >= b.Quota.Limit && exhausted < 0 {
			exhausted = i
		}
	}
	return out, exhausted
}

// Release implements store.Limiter.
func (c *counters) Release(_ context.Context, l store.Lease) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	lid := leaseID{l.KeyID, l.Plan}
	if c.inflight[lid] <= 1 {
		delete(c.inflight, lid)
	} else {
		c.inflight[lid]--
	}
	return nil
}

// Refund implements store.Limiter.
func (c *counters) Refund(_ context.Context, ch store.Charge) error {
	if ch.Cost == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	win := windowID{ch.KeyID, ch.Plan, ch.Window.Unix()}
	used := refunded(c.windows[win], ch.Cost)
	c.setWindow(win, used)
	c.dirtyW[win] = struct{}{}
	did := dayID{ch.KeyID, ch.Plan, ch.Day.Unix()}
	rec := c.days[did]
	rec.Used = refunded(rec.Used, ch.Cost)
	rec.Remaining = ch.Limit - used
	c.setDay(did, rec)
	c.dirtyD[did] = struct{}{}
	return nil
}

// refunded is used after giving cost back. A refund never takes a count
// that was at least 0 below 0 (a charge from before a reset), but a count
// that an admin's quota extension made negative stays as it is less the
// cost: clamping it would erase the extension.
func refunded(used, cost int64) int64 {
	after := used - cost
	if after < 0 && used >= 0 {
		return 0
	}
	return after
}

// Usage implements store.Limiter.
func (c *counters) Usage(_ context.Context, keyID, plan string, from, to time.Time) ([]store.DayUsage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []store.DayUsage
	for day := store.UTCDay(from); !day.After(to); day = day.AddDate(0, 0, 1) {
		rec, ok := c.days[dayID{keyID, plan, day.Unix()}]
		out = append(out, store.DayUsage{Day: day, Used: rec.Used, Remaining: rec.Remaining, Known: ok})
	}
	return out, nil
}

// ChangeQuota implements store.Limiter.
func (c *counters) ChangeQuota(_ context.Context, ch store.QuotaChange) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	start, _ := ch.Quota.Window(ch.Now)
	win := windowID{ch.KeyID, ch.Plan, start.Unix()}
	used := c.windows[win]
	if ch.Reset {
		used = 0
	} else {
		used -= ch.Extend
	}
	c.setWindow(win, used)
	c.dirtyW[win] = struct{}{}
	did := dayID{ch.KeyID, ch.Plan, store.UTCDay(ch.Now).Unix()}
	rec := c.days[did]
	rec.Remaining = ch.Quota.Limit - used
	c.setDay(did, rec)
	c.dirtyD[did] = struct{}{}
	return ch.Quota.Limit - used, nil
}

// takeDirty returns and clears the counts changed since the last call.
func (c *counters) takeDirty() (map[windowID]int64, map[dayID]dayRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := make(map[windowID]int64, len(c.dirtyW))
	for id := range c.dirtyW {
		w[id] = c.windows[id]
	}
	d := make(map[dayID]dayRecord, len(c.dirtyD))
	for id := range c.dirtyD {
		d[id] = c.days[id]
	}
	clear(c.dirtyW)
	clear(c.dirtyD)
	return w, d
}

// pruneBatch bounds the records one prune call removes or inspects
// while holding the decision lock; what is left waits for the next call.
const pruneBatch = 2048

// prune forgets quota windows that started before windowsBefore, days
// before daysBefore and full throttle buckets (tat before now), returning
// the windows and days it dropped so the file can follow. Its work is
// bounded: it looks only at old windows and days through the time
// indexes, removes at most pruneBatch of each, and inspects at most
// pruneBatch throttle buckets (a random sample, as Go's map order is).
func (c *counters) prune(now, windowsBefore, daysBefore time.Time) ([]windowID, []dayID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ws := pruneIndexed(c.byStart, windowsBefore.Unix(), c.windows, c.dirtyW)
	ds := pruneIndexed(c.byDay, daysBefore.Unix(), c.days, c.dirtyD)
	seen := 0
	for id, tat := range c.tats {
		if tat.Before(now) {
			delete(c.tats, id)
		}
		if seen++; seen == pruneBatch {
			break
		}
	}
	return ws, ds
}

// pruneIndexed removes up to pruneBatch records whose time in index
// (Unix seconds -> ids) is before cutoff: from records, from dirty and from
// the index. It returns the removed ids.
func pruneIndexed[ID comparable, R, D any](index map[int64][]ID, cutoff int64, records map[ID]R, dirty map[ID]D) []ID {
	var removed []ID
	for t, ids := range index {
		if t >= cutoff {
			continue
		}
		n := min(len(ids), pruneBatch-len(removed))
		for _, id := range ids[len(ids)-n:] {
			delete(records, id)
			delete(dirty, id)
			removed = append(removed, id)
		}
		if n == len(ids) {
			delete(index, t)
		} else {
			index[t] = ids[:len(ids)-n]
		}
		if len(removed) == pruneBatch {
			break
		}
	}
	return removed
}
