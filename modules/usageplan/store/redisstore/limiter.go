package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

func micros(t time.Time) int64 { return t.UnixMicro() }

// Decide implements store.Limiter in one round trip.
func (s *Store) Decide(ctx context.Context, req store.Request) (store.Decision, error) {
	var interval, burst int64
	if req.Throttle != nil {
		interval, burst = req.Throttle.Interval().Microseconds(), req.Throttle.Burst
		if interval < 1 {
			interval = 1
		}
	}
	limit := int64(-1)
	var start, end time.Time
	if req.Quota != nil {
		limit = req.Quota.Limit
		start, end = req.Quota.Window(req.Now)
	}
	day := store.UTCDay(req.Now)
	var leaseID string
	if req.Concurrency > 0 {
		leaseID = newLeaseID()
	}
	keys := []string{
		s.tatKey(req.KeyID, req.Plan, req.Bucket),
		s.windowKey(req.KeyID, req.Plan, start),
		s.dayKey(req.KeyID, req.Plan, day),
		s.leaseKey(req.KeyID, req.Plan),
	}
	res, err := s.decide.Run(ctx, s.rdb, keys,
		micros(req.Now), interval, burst, limit, req.Cost, micros(end),
		int64(dayTTL/time.Second), req.Concurrency, leaseID, s.leaseTTL.Microseconds()).Slice()
	if err != nil {
		return store.Decision{}, fmt.Errorf("usage plans store: redis decision: %w", err)
	}
	if len(res) != 4 {
		return store.Decision{}, fmt.Errorf("usage plans store: unexpected decision reply %v", res)
	}
	outcome, _ := res[0].(int64)
	retry, _ := res[1].(int64)
	var d store.Decision
	switch outcome {
	case 1:
		return store.Decision{Outcome: store.Throttled, RetryAfter: time.Duration(retry) * time.Microsecond}, nil
	case 2:
		return store.Decision{Outcome: store.QuotaExceeded, RetryAfter: time.Duration(retry) * time.Microsecond}, nil
	case 3:
		return store.Decision{Outcome: store.ConcurrencyLimited, RetryAfter: time.Duration(retry) * time.Microsecond}, nil
	}
	if req.Throttle != nil {
		tatText, _ := res[2].(string)
		tat, _ := strconv.ParseInt(tatText, 10, 64)
		d.ThrottleRemaining, d.ThrottleReset = req.Throttle.Remaining(time.UnixMicro(tat), req.Now)
	}
	if req.Quota != nil {
		used, _ := res[3].(int64)
		d.QuotaRemaining = limit - used
		d.QuotaReset = end.Sub(req.Now)
		d.Charge = store.Charge{KeyID: req.KeyID, Plan: req.Plan, Window: start, Day: day, Cost: req.Cost, Limit: limit}
	}
	if leaseID != "" {
		d.Lease = store.Lease{KeyID: req.KeyID, Plan: req.Plan, ID: leaseID}
		s.leases.add(d.Lease)
	}
	return d, nil
}

// newLeaseID returns a random lease member name.
func newLeaseID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Release implements store.Limiter.
func (s *Store) Release(ctx context.Context, l store.Lease) error {
	s.leases.remove(l)
	if err := s.rdb.ZRem(ctx, s.leaseKey(l.KeyID, l.Plan), l.ID).Err(); err != nil {
		return fmt.Errorf("usage plans store: releasing a lease (it expires by itself): %w", err)
	}
	return nil
}

// Refund implements store.Limiter.
func (s *Store) Refund(ctx context.Context, c store.Charge) error {
	if c.Cost == 0 {
		return nil
	}
	keys := []string{s.windowKey(c.KeyID, c.Plan, c.Window), s.dayKey(c.KeyID, c.Plan, c.Day)}
	if err := s.refund.Run(ctx, s.rdb, keys, c.Cost, c.Limit).Err(); err != nil {
		return fmt.Errorf("usage plans store: redis refund: %w", err)
	}
	return nil
}

// Usage implements store.Limiter with one pipelined round trip.
func (s *Store) Usage(ctx context.Context, keyID, plan string, from, to time.Time) ([]store.DayUsage, error) {
	var days []time.Time
	for day := store.UTCDay(from); !day.After(to); day = day.AddDate(0, 0, 1) {
		days = append(days, day)
	}
	cmds := make([]*redis.MapStringStringCmd, len(days))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, day := range days {
			cmds[i] = p.HGetAll(ctx, s.dayKey(keyID, plan, day))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("usage plans store: redis usage: %w", err)
	}
	out := make([]store.DayUsage, len(days))
	for i, day := range days {
		m := cmds[i].Val()
		out[i].Day = day
		if len(m) > 0 {
			out[i].Known = true
			out[i].Used, _ = strconv.ParseInt(m["u"], 10, 64)
			out[i].Remaining, _ = strconv.ParseInt(m["r"], 10, 64)
		}
	}
	return out, nil
}

// ChangeQuota implements store.Limiter.
func (s *Store) ChangeQuota(ctx context.Context, c store.QuotaChange) (int64, error) {
	start, end := c.Quota.Window(c.Now)
	op := "extend"
	if c.Reset {
		op = "reset"
	}
	keys := []string{s.windowKey(c.KeyID, c.Plan, start), s.dayKey(c.KeyID, c.Plan, store.UTCDay(c.Now))}
	windowTTL := (end.Sub(c.Now) + 24*time.Hour).Milliseconds()
	used, err := s.changeQuota.Run(ctx, s.rdb, keys, op, c.Extend, c.Quota.Limit, windowTTL, int64(dayTTL/time.Second)).Int64()
	if err != nil {
		return 0, fmt.Errorf("usage plans store: redis quota change: %w", err)
	}
	return c.Quota.Limit - used, nil
}
