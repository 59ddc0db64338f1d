package store

import (
	"fmt"
	"math"
	"time"
)

// Throttle is a token bucket: Rate requests per second refill a bucket of
// Burst requests. It is implemented with GCRA (one timestamp per bucket).
type Throttle struct {
	// Rate is the refill rate in requests per second.
	Rate float64 `json:"rate"`
	// Burst is the bucket size in requests.
	Burst int64 `json:"burst"`
}

// Interval is the time one request's token takes to refill.
func (t Throttle) Interval() time.Duration {
	return time.Duration(math.Round(float64(time.Second) / t.Rate))
}

// Admit runs GCRA for one request at now against the theoretical arrival
// time tat (zero for a fresh bucket). It returns the new tat to store when
// admitted, or the wait until the request would be admitted.
func (t Throttle) Admit(tat, now time.Time) (next time.Time, ok bool, retry time.Duration) {
	interval := t.Interval()
	if tat.Before(now) {
		tat = now
	}
	next = tat.Add(interval)
	allowAt := next.Add(-time.Duration(t.Burst) * interval)
	if allowAt.After(now) {
		return tat, false, allowAt.Sub(now)
	}
	return next, true, 0
}

// Remaining is the number of requests the bucket with tat allows at now,
// and the time until it is full.
func (t Throttle) Remaining(tat, now time.Time) (int64, time.Duration) {
	if !tat.After(now) {
		return t.Burst, 0
	}
	interval := t.Interval()
	used := int64(math.Ceil(float64(tat.Sub(now)) / float64(interval)))
	rem := t.Burst - used
	if rem < 0 {
		rem = 0
	}
	return rem, tat.Sub(now)
}

// Period is a quota window length.
type Period string

// The quota periods, in UTC calendar windows.
const (
	Day   Period = "day"
	Week  Period = "week"
	Month Period = "month"
)

// Quota allows Limit units per Period; Offset moves the window start later
// (e.g. a day that starts at 08:00 UTC).
type Quota struct {
	// Limit is the number of cost units per window.
	Limit int64 `json:"limit"`
	// Period is the window length.
	Period Period `json:"period"`
	// Offset moves every window start later.
	Offset time.Duration `json:"offset,omitempty"`
}

// Validate checks the quota's period and offset.
func (q Quota) Validate() error {
	if q.Limit < 0 {
		return fmt.Errorf("quota limit %d is negative", q.Limit)
	}
	max := map[Period]time.Duration{Day: 24 * time.Hour, Week: 7 * 24 * time.Hour, Month: 28 * 24 * time.Hour}[q.Period]
	if max == 0 {
		return fmt.Errorf("quota period %q: write day, week or month", q.Period)
	}
	if q.Offset < 0 || q.Offset >= max {
		return fmt.Errorf("quota offset %s must be at least 0 and less than %s for a %s window", q.Offset, max, q.Period)
	}
	return nil
}

// Window returns the UTC calendar window holding now: days start at
// midnight, weeks on Monday, months on the 1st, each shifted by Offset.
func (q Quota) Window(now time.Time) (start, end time.Time) {
	shifted := now.UTC().Add(-q.Offset)
	y, m, d := shifted.Date()
	switch q.Period {
	case Week:
		day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		back := (int(day.Weekday()) + 6) % 7 // days since Monday
		start = day.AddDate(0, 0, -back)
		end = start.AddDate(0, 0, 7)
	case Month:
		start = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
		end = start.AddDate(0, 1, 0)
	default:
		start = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		end = start.AddDate(0, 0, 1)
	}
	return start.Add(q.Offset), end.Add(q.Offset)
}

// UTCDay returns the UTC midnight starting t's day.
func UTCDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// CeilSeconds rounds d up to whole seconds (Retry-After, RateLimit t=).
func CeilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
