package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

func micros(t time.Time) int64 { return t.UnixMicro() }

// scriptNow is the time argument of a script: 0 (the script reads Redis
// TIME) unless a test injects the request's time.
func (s *Store) scriptNow(t time.Time) int64 {
	if s.requestTime {
		return micros(t)
	}
	return 0
}

// Decide implements store.Limiter in one round trip. The script takes the
// time, the quota window and the UTC day from the Redis server's clock.
//
// When the call fails after the script may have been sent (the client
// timed out at store_timeout or went away), the script may still run: a
// background undo frees its lease and gives its units back, exactly once,
// or, if it arrives first, keeps the decision from charging.
func (s *Store) Decide(ctx context.Context, req store.Request) (store.Decision, error) {
	var interval, burst int64
	if req.Throttle != nil {
		interval, burst = req.Throttle.Interval().Microseconds(), req.Throttle.Burst
		if interval < 1 {
			interval = 1
		}
	}
	limit := int64(-1)
	var period string
	var offset int64
	if req.Quota != nil {
		limit = req.Quota.Limit
		period, offset = string(req.Quota.Period), req.Quota.Offset.Microseconds()
	}
	// A decision id names the lease and the marker an undo needs; a
	// decision that can neither hold a slot nor charge needs none.
	var id string
	if req.Concurrency > 0 || (req.Quota != nil && req.Cost > 0) {
		id = newLeaseID()
	}
	leaseKey := s.leaseKey(req.KeyID, req.Plan)
	keys := []string{
		s.planKey(req.KeyID, req.Plan),
		s.legacyWindowPrefix(req.KeyID, req.Plan),
		s.dayPrefix(req.KeyID, req.Plan),
		leaseKey,
		s.markerKey(req.KeyID, id),
		s.lastUsedKey(req.KeyID),
	}
	args := []any{s.scriptNow(req.Now), interval, burst, limit, req.Cost, period, offset,
		int64(dayTTL / time.Second), req.Concurrency, id, s.leaseTTL.Microseconds(),
		s.markerTTL().Milliseconds(), req.Bucket, len(req.Budgets)}
	for _, b := range req.Budgets {
		keys = append(keys, s.planKey(req.KeyID, store.MeterCounter(req.Plan, b.Meter)))
		args = append(args, b.Quota.Limit, string(b.Quota.Period), b.Quota.Offset.Microseconds())
	}
	// Releases of this lease set still waiting for the sender go along,
	// so they are freed before this decision counts the slots.
	released := s.cleanups.claimReleases(leaseKey)
	for _, r := range released {
		args = append(args, r)
	}
	sentAt := s.now()
	res, err := s.decide.Run(ctx, s.decider, keys, args...).Int64Slice()
	if err != nil && released != nil {
		s.cleanups.unclaimReleases(leaseKey, released)
	}
	if err != nil {
		if id != "" {
			s.undoLater(req, id)
		}
		return store.Decision{}, fmt.Errorf("usage plans store: redis decision: %w", err)
	}
	if len(res) < 8 || (res[0] == 0 && len(res) != 9+2*len(req.Budgets)) {
		if released != nil {
			s.cleanups.unclaimReleases(leaseKey, released)
		}
		if id != "" {
			s.undoLater(req, id)
		}
		return store.Decision{}, fmt.Errorf("usage plans store: unexpected decision reply %v", res)
	}
	if released != nil {
		s.cleanups.ackReleases(leaseKey, released)
	}
	outcome, retry, tat, used := res[0], res[1], res[2], res[3]
	now := time.UnixMicro(res[4]).UTC()
	start, end, day := time.UnixMicro(res[5]).UTC(), time.UnixMicro(res[6]).UTC(), time.UnixMicro(res[7]).UTC()
	var d store.Decision
	switch outcome {
	case 1:
		return store.Decision{Outcome: store.Throttled, RetryAfter: time.Duration(retry) * time.Microsecond}, nil
	case 2:
		return store.Decision{Outcome: store.QuotaExceeded, RetryAfter: time.Duration(retry) * time.Microsecond}, nil
	case 3:
		return store.Decision{Outcome: store.ConcurrencyLimited, RetryAfter: time.Duration(retry) * time.Microsecond}, nil
	case 4:
		return store.Decision{}, errors.New("usage plans store: redis decision undone before it ran")
	case 5:
		b := 0
		if len(res) > 8 {
			b = int(res[8])
		}
		return store.Decision{Outcome: store.BudgetExhausted, Budget: b, RetryAfter: time.Duration(retry) * time.Microsecond}, nil
	}
	if n := len(req.Budgets); n > 0 {
		d.Budgets = make([]store.BudgetState, n)
		for i := range n {
			d.Budgets[i] = store.BudgetState{Remaining: res[9+2*i], Reset: time.Duration(res[10+2*i]) * time.Microsecond}
		}
	}
	if req.Throttle != nil {
		d.ThrottleRemaining, d.ThrottleReset = req.Throttle.Remaining(time.UnixMicro(tat), now)
	}
	if req.Quota != nil {
		d.QuotaRemaining = limit - used
		d.QuotaReset = end.Sub(now)
		d.Charge = store.Charge{KeyID: req.KeyID, Plan: req.Plan, Window: start, Day: day, Cost: req.Cost, Limit: limit}
	}
	if req.Concurrency > 0 {
		d.Lease = store.Lease{KeyID: req.KeyID, Plan: req.Plan, ID: id}
		s.leases.add(d.Lease, sentAt.Add(s.leaseTTL))
	}
	return d, nil
}

// markerTTL is how long an admitted decision's undo marker lives: longer
// than a call can take plus the undo's own horizon.
func (s *Store) markerTTL() time.Duration { return 2*s.timeout + undoHorizon + 2*time.Second }

// newLeaseID returns a random lease member name.
func newLeaseID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Refund implements store.Limiter.
func (s *Store) Refund(ctx context.Context, c store.Charge) error {
	if c.Cost == 0 {
		return nil
	}
	keys := []string{s.planKey(c.KeyID, c.Plan), s.dayKey(c.KeyID, c.Plan, c.Day)}
	if err := s.refund.Run(ctx, s.rdb, keys, c.Cost, c.Limit, micros(c.Window), micros(c.Day)).Err(); err != nil {
		return fmt.Errorf("usage plans store: redis refund: %w", err)
	}
	return nil
}

// Usage implements store.Limiter with one pipelined round trip: past days
// from their day hashes, the current day from the plan hash.
func (s *Store) Usage(ctx context.Context, keyID, plan string, from, to time.Time) ([]store.DayUsage, error) {
	var days []time.Time
	for day := store.UTCDay(from); !day.After(to); day = day.AddDate(0, 0, 1) {
		days = append(days, day)
	}
	cmds := make([]*redis.MapStringStringCmd, len(days))
	var current *redis.SliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, day := range days {
			cmds[i] = p.HGetAll(ctx, s.dayKey(keyID, plan, day))
		}
		current = p.HMGet(ctx, s.planKey(keyID, plan), "dn", "du", "dr")
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("usage plans store: redis usage: %w", err)
	}
	h := current.Val()
	field := func(i int) int64 {
		v, _ := h[i].(string)
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	out := make([]store.DayUsage, len(days))
	for i, day := range days {
		m := cmds[i].Val()
		out[i].Day = day
		switch {
		case len(h) == 3 && h[0] != nil && field(0) == micros(day):
			out[i].Known, out[i].Used, out[i].Remaining = true, field(1), field(2)
		case len(m) > 0:
			out[i].Known = true
			out[i].Used, _ = strconv.ParseInt(m["u"], 10, 64)
			out[i].Remaining, _ = strconv.ParseInt(m["r"], 10, 64)
		}
	}
	return out, nil
}

// ChangeQuota implements store.Limiter; the current window is the one of
// the Redis server's clock.
func (s *Store) ChangeQuota(ctx context.Context, c store.QuotaChange) (int64, error) {
	op := "extend"
	if c.Reset {
		op = "reset"
	}
	keys := []string{s.planKey(c.KeyID, c.Plan), s.dayPrefix(c.KeyID, c.Plan)}
	used, err := s.changeQuota.Run(ctx, s.rdb, keys, op, c.Extend, c.Quota.Limit, s.scriptNow(c.Now),
		string(c.Quota.Period), c.Quota.Offset.Microseconds(), int64(dayTTL/time.Second)).Int64()
	if err != nil {
		return 0, fmt.Errorf("usage plans store: redis quota change: %w", err)
	}
	return c.Quota.Limit - used, nil
}
