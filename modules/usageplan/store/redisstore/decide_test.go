package redisstore

import (
	"context"
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
	dkeys := []string{s.planKey("k", "p"), s.legacyWindowPrefix("k", "p"), s.dayPrefix("k", "p"), s.leaseKey("k", "p"), s.markerKey("k", "early"), s.lastUsedKey("k")}
	res, err := s.decide.Run(ctx, s.rdb, dkeys, 0, throttle.Interval().Microseconds(), throttle.Burst, -1, 0, "", 0, 100, 5, "early", int64(30e6), int64(5000), "", 0).Int64Slice()
	if err != nil || res[0] != 4 {
		t.Fatalf("the decision after its undo: %v %v, want outcome 4", res, err)
	}
	if n := raw.ZCard(ctx, s.leaseKey("k", "p")).Val(); n != 1 {
		t.Fatalf("%d leases, want only the other decision's", n)
	}
}
