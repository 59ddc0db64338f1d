package redisstore

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
	"github.com/gpugate/gpugate/tests/testkit"
)

// TestUpgradeKeepsKeysAndTodaysCounts: a Redis written by the previous
// layout (key records without a hash tag, one key per quota window) keeps
// working: the key is found at once and moved to the {keys} names, and
// the current window's use carries on.
func TestUpgradeKeepsKeysAndTodaysCounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := testkit.StartRedis(t, testkit.RedisOptions{})
	raw := rawClient(t, r.URL(0))
	k := store.Key{ID: "old1", Name: "legacy", Hash: "h-old", Enabled: true, Plans: []string{"p"}}
	rec, _ := json.Marshal(k)
	q := &store.Quota{Limit: 10, Period: store.Day}
	start, _ := q.Window(time.Now())
	for name, v := range map[string]string{
		"gpugate:usage:key:old1":      "h-old",
		"gpugate:usage:keyhash:h-old": string(rec),
		"gpugate:usage:{old1}:quota:p:" + strconv.FormatInt(start.Unix(), 10): "7",
	} {
		if err := raw.Set(ctx, name, v, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	raw.SAdd(ctx, "gpugate:usage:keys", "old1")

	s := open(t, r.URL(0), Options{Timeout: time.Second, KeyCache: -1})
	if got, err := s.KeyByHash(ctx, "h-old"); err != nil || got.ID != "old1" {
		t.Fatalf("legacy key: %+v %v", got, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !s.migrated.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the key records were not moved within 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n, _ := raw.Exists(ctx, "gpugate:usage:keyhash:h-old", "gpugate:usage:key:old1", "gpugate:usage:keys").Result(); n != 0 {
		t.Fatalf("%d legacy names left after the move", n)
	}
	if keys, err := s.ListKeys(ctx); err != nil || len(keys) != 1 || keys[0].ID != "old1" {
		t.Fatalf("keys after the move: %+v %v", keys, err)
	}
	d, err := s.Decide(ctx, store.Request{KeyID: "old1", Plan: "p", Quota: q, Cost: 3, Now: time.Now()})
	if err != nil || d.Outcome != store.Admitted || d.QuotaRemaining != 0 {
		t.Fatalf("7 of 10 used before the upgrade, cost 3: %v remaining %d %v; want admitted with 0 left", d.Outcome, d.QuotaRemaining, err)
	}
	if d, _ := s.Decide(ctx, store.Request{KeyID: "old1", Plan: "p", Quota: q, Cost: 1, Now: time.Now()}); d.Outcome != store.QuotaExceeded {
		t.Fatalf("after the upgrade the window is full: %v", d.Outcome)
	}
}
