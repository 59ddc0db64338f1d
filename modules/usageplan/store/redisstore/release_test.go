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
// 64 twice over: batched releases must free every slot, and a Release must
// return only once its slot is free, so a decision right after it is
// admitted even at a cap of 1.
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
	if n, err := s.rdb.ZCard(ctx, s.leaseKey("k", "p")).Result(); err != nil || n != 0 {
		t.Fatalf("%d leases left in Redis after every release (%v)", n, err)
	}

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
