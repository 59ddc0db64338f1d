package redisstore

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
	"github.com/gpugate/gpugate/tests/testkit"
)

// TestReleasesFreeEverySlot races 64 requests through a concurrency cap of
// 64 twice over: batched releases must free every slot, and a decision
// right after a Release on the same instance is admitted even at a cap of
// 1 (it carries the release it follows).
func TestReleasesFreeEverySlot(t *testing.T) {
	r := testkit.StartRedis(t, testkit.RedisOptions{})
	s := open(t, r.URL(0), Options{})
	ctx := context.Background()
	decide := func(concurrency int64) store.Decision {
		t.Helper()
		d, err := s.Decide(ctx, store.Request{KeyID: "k", Plan: "p", Concurrency: concurrency, Now: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for round := range 2 {
		var wg sync.WaitGroup
		var mu sync.Mutex
		refused := 0
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, err := s.Decide(ctx, store.Request{KeyID: "k", Plan: "p", Concurrency: 64, Now: time.Now()})
				if err != nil {
					t.Error(err)
					return
				}
				if d.Outcome != store.Admitted {
					mu.Lock()
					refused++
					mu.Unlock()
					return
				}
				if err := s.Release(ctx, d.Lease); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if refused != 0 {
			t.Fatalf("round %d: %d of 64 refused under a cap of 64: a released slot was not free", round, refused)
		}
	}
	// Releases do not wait for Redis: the sender removes the rest at once.
	waitLeases(t, s, "k", "p", 0, 2*time.Second)

	for range 20 {
		d := decide(1)
		if d.Outcome != store.Admitted {
			t.Fatalf("cap 1: outcome %v right after the previous release returned", d.Outcome)
		}
		if err := s.Release(ctx, d.Lease); err != nil {
			t.Fatal(err)
		}
	}
}

// waitLeases polls until the lease set of key and plan holds want leases.
func waitLeases(t *testing.T, s *Store, key, plan string, want int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		n, err := s.rdb.ZCard(context.Background(), s.leaseKey(key, plan)).Result()
		if err == nil && n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d leases in Redis after %s, want %d (%v)", n, within, want, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
