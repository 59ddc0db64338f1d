package redisstore

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gpugate/gpugate/modules/usageplan/store"
	"github.com/gpugate/gpugate/tests/testkit"
)

// rawClient is a second connection to the test Redis, for inspection and
// for blocking the server.
func rawClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	o.ReadTimeout = 5 * time.Second
	c := redis.NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// usedNow is the quota use of key k in plan p in today's daily window.
func usedNow(t *testing.T, s *Store, c *redis.Client) int64 {
	t.Helper()
	start, _ := (&store.Quota{Limit: 10, Period: store.Day}).Window(time.Now())
	h, err := c.HMGet(context.Background(), s.planKey("k", "p"), "ws", "u").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		t.Fatal(err)
	}
	if ws, _ := h[0].(string); ws != strconv.FormatInt(start.UnixMicro(), 10) {
		return 0
	}
	u, _ := h[1].(string)
	n, _ := strconv.ParseInt(u, 10, 64)
	return n
}

// TestTimedOutDecisionIsUndone: a decision whose caller gave up at the
// store timeout (Redis busy for 400 ms) still runs in Redis; the store
// undoes it in the background, so the refused request holds no slot and
// is charged nothing.
func TestTimedOutDecisionIsUndone(t *testing.T) {
	r := testkit.StartRedis(t, testkit.RedisOptions{})
	s := open(t, r.URL(0), Options{Timeout: 100 * time.Millisecond})
	raw := rawClient(t, r.URL(0))
	req := store.Request{KeyID: "k", Plan: "p", Concurrency: 1, Quota: &store.Quota{Limit: 10, Period: store.Day}, Cost: 1, Now: time.Now()}
	d, err := s.Decide(context.Background(), req) // loads the script
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Release(context.Background(), d.Lease)
	before := usedNow(t, s, raw)

	for _, cancelled := range []bool{false, true} {
		busy := make(chan struct{})
		go func() {
			defer close(busy)
			raw.Eval(context.Background(), `local t=redis.call('TIME') while true do local n=redis.call('TIME') if (n[1]-t[1])*1000000+(n[2]-t[2]) > 400000 then break end end return 1`, nil)
		}()
		time.Sleep(30 * time.Millisecond)
		// The request path's deadline: store_timeout.
		ctx, cancelTimeout := context.WithTimeout(context.Background(), 100*time.Millisecond)
		if cancelled { // the client went away mid-decision
			var cancel context.CancelFunc
			ctx, cancel = context.WithCancel(ctx)
			time.AfterFunc(30*time.Millisecond, cancel)
		}
		if _, err := s.Decide(ctx, req); err == nil {
			t.Fatal("a decision during a 400 ms stall must fail at the 100 ms timeout")
		}
		cancelTimeout()
		<-busy
		deadline := time.Now().Add(3 * time.Second)
		for {
			n, _ := raw.ZCard(context.Background(), s.leaseKey("k", "p")).Result()
			used := usedNow(t, s, raw)
			if n == 0 && used == before {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cancelled=%v: after the stall %d leases held and quota used %d (was %d): the refused request kept its slot or was charged", cancelled, n, used, before)
			}
			time.Sleep(20 * time.Millisecond)
		}
		d, err = s.Decide(context.Background(), req)
		if err != nil || d.Outcome != store.Admitted {
			t.Fatalf("cancelled=%v: next decision: %v %v", cancelled, d.Outcome, err)
		}
		_ = s.Release(context.Background(), d.Lease)
		before = usedNow(t, s, raw)
	}
}

// TestUndoIsExactlyOnceInEitherOrder: undo after the decision gives the
// units back once however often it runs; undo before the decision (its
// request overtook the decision) makes the decision charge nothing.
func TestUndoIsExactlyOnceInEitherOrder(t *testing.T) {
	r := testkit.StartRedis(t, testkit.RedisOptions{})
	s := open(t, r.URL(0), Options{Timeout: time.Second})
	raw := rawClient(t, r.URL(0))
	ctx := context.Background()
	q := &store.Quota{Limit: 10, Period: store.Day}
	d, err := s.Decide(ctx, store.Request{KeyID: "k", Plan: "p", Concurrency: 5, Quota: q, Cost: 3, Now: time.Now()})
	if err != nil || d.Outcome != store.Admitted || usedNow(t, s, raw) != 3 {
		t.Fatalf("decide: %v %v used %d", d.Outcome, err, usedNow(t, s, raw))
	}
	undo := func(id string) int64 {
		keys, args := s.undoCall(undoID{"k", "p", id}, undoEntry{cost: 3, limit: 10, period: "day"})
		n, err := s.undo.Run(ctx, s.rdb, keys, args...).Int64()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if undo(d.Lease.ID) != 1 || undo(d.Lease.ID) != 0 {
		t.Fatal("the first undo gives the units back, the second nothing")
	}
	if used := usedNow(t, s, raw); used != 0 {
		t.Fatalf("after two undos: used %d, want 0", used)
	}
	if n, _ := raw.ZCard(ctx, s.leaseKey("k", "p")).Result(); n != 0 {
		t.Fatalf("undo leaves %d leases", n)
	}

	undo("early")
	out, err := s.runDecide(ctx, decisionShape{keyID: "k", plan: "p", limit: 10, period: "day", cost: 3, concurrency: 5}, nil, []string{"early"})
	if err != nil || out[0][0] != 4 {
		res := out
		t.Fatalf("a decision after its undo: %v %v, want outcome 4", res, err)
	}
	if used := usedNow(t, s, raw); used != 0 {
		t.Fatalf("a decision after its undo charged: used %d", used)
	}
	if n, _ := raw.ZCard(ctx, s.leaseKey("k", "p")).Result(); n != 0 {
		t.Fatalf("a decision after its undo took a slot: %d leases", n)
	}
}

// TestRedisClockNotInstanceClock: decisions use the Redis server's time.
// An instance whose clock runs 31 s ahead (lease TTL 30 s) cannot evict
// another instance's live lease nor refill a throttle bucket early, one
// whose clock is two days behind charges today's window, and a renewal
// from a lagging instance keeps its lease alive.
func TestRedisClockNotInstanceClock(t *testing.T) {
	ctx := context.Background()
	r := testkit.StartRedis(t, testkit.RedisOptions{})
	lag := func() time.Time { return time.Now().Add(-time.Hour) }
	a := open(t, r.URL(0), Options{Timeout: time.Second, LeaseTTL: 600 * time.Millisecond, Now: lag})
	b := open(t, r.URL(0), Options{Timeout: time.Second})
	now := time.Now()
	d1, err := a.Decide(ctx, store.Request{KeyID: "k", Plan: "p", Concurrency: 1, Now: now.Add(-time.Hour)})
	if err != nil || d1.Outcome != store.Admitted {
		t.Fatalf("a: %v %v", d1.Outcome, err)
	}
	d2, err := b.Decide(ctx, store.Request{KeyID: "k", Plan: "p", Concurrency: 1, Now: now.Add(31 * time.Second)})
	if err != nil || d2.Outcome != store.ConcurrencyLimited {
		t.Fatalf("b (clock +31s): %v %v; a's live lease was evicted", d2.Outcome, err)
	}
	time.Sleep(time.Second) // a renews every 200 ms with its clock an hour behind
	if d3, _ := b.Decide(ctx, store.Request{KeyID: "k", Plan: "p", Concurrency: 1, Now: now}); d3.Outcome != store.ConcurrencyLimited {
		t.Fatalf("a's lease expired although a renews it: %v", d3.Outcome)
	}

	th := &store.Throttle{Rate: 1, Burst: 1}
	if d, err := a.Decide(ctx, store.Request{KeyID: "t", Plan: "p", Throttle: th, Now: now}); err != nil || d.Outcome != store.Admitted {
		t.Fatalf("throttle a: %v %v", d.Outcome, err)
	}
	if d, _ := b.Decide(ctx, store.Request{KeyID: "t", Plan: "p", Throttle: th, Now: now.Add(10 * time.Second)}); d.Outcome != store.Throttled || d.RetryAfter > time.Second {
		t.Fatalf("b (clock +10s) on a rate 1 burst 1 bucket just used: %v retry %v, want throttled for up to 1s", d.Outcome, d.RetryAfter)
	}

	q := &store.Quota{Limit: 10, Period: store.Day}
	d, err := b.Decide(ctx, store.Request{KeyID: "q", Plan: "p", Quota: q, Cost: 1, Now: now.Add(-48 * time.Hour)})
	if err != nil || d.Outcome != store.Admitted {
		t.Fatalf("quota: %v %v", d.Outcome, err)
	}
	start, end := q.Window(time.Now())
	if !d.Charge.Window.Equal(start) || d.QuotaReset > end.Sub(now) || d.QuotaReset < time.Until(end)-time.Second {
		t.Fatalf("charged window %v reset %v, want today's window %v (ends in %v)", d.Charge.Window, d.QuotaReset, start, end.Sub(now))
	}
	rem, err := b.ChangeQuota(ctx, store.QuotaChange{KeyID: "q", Plan: "p", Quota: *q, Now: now.Add(-48 * time.Hour), Extend: 5})
	if err != nil || rem != 14 {
		t.Fatalf("extend from a lagging clock changes today's window: remaining %d %v, want 14", rem, err)
	}
}

// TestScriptWindowsMatchGo: the script's calendar windows (from the
// injected time here) equal store.Quota.Window at month ends, leap days,
// Mondays, year ends and with offsets.
func TestScriptWindowsMatchGo(t *testing.T) {
	r := testkit.StartRedis(t, testkit.RedisOptions{})
	s := open(t, r.URL(0), Options{Timeout: time.Second})
	s.requestTime = true
	times := []time.Time{
		time.Date(2026, 11, 22, 23, 59, 59, 999999000, time.UTC),
		time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC),
		time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC),
		time.Date(2028, 3, 1, 7, 59, 0, 0, time.UTC),
		time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC),
		time.Date(2027, 1, 1, 0, 30, 0, 0, time.UTC),
		time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC),
		time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC),
	}
	quotas := []store.Quota{
		{Period: store.Day}, {Period: store.Week}, {Period: store.Month},
		{Period: store.Day, Offset: 8 * time.Hour}, {Period: store.Week, Offset: 36 * time.Hour},
		{Period: store.Month, Offset: 27*24*time.Hour + 90*time.Second}, {Period: store.Day, Offset: 1500 * time.Millisecond},
	}
	for i, now := range times {
		for j, q := range quotas {
			q.Limit = 1000
			key := "w" + strconv.Itoa(i) + "-" + strconv.Itoa(j)
			d, err := s.Decide(context.Background(), store.Request{KeyID: key, Plan: "p", Quota: &q, Cost: 1, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			start, end := q.Window(now)
			if !d.Charge.Window.Equal(start) || d.QuotaReset != end.Sub(now) || !d.Charge.Day.Equal(store.UTCDay(now)) {
				t.Errorf("%v %+v: script window %v reset %v day %v, Go %v..%v day %v", now, q, d.Charge.Window, d.QuotaReset, d.Charge.Day, start, end, store.UTCDay(now))
			}
		}
	}
}
