package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"syscall"
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
// script call, and concurrent calls a round trip (batch.go, decider.go).
//
// When the call fails after the script may have been sent (the client
// timed out at store_timeout or went away), the script may still run: a
// background undo frees its lease and gives its units back, exactly once,
// or, if it arrives first, keeps the decision from charging. A call that
// found its connection broken (Redis restarted or failed over since the
// last command on it) is tried once more under a new decision id, the
// first one being undone like any other. When the first one did run (the
// connection broke after Redis ran it), the retry meets it: its lease
// and quota units count until its undo lands (a few milliseconds), and
// its throttle token stays taken (an undo gives back lease and units,
// not tokens).
func (s *Store) Decide(ctx context.Context, req store.Request) (store.Decision, error) {
	sh := shapeOf(req, s.scriptNow(req.Now))
	res, id, sentAt, err := s.decideOnce(ctx, req, sh)
	if err != nil && brokenConnection(err) && ctx.Err() == nil {
		res, id, sentAt, err = s.decideOnce(ctx, req, sh)
	}
	if err != nil {
		return store.Decision{}, err
	}
	return s.decision(req, id, res, sentAt)
}

// decideOnce makes one attempt at req's decision, under a new id; a
// failed attempt's undo is queued.
func (s *Store) decideOnce(ctx context.Context, req store.Request, sh decisionShape) ([]int64, string, time.Time, error) {
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
	if err != nil && id != "" {
		s.undoLater(req, id)
	}
	return res, id, sentAt, err
}

// brokenConnection reports whether err is a connection found closed or
// reset (not a timeout, nor an error of Redis itself).
func brokenConnection(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
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
	args     []string
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
	c.args = make([]string, 0, 14+3*len(budgets)+len(ids)+len(c.released))
	for _, n := range [...]int64{sh.now, sh.interval, sh.burst, sh.limit, sh.cost} {
		c.args = append(c.args, itoa(n))
	}
	c.args = append(c.args, sh.period, itoa(sh.offset), itoa(int64(dayTTL/time.Second)), itoa(sh.concurrency),
		itoa(int64(len(ids))), itoa(s.leaseTTL.Microseconds()), itoa(s.markerTTL().Milliseconds()), sh.bucket,
		itoa(int64(len(budgets))))
	for _, b := range budgets {
		c.args = append(c.args, itoa(b.Quota.Limit), string(b.Quota.Period), itoa(b.Quota.Offset.Microseconds()))
	}
	c.args = append(c.args, ids...)
	c.args = append(c.args, c.released...)
	return c
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

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
	res, err := s.runDecideScript(ctx, c.keys, c.args)
	return c.finish(s, res, err)
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
