package redisstore

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
	"github.com/gpugate/gpugate/tests/testkit"
)

// TestLastUsedWrittenOncePerMinute: a key's last-used time is the first
// admission of each minute (per plan), not every admission: decisions a
// few seconds apart leave it alone, one a minute later moves it.
func TestLastUsedWrittenOncePerMinute(t *testing.T) {
	r := testkit.StartRedis(t, testkit.RedisOptions{})
	s := open(t, r.URL(0), Options{Timeout: time.Second})
	s.requestTime = true
	ctx := context.Background()
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	q := &store.Quota{Limit: 100, Period: store.Day}
	lastUsedAfter := func(at time.Time) time.Time {
		t.Helper()
		if d, err := s.Decide(ctx, store.Request{KeyID: "k", Plan: "p", Quota: q, Cost: 1, Now: at}); err != nil || d.Outcome != store.Admitted {
			t.Fatalf("decision at %v: %v %v", at, d.Outcome, err)
		}
		lu, err := s.LastUsed(ctx, []string{"k"})
		if err != nil {
			t.Fatal(err)
		}
		return lu["k"]
	}
	for _, c := range []struct {
		at, want time.Duration
	}{{0, 0}, {5 * time.Second, 0}, {59 * time.Second, 0}, {61 * time.Second, 61 * time.Second}, {70 * time.Second, 61 * time.Second}} {
		if got := lastUsedAfter(start.Add(c.at)); !got.Equal(start.Add(c.want)) {
			t.Errorf("after an admission at +%v: last used %v, want +%v", c.at, got.Sub(start), c.want)
		}
	}
}

// TestTombstoneOutlivesShortPlanHash: a throttle-only plan hash lives
// about a second, but after an undo that ran before its decision the hash
// keeps the tombstone hint as long as the tombstone, also through later
// decisions; the late decision is then refused without charging a slot.
func TestTombstoneOutlivesShortPlanHash(t *testing.T) {
	r := testkit.StartRedis(t, testkit.RedisOptions{})
	s := open(t, r.URL(0), Options{Timeout: time.Second})
	raw := rawClient(t, r.URL(0))
	ctx := context.Background()
	throttle := &store.Throttle{Rate: 1000, Burst: 1000}
	keys, args := s.undoCall(undoID{"k", "p", "early"}, undoEntry{limit: -1})
	if err := s.undo.Run(ctx, s.rdb, keys, args...).Err(); err != nil {
		t.Fatal(err)
	}
	d, err := s.Decide(ctx, store.Request{KeyID: "k", Plan: "p", Throttle: throttle, Concurrency: 5, Now: time.Now()})
	if err != nil || d.Outcome != store.Admitted {
		t.Fatalf("another decision: %v %v", d.Outcome, err)
	}
	if ttl := raw.PTTL(ctx, s.planKey("k", "p")).Val(); ttl < tombstoneTTL-10*time.Second {
		t.Fatalf("plan hash expires in %v, before the tombstone (%v)", ttl, tombstoneTTL)
	}
	sh := shapeOf(store.Request{KeyID: "k", Plan: "p", Throttle: throttle, Concurrency: 5}, 0)
	res, err := s.runDecide(ctx, sh, nil, []string{"early"})
	if err != nil || res[0][0] != 4 {
		t.Fatalf("the decision after its undo: %v %v, want outcome 4", res, err)
	}
	if n := raw.ZCard(ctx, s.leaseKey("k", "p")).Val(); n != 1 {
		t.Fatalf("%d leases, want only the other decision's", n)
	}
}

// TestConcurrentDecisionsShareCalls: 64 callers racing on one key share
// script calls (fewer calls than decisions) and the counts stay exact:
// exactly the quota admitted, every slot freed, the throttle bucket
// charged once per admission.
func TestConcurrentDecisionsShareCalls(t *testing.T) {
	r := testkit.StartRedis(t, testkit.RedisOptions{})
	s := open(t, r.URL(0), Options{Timeout: 5 * time.Second})
	ctx := context.Background()
	req := store.Request{KeyID: "k", Plan: "p", Quota: &store.Quota{Limit: 500, Period: store.Day}, Cost: 1,
		Throttle: &store.Throttle{Rate: 1, Burst: 1000}, Concurrency: 64}
	calls0 := scriptCalls(t, r)
	var admitted, refused atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				req := req
				req.Now = time.Now()
				d, err := s.Decide(ctx, req)
				if err != nil {
					t.Error(err)
					return
				}
				switch d.Outcome {
				case store.Admitted:
					admitted.Add(1)
					_ = s.Release(ctx, d.Lease)
				case store.QuotaExceeded:
					refused.Add(1)
				default:
					t.Errorf("outcome %v", d.Outcome)
				}
			}
		}()
	}
	wg.Wait()
	if admitted.Load() != 500 || refused.Load() != 140 {
		t.Fatalf("%d admitted, %d over quota; want 500 and 140", admitted.Load(), refused.Load())
	}
	if calls := scriptCalls(t, r) - calls0; calls == 0 || calls >= 640 {
		t.Fatalf("%d script calls for 640 decisions: concurrent decisions did not share calls", calls)
	}
	// 500 admissions took 500 of the bucket's 1000 (at 1/s, the bucket
	// refills by at most a few during the test).
	d, err := s.Decide(ctx, store.Request{KeyID: "k", Plan: "p", Throttle: req.Throttle, Now: time.Now()})
	if err != nil || d.ThrottleRemaining < 495 || d.ThrottleRemaining > 520 {
		t.Fatalf("throttle remaining %d (%v), want about 499", d.ThrottleRemaining, err)
	}
	waitLeases(t, s, "k", "p", 0, 2*time.Second)
}

// scriptCalls is the number of EVALSHA and EVAL calls Redis has run.
func scriptCalls(t *testing.T, r *testkit.Redis) int64 {
	t.Helper()
	n, _, err := r.ScriptStats()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPlanHashOfThePreviousLayout: a plan hash the previous version wrote
// (every field on each decision, no lu or tomb) goes on counting: the
// window's and the day's use carry on, and the first decision writes the
// key's last-used time.
func TestPlanHashOfThePreviousLayout(t *testing.T) {
	r := testkit.StartRedis(t, testkit.RedisOptions{})
	s := open(t, r.URL(0), Options{Timeout: time.Second})
	raw := rawClient(t, r.URL(0))
	ctx := context.Background()
	now := time.Now()
	q := &store.Quota{Limit: 10, Period: store.Day}
	start, _ := q.Window(now)
	day := store.UTCDay(now).UnixMicro()
	if err := raw.HSet(ctx, s.planKey("k", "p"), "ws", start.UnixMicro(), "u", 7, "dn", day, "du", 7, "dr", 3).Err(); err != nil {
		t.Fatal(err)
	}
	old := now.Add(-time.Hour).UnixMicro()
	if err := raw.Set(ctx, s.lastUsedKey("k"), old, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	d, err := s.Decide(ctx, store.Request{KeyID: "k", Plan: "p", Quota: q, Cost: 2, Now: now})
	if err != nil || d.Outcome != store.Admitted || d.QuotaRemaining != 1 {
		t.Fatalf("decision on the old hash: %v remaining %d %v, want admitted with 1 left", d.Outcome, d.QuotaRemaining, err)
	}
	if d, _ := s.Decide(ctx, store.Request{KeyID: "k", Plan: "p", Quota: q, Cost: 2, Now: now}); d.Outcome != store.QuotaExceeded {
		t.Fatalf("9 of 10 used, cost 2: %v", d.Outcome)
	}
	u, err := s.Usage(ctx, "k", "p", now, now)
	if err != nil || len(u) != 1 || u[0].Used != 9 || u[0].Remaining != 1 {
		t.Fatalf("today's usage %+v %v, want 9 used, 1 remaining", u, err)
	}
	lu, err := s.LastUsed(ctx, []string{"k"})
	if err != nil || lu["k"].UnixMicro() == old {
		t.Fatalf("last used %v %v: not written by the first decision", lu["k"], err)
	}
}
