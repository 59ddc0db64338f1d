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
// Concurrent decisions with the same shape (see decisionShape) share a
// script call, and concurrent calls a round trip (batch.go).
//
// When the call fails after the script may have been sent (the client
// timed out at store_timeout or went away), the script may still run: a
// background undo frees its lease and gives its units back, exactly once,
// or, if it arrives first, keeps the decision from charging.
func (s *Store) Decide(ctx context.Context, req store.Request) (store.Decision, error) {
	sh := shapeOf(req, s.scriptNow(req.Now))
	// A decision id names the lease and the marker an undo needs; a
	// decision that can neither hold a slot nor charge needs none.
	var id string
	if req.Concurrency > 0 || (req.Quota != nil && req.Cost > 0) {
		id = newLeaseID()
	}
	var res []int64
	var sentAt time.Time
	var err error
	if len(req.Budgets) > 0 {
		sentAt = s.now()
		var out [][]int64
		out, err = s.runDecide(ctx, sh, req.Budgets, []string{id})
		if err == nil {
			res = out[0]
		}
	} else {
		res, sentAt, err = s.batches.decide(ctx, s, sh, id)
	}
	if err != nil {
		if id != "" {
			s.undoLater(req, id)
		}
		return store.Decision{}, err
	}
	return s.decision(req, id, res, sentAt)
}

// decisionShape is what a script call's decisions share: everything of a
// request but its id (and its context).
type decisionShape struct {
	keyID, plan, bucket string
	interval, burst     int64
	limit               int64 // -1: no quota
	period              string
	offset              int64 // µs
	cost, concurrency   int64
	now                 int64 // the script's time argument
}

func shapeOf(req store.Request, now int64) decisionShape {
	sh := decisionShape{keyID: req.KeyID, plan: req.Plan, bucket: req.Bucket, limit: -1,
		cost: req.Cost, concurrency: req.Concurrency, now: now}
	if req.Throttle != nil {
		sh.interval, sh.burst = max(req.Throttle.Interval().Microseconds(), 1), req.Throttle.Burst
	}
	if req.Quota != nil {
		sh.limit, sh.period, sh.offset = req.Quota.Limit, string(req.Quota.Period), req.Quota.Offset.Microseconds()
	}
	return sh
}

// decisionFields is the number of values decide.lua returns per decision.
const decisionFields = 9

// decideCall is one decide.lua call: its keys and arguments, and the
// releases of its lease set that go along (claimed from the release
// queue until the call's fate is known).
type decideCall struct {
	ids      []string
	budgets  int
	keys     []string
	args     []any
	leaseKey string
	released []string
}

// newDecideCall prepares the call deciding ids of shape sh (with budgets,
// one). Releases of its lease set still waiting for the sender go along,
// so they are freed before these decisions count the slots.
func (s *Store) newDecideCall(sh decisionShape, budgets []store.Budget, ids []string) *decideCall {
	c := &decideCall{ids: ids, budgets: len(budgets), leaseKey: s.leaseKey(sh.keyID, sh.plan)}
	c.keys = make([]string, 0, 5+len(budgets)+len(ids))
	c.keys = append(c.keys,
		s.planKey(sh.keyID, sh.plan),
		s.legacyWindowPrefix(sh.keyID, sh.plan),
		s.dayPrefix(sh.keyID, sh.plan),
		c.leaseKey,
		s.lastUsedKey(sh.keyID),
	)
	for _, b := range budgets {
		c.keys = append(c.keys, s.planKey(sh.keyID, store.MeterCounter(sh.plan, b.Meter)))
	}
	for _, id := range ids {
		c.keys = append(c.keys, s.markerKey(sh.keyID, id))
	}
	c.released = s.cleanups.claimReleases(c.leaseKey)
	c.args = make([]any, 0, 14+3*len(budgets)+len(ids)+len(c.released))
	c.args = append(c.args, sh.now, sh.interval, sh.burst, sh.limit, sh.cost, sh.period, sh.offset,
		int64(dayTTL/time.Second), sh.concurrency, len(ids), s.leaseTTL.Microseconds(),
		s.markerTTL().Milliseconds(), sh.bucket, len(budgets))
	for _, b := range budgets {
		c.args = append(c.args, b.Quota.Limit, string(b.Quota.Period), b.Quota.Offset.Microseconds())
	}
	for _, id := range ids {
		c.args = append(c.args, id)
	}
	for _, r := range c.released {
		c.args = append(c.args, r)
	}
	return c
}

// finish settles the call from its reply: the releases that went along
// are done (or back in the queue when the call failed), and each
// decision's values are returned.
func (c *decideCall) finish(s *Store, res []int64, err error) ([][]int64, error) {
	if err == nil && len(res) != decisionFields*len(c.ids) && (len(c.ids) != 1 || len(res) != decisionFields+2*c.budgets) {
		err = fmt.Errorf("unexpected decision reply %v", res)
	}
	if err != nil {
		if c.released != nil {
			s.cleanups.unclaimReleases(c.leaseKey, c.released)
		}
		return nil, fmt.Errorf("usage plans store: redis decision: %w", err)
	}
	if c.released != nil {
		s.cleanups.ackReleases(c.leaseKey, c.released)
	}
	out := make([][]int64, len(c.ids))
	for i := range c.ids {
		out[i] = res[i*decisionFields : (i+1)*decisionFields]
	}
	if len(c.ids) == 1 {
		out[0] = res
	}
	return out, nil
}

// runDecide runs decide.lua for the decisions ids (with budgets, one) and
// returns each one's values.
func (s *Store) runDecide(ctx context.Context, sh decisionShape, budgets []store.Budget, ids []string) ([][]int64, error) {
	c := s.newDecideCall(sh, budgets, ids)
	res, err := s.decide.Run(ctx, s.decider, c.keys, c.args...).Int64Slice()
	return c.finish(s, res, err)
}

// runDecideCalls runs calls in one pipeline and returns each one's
// decisions' values or error. A call Redis refused for want of the script
// (flushed by a restart) did not run: it is sent again, with the script.
func (s *Store) runDecideCalls(ctx context.Context, calls []*decideCall) ([][][]int64, []error) {
	outs, errs := make([][][]int64, len(calls)), make([]error, len(calls))
	if len(calls) == 1 {
		c := calls[0]
		res, err := s.decide.Run(ctx, s.decider, c.keys, c.args...).Int64Slice()
		outs[0], errs[0] = c.finish(s, res, err)
		return outs, errs
	}
	cmds := make([]*redis.Cmd, len(calls))
	p := s.rdb.Pipeline()
	for i, c := range calls {
		cmds[i] = s.decide.EvalSha(ctx, p, c.keys, c.args...)
	}
	_, _ = p.Exec(ctx)
	for i, c := range calls {
		res, err := cmds[i].Int64Slice()
		if isNoScript(err) {
			res, err = s.decide.Run(ctx, s.rdb, c.keys, c.args...).Int64Slice()
		}
		outs[i], errs[i] = c.finish(s, res, err)
	}
	return outs, errs
}

// decision turns one decision's script values into its answer.
func (s *Store) decision(req store.Request, id string, res []int64, sentAt time.Time) (store.Decision, error) {
	if res[0] == 0 && len(res) != decisionFields+2*len(req.Budgets) {
		if id != "" {
			s.undoLater(req, id)
		}
		return store.Decision{}, fmt.Errorf("usage plans store: unexpected decision reply %v", res)
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
		return store.Decision{Outcome: store.BudgetExhausted, Budget: int(res[8]), RetryAfter: time.Duration(retry) * time.Microsecond}, nil
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
		d.QuotaRemaining = req.Quota.Limit - used
		d.QuotaReset = end.Sub(now)
		d.Charge = store.Charge{KeyID: req.KeyID, Plan: req.Plan, Window: start, Day: day, Cost: req.Cost, Limit: req.Quota.Limit}
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
