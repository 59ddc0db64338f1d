package certstorage

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A held lock outlives its TTL as long as its holder renews it.
func TestLockRenewedWhileHeld(t *testing.T) {
	t.Parallel()
	_, rdb := sharedRedis(t)
	const ttl = time.Second
	a, _ := testStorage(t, rdb, "renew", ttl)
	b, _ := testStorage(t, rdb, "renew", ttl)
	must(t, a.Lock(ctx(), "issue_cert_x"))
	// Three TTLs: without renewal the lock would have expired twice.
	for deadline := time.Now().Add(3 * ttl); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ok, err := b.TryLock(ctx(), "issue_cert_x")
		must(t, err)
		if ok {
			t.Fatal("another instance took a lock that is held and renewed")
		}
		if pttl := rdb.PTTL(ctx(), a.keys.lock("issue_cert_x")).Val(); pttl <= 0 || pttl > ttl {
			t.Fatalf("lock PTTL = %v, want in (0, %v]", pttl, ttl)
		}
	}
	must(t, a.Unlock(ctx(), "issue_cert_x"))
	if n := rdb.Exists(ctx(), a.keys.lock("issue_cert_x")).Val(); n != 0 {
		t.Fatal("lock key still in Redis after Unlock")
	}
}

// A holder that dies (here: stops renewing without unlocking, as a kill -9
// does) blocks a waiter until the lock's expiry, and no longer.
func TestLockOfDeadHolderExpires(t *testing.T) {
	t.Parallel()
	_, rdb := sharedRedis(t)
	const ttl = 2 * time.Second
	dead, _ := testStorage(t, rdb, "expire", ttl)
	waiter, _ := testStorage(t, rdb, "expire", ttl)
	must(t, dead.Lock(ctx(), "issue_cert_x"))
	dead.locks.takeAll() // the process is gone: no renewal, no unlock
	left := rdb.PTTL(ctx(), dead.keys.lock("issue_cert_x")).Val()
	start := time.Now()
	c, cancel := context.WithTimeout(ctx(), ttl+10*time.Second)
	defer cancel()
	must(t, waiter.Lock(c, "issue_cert_x"))
	waited := time.Since(start)
	if waited < left-100*time.Millisecond {
		t.Fatalf("waiter got the lock after %v, before its expiry (%v left)", waited, left)
	}
	if waited > left+time.Second {
		t.Fatalf("waiter got the lock %v after its expiry (%v left), want within the poll interval", waited-left, left)
	}
	must(t, waiter.Unlock(ctx(), "issue_cert_x"))
}

// A lock that expired under its holder (renewal found another token) is
// reported once, counted, and its Unlock says so without touching the new
// holder's lock.
func TestLockLostIsReported(t *testing.T) {
	t.Parallel()
	_, rdb := sharedRedis(t)
	const ttl = time.Second
	a, logs := testStorage(t, rdb, "lost", ttl)
	before := counterValue(a.metrics.locksLost)
	must(t, a.Lock(ctx(), "l"))
	// Someone else's lock replaces it (as after an expiry during a partition).
	must(t, rdb.Set(ctx(), a.keys.lock("l"), "other-holder", time.Minute).Err())
	for deadline := time.Now().Add(5 * time.Second); logs.FilterMessageSnippet("lost lock").Len() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("renewal did not report the lost lock")
		}
	}
	if got := counterValue(a.metrics.locksLost) - before; got != 1 {
		t.Errorf("locks_lost_total rose by %v, want 1", got)
	}
	err := a.Unlock(ctx(), "l")
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("Unlock of a lost lock = %v, want an error saying it expired", err)
	}
	if v := rdb.Get(ctx(), a.keys.lock("l")).Val(); v != "other-holder" {
		t.Fatalf("Unlock touched the new holder's lock: %q", v)
	}
}

func TestUnlockWithoutLock(t *testing.T) {
	t.Parallel()
	_, rdb := sharedRedis(t)
	a, _ := testStorage(t, rdb, "nolock", time.Second)
	if err := a.Unlock(ctx(), "never"); err == nil || !strings.Contains(err.Error(), "not locked by this process") {
		t.Fatalf("Unlock without Lock = %v", err)
	}
}
