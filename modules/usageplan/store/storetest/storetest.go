// Package storetest is the conformance suite every usage-plan store passes:
// the same decisions, refunds, usage and keys on the embedded and the Redis
// store, with an injected clock.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// Factory returns a fresh, empty store for one subtest.
type Factory func(t *testing.T) store.Store

// Start is the injected clock's origin: Sunday 2026-11-22 23:59:58 UTC,
// two seconds before a day (and week) boundary.
var Start = time.Date(2026, 11, 22, 23, 59, 58, 0, time.UTC)

// Run runs the whole suite against stores from newStore.
func Run(t *testing.T, newStore Factory) {
	t.Run("ThrottleBurstRefill", func(t *testing.T) { testThrottle(t, newStore(t)) })
	t.Run("QuotaCostWindowEdge", func(t *testing.T) { testQuota(t, newStore(t)) })
	t.Run("Refund", func(t *testing.T) { testRefund(t, newStore(t)) })
	t.Run("RefundKeepsExtension", func(t *testing.T) { testRefundKeepsExtension(t, newStore(t)) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, newStore(t)) })
	t.Run("ThrottledChargesNothing", func(t *testing.T) { testNoChargeOnReject(t, newStore(t)) })
	t.Run("UsageAndQuotaChange", func(t *testing.T) { testUsage(t, newStore(t)) })
	t.Run("Keys", func(t *testing.T) { testKeys(t, newStore(t)) })
	t.Run("RaceExactQuota", func(t *testing.T) { RaceExactQuota(t, newStore(t), 64, 100) })
	runSpend(t, newStore)
}

func decide(t *testing.T, s store.Store, req store.Request) store.Decision {
	t.Helper()
	d, err := s.Decide(context.Background(), req)
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	return d
}

func testThrottle(t *testing.T, s store.Store) {
	req := store.Request{KeyID: "k1", Plan: "p", Throttle: &store.Throttle{Rate: 10, Burst: 2}, Cost: 1, Now: Start}
	for i := range 2 {
		if d := decide(t, s, req); d.Outcome != store.Admitted || d.ThrottleRemaining != int64(1-i) {
			t.Fatalf("burst request %d: %v remaining %d", i, d.Outcome, d.ThrottleRemaining)
		}
	}
	d := decide(t, s, req)
	if d.Outcome != store.Throttled || d.RetryAfter != 100*time.Millisecond {
		t.Fatalf("third: %v retry %v, want throttled for 100ms", d.Outcome, d.RetryAfter)
	}
	req.Now = Start.Add(100 * time.Millisecond)
	if d := decide(t, s, req); d.Outcome != store.Admitted {
		t.Fatalf("after refill: %v", d.Outcome)
	}
	other := req
	other.Bucket = "POST /generate"
	if d := decide(t, s, other); d.Outcome != store.Admitted {
		t.Fatalf("an override bucket is separate: %v", d.Outcome)
	}
}

func testQuota(t *testing.T, s store.Store) {
	q := &store.Quota{Limit: 25, Period: store.Day}
	req := store.Request{KeyID: "k1", Plan: "p", Quota: q, Cost: 10, Now: Start}
	for i, want := range []int64{15, 5} {
		d := decide(t, s, req)
		if d.Outcome != store.Admitted || d.QuotaRemaining != want || d.QuotaReset != 2*time.Second {
			t.Fatalf("request %d: %v remaining %d reset %v", i, d.Outcome, d.QuotaRemaining, d.QuotaReset)
		}
	}
	d := decide(t, s, req)
	if d.Outcome != store.QuotaExceeded || d.RetryAfter != 2*time.Second {
		t.Fatalf("over quota: %v retry %v, want quota exceeded until midnight (2s)", d.Outcome, d.RetryAfter)
	}
	free := req
	free.Cost = 0
	if d := decide(t, s, free); d.Outcome != store.Admitted {
		t.Fatalf("cost 0 with 5 left: %v", d.Outcome)
	}
	five := req
	five.Cost = 5
	if d := decide(t, s, five); d.Outcome != store.Admitted || d.QuotaRemaining != 0 {
		t.Fatalf("exactly the rest: %v remaining %d", d.Outcome, d.QuotaRemaining)
	}
	req.Now = Start.Add(2 * time.Second) // UTC midnight: a new day
	if d := decide(t, s, req); d.Outcome != store.Admitted || d.QuotaRemaining != 15 {
		t.Fatalf("next window: %v remaining %d", d.Outcome, d.QuotaRemaining)
	}
	other := req
	other.KeyID = "k2"
	if d := decide(t, s, other); d.QuotaRemaining != 15 {
		t.Fatalf("keys count separately: remaining %d", d.QuotaRemaining)
	}
}

func testRefund(t *testing.T, s store.Store) {
	q := &store.Quota{Limit: 10, Period: store.Month}
	req := store.Request{KeyID: "k1", Plan: "p", Quota: q, Cost: 10, Now: Start}
	d := decide(t, s, req)
	if d.Outcome != store.Admitted || d.Charge.Cost != 10 {
		t.Fatalf("first: %v charge %+v", d.Outcome, d.Charge)
	}
	if r := decide(t, s, req); r.Outcome != store.QuotaExceeded {
		t.Fatalf("before refund: %v", r.Outcome)
	}
	if err := s.Refund(context.Background(), d.Charge); err != nil {
		t.Fatal(err)
	}
	if r := decide(t, s, req); r.Outcome != store.Admitted {
		t.Fatalf("after refund: %v", r.Outcome)
	}
	days, err := s.Usage(context.Background(), "k1", "p", Start, Start)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 1 || days[0].Used != 10 || days[0].Remaining != 0 {
		t.Fatalf("usage after refund and re-charge: %+v, want used 10 remaining 0", days)
	}
}

// testRefundKeepsExtension: a refund after an admin's quota extension
// gives back exactly the refunded units (the window's count is negative
// and must not be clamped at 0), while a refund of a charge from before a
// reset does not take the count below 0.
func testRefundKeepsExtension(t *testing.T, s store.Store) {
	ctx := context.Background()
	q := store.Quota{Limit: 10, Period: store.Day}
	req := store.Request{KeyID: "k1", Plan: "p", Quota: &q, Cost: 1, Now: Start}
	for range 3 {
		decide(t, s, req)
	}
	rem, err := s.ChangeQuota(ctx, store.QuotaChange{KeyID: "k1", Plan: "p", Quota: q, Now: Start, Extend: 10})
	if err != nil || rem != 17 {
		t.Fatalf("extend: %d %v, want 17", rem, err)
	}
	d := decide(t, s, req)
	if d.QuotaRemaining != 16 {
		t.Fatalf("after one more call: remaining %d, want 16", d.QuotaRemaining)
	}
	if err := s.Refund(ctx, d.Charge); err != nil {
		t.Fatal(err)
	}
	free := req
	free.Cost = 0
	if d := decide(t, s, free); d.QuotaRemaining != 17 {
		t.Fatalf("after refunding that call: remaining %d, want 17 (the refund erased the extension)", d.QuotaRemaining)
	}
	// A charge from before a reset: refunding it leaves the full quota,
	// not more.
	other := req
	other.KeyID = "k2"
	c := decide(t, s, other)
	if _, err := s.ChangeQuota(ctx, store.QuotaChange{KeyID: "k2", Plan: "p", Quota: q, Now: Start, Reset: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.Refund(ctx, c.Charge); err != nil {
		t.Fatal(err)
	}
	free.KeyID = "k2"
	if d := decide(t, s, free); d.QuotaRemaining != 10 {
		t.Fatalf("refund after a reset: remaining %d, want 10", d.QuotaRemaining)
	}
}

func testConcurrency(t *testing.T, s store.Store) {
	ctx := context.Background()
	req := store.Request{KeyID: "k1", Plan: "p", Concurrency: 2, Cost: 1, Now: Start}
	a, b := decide(t, s, req), decide(t, s, req)
	if a.Outcome != store.Admitted || b.Outcome != store.Admitted || a.Lease == (store.Lease{}) {
		t.Fatalf("two slots: %v %v lease %+v", a.Outcome, b.Outcome, a.Lease)
	}
	if d := decide(t, s, req); d.Outcome != store.ConcurrencyLimited || d.RetryAfter <= 0 {
		t.Fatalf("third in flight: %v retry %v", d.Outcome, d.RetryAfter)
	}
	if err := s.Release(ctx, a.Lease); err != nil {
		t.Fatal(err)
	}
	if d := decide(t, s, req); d.Outcome != store.Admitted {
		t.Fatalf("after release: %v", d.Outcome)
	}
}

func testNoChargeOnReject(t *testing.T, s store.Store) {
	req := store.Request{KeyID: "k1", Plan: "p", Throttle: &store.Throttle{Rate: 1, Burst: 1},
		Quota: &store.Quota{Limit: 5, Period: store.Day}, Concurrency: 5, Cost: 1, Now: Start}
	decide(t, s, req)
	if d := decide(t, s, req); d.Outcome != store.Throttled {
		t.Fatalf("second: %v", d.Outcome)
	}
	req.Now = Start.Add(time.Second)
	if d := decide(t, s, req); d.Outcome != store.Admitted || d.QuotaRemaining != 3 {
		t.Fatalf("a throttled request must not use quota: %v remaining %d", d.Outcome, d.QuotaRemaining)
	}
}

func testUsage(t *testing.T, s store.Store) {
	ctx := context.Background()
	q := store.Quota{Limit: 100, Period: store.Week}
	req := store.Request{KeyID: "k1", Plan: "p", Quota: &q, Cost: 7, Now: Start}
	decide(t, s, req)
	decide(t, s, req)
	req.Now = Start.Add(time.Hour) // Monday: a new week
	decide(t, s, req)
	days, err := s.Usage(ctx, "k1", "p", Start.AddDate(0, 0, -1), Start.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 3 || days[0].Known || days[1].Used != 14 || days[1].Remaining != 86 || days[2].Used != 7 || days[2].Remaining != 93 {
		t.Fatalf("usage: %+v", days)
	}
	rem, err := s.ChangeQuota(ctx, store.QuotaChange{KeyID: "k1", Plan: "p", Quota: q, Now: req.Now, Extend: 50})
	if err != nil || rem != 143 {
		t.Fatalf("extend: %d %v, want 143", rem, err)
	}
	rem, err = s.ChangeQuota(ctx, store.QuotaChange{KeyID: "k1", Plan: "p", Quota: q, Now: req.Now, Reset: true})
	if err != nil || rem != 100 {
		t.Fatalf("reset: %d %v, want 100", rem, err)
	}
	if d := decide(t, s, req); d.QuotaRemaining != 93 {
		t.Fatalf("after reset: remaining %d, want 93", d.QuotaRemaining)
	}
}

func testKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	k := store.Key{ID: "abc123", Name: "acme", Hash: "h1", Enabled: true, Plans: []string{"basic"}, Created: Start}
	if err := s.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	dup := k
	dup.ID = "other"
	if err := s.CreateKey(ctx, dup); !errors.Is(err, store.ErrExists) {
		t.Fatalf("same hash again: %v, want ErrExists", err)
	}
	got, err := s.KeyByHash(ctx, "h1")
	if err != nil || got.ID != "abc123" || got.Name != "acme" || !got.Enabled || !got.Created.Equal(Start) {
		t.Fatalf("KeyByHash: %+v %v", got, err)
	}
	if _, err := s.UpdateKey(ctx, "abc123", func(k *store.Key) { k.Enabled = false }); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.KeyByHash(ctx, "h1"); got.Enabled {
		t.Fatal("disabled key still enabled")
	}
	if _, err := s.UpdateKey(ctx, "missing", func(*store.Key) {}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}
	list, err := s.ListKeys(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListKeys: %v %v", list, err)
	}
	if err := s.DeleteKey(ctx, "abc123"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.KeyByHash(ctx, "h1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted key: %v", err)
	}
	if err := s.DeleteKey(ctx, "abc123"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

// RaceExactQuota has goroutines race for a quota of limit units (each
// trying 3*limit/goroutines+1 times) and fails unless exactly limit are
// admitted.
func RaceExactQuota(t *testing.T, s store.Store, goroutines, limit int) {
	var admitted, rejected atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	q := &store.Quota{Limit: int64(limit), Period: store.Day}
	tries := 3*limit/goroutines + 1
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range tries {
				d, err := s.Decide(context.Background(), store.Request{KeyID: "race", Plan: "p", Quota: q, Cost: 1,
					Now: Start.Add(-time.Hour)})
				if err != nil {
					errs <- fmt.Errorf("goroutine %d try %d: %w", g, i, err)
					return
				}
				if d.Outcome == store.Admitted {
					admitted.Add(1)
				} else {
					rejected.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if admitted.Load() != int64(limit) {
		t.Fatalf("%d goroutines racing for a quota of %d admitted %d (rejected %d)", goroutines, limit, admitted.Load(), rejected.Load())
	}
}
