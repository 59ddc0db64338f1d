package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// runSpend runs the suite of meters, budgets, records, last-used times,
// pod caps and key rotation.
func runSpend(t *testing.T, newStore Factory) {
	t.Run("BudgetAdmitsRefusesNextWindow", func(t *testing.T) { testBudget(t, newStore(t)) })
	t.Run("MeterChargedOnce", func(t *testing.T) { testChargeOnce(t, newStore(t)) })
	t.Run("RaceChargeOnce", func(t *testing.T) { RaceChargeOnce(t, newStore(t), 32) })
	t.Run("Records", func(t *testing.T) { testRecords(t, newStore(t)) })
	t.Run("LastUsed", func(t *testing.T) { testLastUsed(t, newStore(t)) })
	t.Run("PodCaps", func(t *testing.T) { testPodCaps(t, newStore(t)) })
	t.Run("RotateKey", func(t *testing.T) { testRotate(t, newStore(t)) })
}

// gpuSeconds is a daily budget of 10 GPU-seconds (in micro-units).
var gpuSeconds = store.Budget{Meter: "gpu_seconds", Quota: store.Quota{Limit: 10 * store.Micro, Period: store.Day}}

func charge(t *testing.T, s store.Store, once string, units int64, now time.Time) bool {
	t.Helper()
	ok, err := s.ChargeMeters(context.Background(), store.MeterCharge{KeyID: "k1", Plan: "p", Once: once, Now: now,
		Units: []store.MeterUnits{{Meter: gpuSeconds.Meter, Units: units, Window: gpuSeconds.Quota}}})
	if err != nil {
		t.Fatalf("ChargeMeters: %v", err)
	}
	return ok
}

func testBudget(t *testing.T, s store.Store) {
	req := store.Request{KeyID: "k1", Plan: "p", Budgets: []store.Budget{gpuSeconds}, Now: Start}
	d := decide(t, s, req)
	if d.Outcome != store.Admitted || len(d.Budgets) != 1 || d.Budgets[0].Remaining != 10*store.Micro || d.Budgets[0].Reset != 2*time.Second {
		t.Fatalf("fresh budget: %v %+v", d.Outcome, d.Budgets)
	}
	charge(t, s, "", 6*store.Micro, Start)
	if d := decide(t, s, req); d.Outcome != store.Admitted || d.Budgets[0].Remaining != 4*store.Micro {
		t.Fatalf("after 6 s: %v %+v", d.Outcome, d.Budgets)
	}
	// A call in flight overshoots: the charge is never refused.
	charge(t, s, "", 6*store.Micro, Start)
	d = decide(t, s, req)
	if d.Outcome != store.BudgetExhausted || d.Budget != 0 || d.RetryAfter != 2*time.Second {
		t.Fatalf("exhausted budget: %v budget %d retry %v", d.Outcome, d.Budget, d.RetryAfter)
	}
	days, err := s.Usage(context.Background(), "k1", store.MeterCounter("p", gpuSeconds.Meter), Start, Start)
	if err != nil || len(days) != 1 || days[0].Used != 12*store.Micro || days[0].Remaining != -2*store.Micro {
		t.Fatalf("meter usage: %+v %v", days, err)
	}
	req.Now = Start.Add(2 * time.Second) // the next UTC day
	if d := decide(t, s, req); d.Outcome != store.Admitted || d.Budgets[0].Remaining != 10*store.Micro {
		t.Fatalf("next window: %v %+v", d.Outcome, d.Budgets)
	}
}

func testChargeOnce(t *testing.T, s store.Store) {
	for i := range 5 {
		if got := charge(t, s, "job-1", 3*store.Micro, Start); got != (i == 0) {
			t.Fatalf("poll %d of job-1 charged %v", i, got)
		}
	}
	if !charge(t, s, "job-2", 2*store.Micro, Start) {
		t.Fatal("another job was not charged")
	}
	days, err := s.Usage(context.Background(), "k1", store.MeterCounter("p", gpuSeconds.Meter), Start, Start)
	if err != nil || days[0].Used != 5*store.Micro {
		t.Fatalf("usage after five polls of one job and one of another: %+v %v", days, err)
	}
}

// RaceChargeOnce charges one once-id from many goroutines: exactly one
// charge counts.
func RaceChargeOnce(t *testing.T, s store.Store, goroutines int) {
	var charged atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			ok, err := s.ChargeMeters(context.Background(), store.MeterCharge{KeyID: "k1", Plan: "p", Once: "job-race", Now: Start,
				Units: []store.MeterUnits{{Meter: "gpu_seconds", Units: store.Micro, Window: gpuSeconds.Quota}}})
			if err != nil {
				t.Error(err)
			}
			if ok {
				charged.Add(1)
			}
		})
	}
	wg.Wait()
	if n := charged.Load(); n != 1 {
		t.Fatalf("%d charges of one once-id counted, want 1", n)
	}
}

func testRecords(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.GetRecord(ctx, "job:ep:1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing record: %v", err)
	}
	if v, created, err := s.PutRecord(ctx, "job:ep:1", "alice", time.Hour); err != nil || !created || v != "alice" {
		t.Fatalf("first put: %q %v %v", v, created, err)
	}
	if v, created, err := s.PutRecord(ctx, "job:ep:1", "bob", time.Hour); err != nil || created || v != "alice" {
		t.Fatalf("second put must keep the first owner: %q %v %v", v, created, err)
	}
	if v, err := s.GetRecord(ctx, "job:ep:1"); err != nil || v != "alice" {
		t.Fatalf("get: %q %v", v, err)
	}
	if err := s.DeleteRecord(ctx, "job:ep:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetRecord(ctx, "job:ep:1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted record: %v", err)
	}
	if err := s.DeleteRecord(ctx, "job:ep:1"); err != nil {
		t.Fatalf("deleting an absent record: %v", err)
	}
}

func testLastUsed(t *testing.T, s store.Store) {
	decide(t, s, store.Request{KeyID: "k1", Plan: "p", Quota: &store.Quota{Limit: 5, Period: store.Day}, Cost: 1, Now: Start})
	got, err := s.LastUsed(context.Background(), []string{"k1", "never"})
	if err != nil {
		t.Fatal(err)
	}
	if lu, ok := got["k1"]; !ok || lu.Sub(Start).Abs() > time.Minute && !Start.Before(time.Now().Add(-time.Minute)) {
		t.Fatalf("last used of k1: %v %v", lu, ok)
	}
	if _, ok := got["never"]; ok {
		t.Fatal("a key never admitted has a last-used time")
	}
}

func testPodCaps(t *testing.T, s store.Store) {
	ctx := context.Background()
	caps := store.PodCaps{Pods: 2, GPUs: 3, CostMicros: 5 * store.Micro}
	reserve := func(e store.PodEntry) string {
		t.Helper()
		got, err := s.ReservePod(ctx, "alice", e, caps, Start)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if c := reserve(store.PodEntry{ID: "pending-1", GPUs: 2, CostMicros: 2 * store.Micro, Pending: true, Since: Start}); c != "" {
		t.Fatalf("first pod refused: %s", c)
	}
	if c := reserve(store.PodEntry{ID: "pending-2", GPUs: 2, CostMicros: store.Micro, Pending: true, Since: Start}); c != store.CapGPUs {
		t.Fatalf("4 GPUs of 3: %q", c)
	}
	if err := s.PutPod(ctx, "alice", store.PodEntry{ID: "pod-1", GPUs: 2, CostMicros: 2 * store.Micro, Running: true, Since: Start}, "pending-1"); err != nil {
		t.Fatal(err)
	}
	if c := reserve(store.PodEntry{ID: "pending-3", GPUs: 1, CostMicros: 4 * store.Micro, Pending: true, Since: Start}); c != store.CapUSDPerHour {
		t.Fatalf("6 USD/h of 5: %q", c)
	}
	// A stopped pod holds no GPU and costs nothing per hour, but it is a pod.
	if err := s.PutPod(ctx, "alice", store.PodEntry{ID: "pod-1", GPUs: 2, CostMicros: 2 * store.Micro}, ""); err != nil {
		t.Fatal(err)
	}
	if c := reserve(store.PodEntry{ID: "pending-4", GPUs: 3, CostMicros: 4 * store.Micro, Pending: true, Since: Start}); c != "" {
		t.Fatalf("3 GPUs beside a stopped pod: %q", c)
	}
	if c := reserve(store.PodEntry{ID: "pending-5", GPUs: 1, Pending: true, Since: Start}); c != store.CapPods {
		t.Fatalf("a third pod: %q", c)
	}
	// Starting the stopped pod again passes the GPU cap.
	if c := reserve(store.PodEntry{ID: "pod-1", GPUs: 2, CostMicros: 2 * store.Micro, Running: true, Since: Start}); c != store.CapGPUs {
		t.Fatalf("starting pod-1 beside 3 GPUs: %q", c)
	}
	if err := s.RemovePod(ctx, "alice", "pending-4"); err != nil {
		t.Fatal(err)
	}
	pods, err := s.OwnerPods(ctx, "alice", Start)
	if err != nil || len(pods) != 1 || pods[0].ID != "pod-1" || pods[0].Running {
		t.Fatalf("alice's pods: %+v %v", pods, err)
	}
	// An unconfirmed reservation stops counting after PendingTTL.
	if c := reserve(store.PodEntry{ID: "pending-6", GPUs: 3, Pending: true, Since: Start}); c != "" {
		t.Fatalf("pending-6: %q", c)
	}
	later := Start.Add(store.PendingTTL + time.Second)
	if c, err := s.ReservePod(ctx, "alice", store.PodEntry{ID: "pending-7", GPUs: 3, Pending: true, Since: later}, caps, later); err != nil || c != "" {
		t.Fatalf("an expired reservation still counts: %q %v", c, err)
	}
	if pods, _ := s.OwnerPods(ctx, "bob", Start); len(pods) != 0 {
		t.Fatalf("bob shares alice's pods: %+v", pods)
	}
}

func testRotate(t *testing.T, s store.Store) {
	ctx := context.Background()
	k := store.Key{ID: "rot1", Name: "acme", Hash: "h1", Enabled: true, Plans: []string{"p"}, Created: Start}
	if err := s.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	grace := Start.Add(time.Hour)
	got, err := s.RotateKey(ctx, "rot1", "h2", grace)
	if err != nil || got.Hash != "h2" || got.PreviousHash != "h1" || !got.PreviousUntil.Equal(grace) || len(got.Plans) != 1 {
		t.Fatalf("rotate: %+v %v", got, err)
	}
	for _, h := range []string{"h1", "h2"} {
		k, err := s.KeyByHash(ctx, h)
		if err != nil || k.ID != "rot1" || !k.AcceptsHash(h, Start) {
			t.Fatalf("value %s during the grace period: %+v %v", h, k, err)
		}
	}
	if k, _ := s.KeyByHash(ctx, "h1"); k.AcceptsHash("h1", grace) {
		t.Fatal("the old value is accepted after the grace period")
	}
	// A change of plans reaches the key whichever value finds it.
	if _, err := s.UpdateKey(ctx, "rot1", func(k *store.Key) { k.Plans = []string{"p", "q"} }); err != nil {
		t.Fatal(err)
	}
	if k, err := s.KeyByHash(ctx, "h1"); err != nil || len(k.Plans) != 2 {
		t.Fatalf("the old value finds a stale key: %+v %v", k, err)
	}
	if _, err := s.RotateKey(ctx, "rot1", "h3", grace); err != nil {
		t.Fatal(err)
	}
	if k, err := s.KeyByHash(ctx, "h1"); err == nil && k.AcceptsHash("h1", Start) {
		t.Fatal("the value of two rotations ago is still accepted")
	}
	other := store.Key{ID: "other", Name: "x", Hash: "hx", Enabled: true, Plans: []string{"p"}, Created: Start}
	if err := s.CreateKey(ctx, other); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateKey(ctx, "rot1", "hx", grace); !errors.Is(err, store.ErrExists) {
		t.Fatalf("rotating onto another key's value: %v", err)
	}
	if _, err := s.RotateKey(ctx, "nope", "h9", grace); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rotating a missing key: %v", err)
	}
	if err := s.DeleteKey(ctx, "rot1"); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"h2", "h3"} {
		if _, err := s.KeyByHash(ctx, h); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("value %s of a deleted key: %v", h, err)
		}
	}
}
