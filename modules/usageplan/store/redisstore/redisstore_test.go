package redisstore

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
	"github.com/gpugate/gpugate/modules/usageplan/store/storetest"
	"github.com/gpugate/gpugate/tests/testkit"
)

func open(t *testing.T, url string, opts Options) *Store {
	t.Helper()
	s, err := Open(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestRedisStoreConformance(t *testing.T) {
	r := testkit.StartRedis(t, testkit.RedisOptions{Password: "s3cret-pw"})
	db := 0
	storetest.Run(t, func(t *testing.T) store.Store {
		db++ // a fresh database per subtest
		s := open(t, r.URL(db%16), Options{Timeout: time.Second, KeyCache: -1})
		s.requestTime = true // the suite's injected clock, not Redis TIME
		return s
	})
}

// TestTwoInstancesShareExactCounts has two stores (two gateway instances,
// two connection pools) race for one quota: exactly the limit is admitted.
func TestTwoInstancesShareExactCounts(t *testing.T) {
	r := testkit.StartRedis(t, testkit.RedisOptions{})
	a := open(t, r.URL(0), Options{Timeout: time.Second})
	b := open(t, r.URL(0), Options{Timeout: time.Second})
	var admitted atomic.Int64
	var wg sync.WaitGroup
	q := &store.Quota{Limit: 100, Period: store.Day}
	for g := range 64 {
		s := a
		if g%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				d, err := s.Decide(context.Background(), store.Request{KeyID: "k", Plan: "p", Quota: q, Cost: 1, Now: time.Now()})
				if err != nil {
					t.Error(err)
					return
				}
				if d.Outcome == store.Admitted {
					admitted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if admitted.Load() != 100 {
		t.Fatalf("two instances admitted %d of 320 requests for a quota of 100", admitted.Load())
	}
}

// TestRestartKeepsCountsAndKeys restarts redis-server (AOF on): quota use
// and keys persist.
func TestRestartKeepsCountsAndKeys(t *testing.T) {
	ctx := context.Background()
	opts := testkit.RedisOptions{AppendOnly: true}
	r := testkit.StartRedis(t, opts)
	s := open(t, r.URL(0), Options{Timeout: time.Second, KeyCache: -1})
	if err := s.CreateKey(ctx, store.Key{ID: "k1", Name: "acme", Hash: "h", Enabled: true, Plans: []string{"p"}}); err != nil {
		t.Fatal(err)
	}
	req := store.Request{KeyID: "k1", Plan: "p", Quota: &store.Quota{Limit: 10, Period: store.Day}, Cost: 4, Now: time.Now()}
	for range 2 {
		if d, err := s.Decide(ctx, req); err != nil || d.Outcome != store.Admitted {
			t.Fatalf("%v %v", d.Outcome, err)
		}
	}
	r.Restart(opts)
	if k, err := waitKey(s, "h"); err != nil || k.Name != "acme" {
		t.Fatalf("key after Redis restart: %+v %v", k, err)
	}
	d, err := s.Decide(ctx, req)
	if err != nil || d.Outcome != store.QuotaExceeded {
		t.Fatalf("8 of 10 used before the restart, cost 4 now: %v %v, want quota exceeded", d.Outcome, err)
	}
}

// waitKey retries a lookup while the pool reconnects after a restart.
func waitKey(s *Store, hash string) (store.Key, error) {
	var k store.Key
	var err error
	for range 50 {
		if k, err = s.KeyByHash(context.Background(), hash); err == nil || errors.Is(err, store.ErrNotFound) {
			return k, err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return k, err
}

// TestDownRedisFailsFastAndRecovers: with Redis gone a decision fails
// within the timeout, and succeeds again once Redis is back.
func TestDownRedisFailsFastAndRecovers(t *testing.T) {
	r := testkit.StartRedis(t, testkit.RedisOptions{})
	s := open(t, r.URL(0), Options{Timeout: 100 * time.Millisecond})
	req := store.Request{KeyID: "k", Plan: "p", Quota: &store.Quota{Limit: 10, Period: store.Day}, Cost: 1, Now: time.Now()}
	if _, err := s.Decide(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	r.Stop()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_, err := s.Decide(ctx, req)
	cancel()
	if err == nil {
		t.Fatal("decision with Redis down: want an error")
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("failing decision took %s; the timeout is 100ms", took)
	}
	r.Restart(testkit.RedisOptions{})
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := s.Decide(context.Background(), req)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery after Redis came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestLeaseExpiresAfterCrashAndRenewsWhileHeld: a held lease is renewed
// past its TTL; one whose holder stopped renewing (a crashed gateway)
// expires and frees the slot. The TTL is long enough (renewals every
// 500 ms, a lapse needs a stall of over 1 s) that a loaded -race machine
// does not miss a renewal, and the expiry is polled for, not slept for.
func TestLeaseExpiresAfterCrashAndRenewsWhileHeld(t *testing.T) {
	r := testkit.StartRedis(t, testkit.RedisOptions{})
	ttl := 1500 * time.Millisecond
	a := open(t, r.URL(0), Options{Timeout: time.Second, LeaseTTL: ttl})
	b := open(t, r.URL(0), Options{Timeout: time.Second, LeaseTTL: ttl})
	req := func() store.Request {
		return store.Request{KeyID: "k", Plan: "p", Concurrency: 1, Now: time.Now()}
	}
	d, err := a.Decide(context.Background(), req())
	if err != nil || d.Outcome != store.Admitted {
		t.Fatalf("%v %v", d.Outcome, err)
	}
	// Three TTLs: only repeated renewals can have kept the lease alive.
	time.Sleep(3 * ttl)
	if d, err := b.Decide(context.Background(), req()); err != nil || d.Outcome != store.ConcurrencyLimited {
		t.Fatalf("a renewed lease must hold the slot past its TTL: %v %v", d.Outcome, err)
	}
	a.leases.remove(d.Lease) // the holder stops renewing, as if it crashed
	// The last renewal (possibly one in flight during remove) ends at most
	// one TTL from now; the second TTL is slack for a loaded machine.
	removed := time.Now()
	deadline := removed.Add(2 * ttl)
	for {
		d, err := b.Decide(context.Background(), req())
		if err == nil && d.Outcome == store.Admitted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("an abandoned lease must expire within 2 TTLs (%s); still %v %v after %s", 2*ttl, d.Outcome, err, time.Since(removed))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestInvalidURLHidesPassword(t *testing.T) {
	_, err := Open("redis://:hunter2@%zz/0", Options{})
	if err == nil {
		t.Fatal("want an error")
	}
	if got := err.Error(); strings.Contains(got, "hunter2") {
		t.Fatalf("error leaks the password: %s", got)
	}
}

// TestKnownKeysSurviveAnOutage: a key looked up before Redis went away is
// still recognised (last known good), an unknown one is an error.
func TestKnownKeysSurviveAnOutage(t *testing.T) {
	ctx := context.Background()
	r := testkit.StartRedis(t, testkit.RedisOptions{})
	s := open(t, r.URL(0), Options{Timeout: 100 * time.Millisecond, KeyCache: 50 * time.Millisecond})
	if err := s.CreateKey(ctx, store.Key{ID: "k1", Name: "acme", Hash: "h", Enabled: true, Plans: []string{"p"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.KeyByHash(ctx, "h"); err != nil {
		t.Fatal(err)
	}
	r.Stop()
	time.Sleep(100 * time.Millisecond) // past the cache TTL
	if k, err := s.KeyByHash(ctx, "h"); err != nil || k.ID != "k1" {
		t.Fatalf("known key during the outage: %+v %v", k, err)
	}
	if _, err := s.KeyByHash(ctx, "never-seen"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown key during the outage: %v, want a store error", err)
	}
}

// TestCloseStopsGoroutinesAndReleasesLeases: Close stops the renewer and
// the pool, and frees the leases this instance held.
func TestCloseStopsGoroutinesAndReleasesLeases(t *testing.T) {
	r := testkit.StartRedis(t, testkit.RedisOptions{})
	other := open(t, r.URL(0), Options{Timeout: time.Second})
	before := runtime.NumGoroutine()
	s, err := Open(r.URL(0), Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	req := store.Request{KeyID: "k", Plan: "p", Concurrency: 1, Now: time.Now()}
	if d, err := s.Decide(context.Background(), req); err != nil || d.Outcome != store.Admitted {
		t.Fatalf("%v %v", d.Outcome, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d, _ := other.Decide(context.Background(), req); d.Outcome != store.Admitted {
		t.Fatalf("a closed instance's lease must be freed: %v", d.Outcome)
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d before, %d after Close", before, runtime.NumGoroutine())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestUnreachableClusterAtStart: a Redis Cluster that is down when the
// store opens does not stop it; the store says once that decisions go
// through go-redis while it retries the cluster client, and Close stops
// the retrying.
func TestUnreachableClusterAtStart(t *testing.T) {
	before := runtime.NumGoroutine()
	onError, waitFor := storeErrors(t)
	s, err := Open("redis+cluster://"+testkit.FreeAddr(t), Options{Timeout: 100 * time.Millisecond, OnError: onError})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	waitFor("until the Redis Cluster client can be created")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 2*time.Second, "the goroutines to end after Close",
		func() bool { return runtime.NumGoroutine() <= before })
}

// TestSentinelDecisionsThroughRueidis: on a Sentinel deployment the store
// decides through its rueidis client (the primary the sentinels name),
// and one whose sentinels are all down still opens, saying that decisions
// go through go-redis while it retries.
func TestSentinelDecisionsThroughRueidis(t *testing.T) {
	t.Parallel()
	sn := testkit.StartRedisSentinel(t, testkit.RedisOptions{Password: "sentinel-pw"})
	s := open(t, sn.URL(0), Options{Timeout: time.Second})
	if s.fast.Load() == nil {
		t.Fatal("no rueidis client for a Sentinel deployment")
	}
	req := store.Request{KeyID: "k", Plan: "basic", Quota: &store.Quota{Limit: 2, Period: store.Day}, Cost: 1, Now: time.Now()}
	for i, want := range []store.Outcome{store.Admitted, store.Admitted, store.QuotaExceeded} {
		if d, err := s.Decide(context.Background(), req); err != nil || d.Outcome != want {
			t.Fatalf("decision %d: %v %v, want %v", i+1, d.Outcome, err, want)
		}
	}
	if calls, _, err := sn.Primary.ScriptStats(); err != nil || calls < 3 {
		t.Fatalf("%d script calls on the primary (%v), want the 3 decisions", calls, err)
	}

	onError, waitFor := storeErrors(t)
	down := open(t, "redis+sentinel://"+testkit.FreeAddr(t)+"/gpugate/0", Options{Timeout: 100 * time.Millisecond, OnError: onError})
	waitFor("until the Redis Sentinel client can be created")
	if down.fast.Load() != nil {
		t.Error("a rueidis client without a reachable sentinel")
	}
}

// storeErrors returns an Options.OnError that keeps the store's
// background errors, and waitFor, which waits (up to 5 s) for one that
// contains text. Other background work (the key-record migration) reports
// its own errors meanwhile.
func storeErrors(t *testing.T) (onError func(error), waitFor func(text string)) {
	errs := make(chan error, 100)
	onError = func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	waitFor = func(text string) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case err := <-errs:
				if strings.Contains(err.Error(), text) {
					return
				}
			case <-deadline:
				t.Fatalf("no store error said %q within 5 s", text)
			}
		}
	}
	return onError, waitFor
}

// TestSentinelFailoverWithASilentSentinel: the sentinel the rueidis client
// listens to stops answering (SIGSTOP, as in a partition), then the
// primary dies and the other two sentinels promote the replica: decisions
// reach the new primary within seconds, not when TCP gives up.
func TestSentinelFailoverWithASilentSentinel(t *testing.T) {
	t.Parallel()
	sn := testkit.StartRedisSentinel(t, testkit.RedisOptions{})
	s := open(t, sn.URL(0), Options{Timeout: 500 * time.Millisecond})
	req := store.Request{KeyID: "k", Plan: "basic", Quota: &store.Quota{Limit: 1 << 40, Period: store.Day}, Cost: 1}
	req.Now = time.Now()
	if d, err := s.Decide(context.Background(), req); err != nil || d.Outcome != store.Admitted {
		t.Fatalf("before the failover: %v %v", d.Outcome, err)
	}
	// The client follows the first sentinel of the URL that answers.
	sn.Sentinels[0].Pause()
	t.Cleanup(sn.Sentinels[0].Resume)
	sn.Primary.Stop()
	start := time.Now()
	testkit.Eventually(t, 40*time.Second, "a decision on the promoted replica", func() bool {
		req.Now = time.Now()
		d, err := s.Decide(context.Background(), req)
		if err != nil || d.Outcome != store.Admitted {
			return false
		}
		info, _ := sn.Replica.Info("replication")
		return strings.Contains(info, "role:master")
	})
	t.Logf("decisions resumed %s after the primary died", time.Since(start).Round(100*time.Millisecond))
	if calls, _, err := sn.Replica.ScriptStats(); err != nil || calls == 0 {
		t.Fatalf("no script call on the promoted replica (%v)", err)
	}
}

// TestSentinelUserWithoutRole: rueidis checks a Sentinel primary with ROLE
// (@admin); for an ACL user without it the store decides through go-redis
// and says why.
func TestSentinelUserWithoutRole(t *testing.T) {
	t.Parallel()
	sn := testkit.StartRedisSentinel(t, testkit.RedisOptions{})
	for _, n := range []*testkit.Redis{sn.Primary, sn.Replica} {
		if out, err := n.Do("ACL", "SETUSER", "limited", "on", ">limited-pw", "~*", "&*", "+@all", "-@admin"); err != nil || out != "+OK" {
			t.Fatalf("ACL SETUSER on %s: %s %v", n.Addr, out, err)
		}
	}
	onError, waitFor := storeErrors(t)
	url := "redis+sentinel://limited:limited-pw@" + sn.Sentinels[0].Addr + "," + sn.Sentinels[1].Addr + "/gpugate/0"
	s := open(t, url, Options{Timeout: time.Second, OnError: onError})
	waitFor("NOPERM")
	if s.fast.Load() != nil {
		t.Fatal("a rueidis client for a user that may not run ROLE")
	}
	req := store.Request{KeyID: "k", Plan: "basic", Quota: &store.Quota{Limit: 5, Period: store.Day}, Cost: 1, Now: time.Now()}
	if d, err := s.Decide(context.Background(), req); err != nil || d.Outcome != store.Admitted {
		t.Fatalf("decision through go-redis: %v %v", d.Outcome, err)
	}
}
