package embedded

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
	"github.com/gpugate/gpugate/modules/usageplan/store/storetest"
	"github.com/gpugate/gpugate/tests/testkit"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s := OpenMemory()
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func TestFileStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := OpenFile(filepath.Join(t.TempDir(), "usage.db"), Options{Now: func() time.Time { return storetest.Start }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

// TestFileStoreRestartKeepsCountsAndKeys closes and reopens the file: the
// quota used, the daily usage and runtime-created keys are all still there.
func TestFileStoreRestartKeepsCountsAndKeys(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "usage.db")
	clock := func() time.Time { return storetest.Start }
	s, err := OpenFile(path, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	key := store.Key{ID: "k1", Name: "acme", Hash: "h", Enabled: true, Plans: []string{"p"}, Created: storetest.Start}
	if err := s.CreateKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	req := store.Request{KeyID: "k1", Plan: "p", Quota: &store.Quota{Limit: 10, Period: store.Day}, Cost: 3, Now: storetest.Start}
	for range 3 {
		if d, _ := s.Decide(ctx, req); d.Outcome != store.Admitted {
			t.Fatal("not admitted")
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = OpenFile(path, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.KeyByHash(ctx, "h"); err != nil || got.Name != "acme" {
		t.Fatalf("key after restart: %+v %v", got, err)
	}
	d, _ := s.Decide(ctx, req)
	if d.Outcome != store.QuotaExceeded {
		t.Fatalf("9 of 10 used before the restart, cost 3 now: %v remaining %d, want quota exceeded", d.Outcome, d.QuotaRemaining)
	}
	days, _ := s.Usage(ctx, "k1", "p", storetest.Start, storetest.Start)
	if days[0].Used != 9 || days[0].Remaining != 1 {
		t.Fatalf("daily usage after restart: %+v", days[0])
	}
}

// TestFileStoreFlushBound shows the crash bound: counts reach the file
// within one DefaultFlushInterval without Close (as after kill -9).
func TestFileStoreFlushBound(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "usage.db")
	s, err := OpenFile(path, Options{Now: func() time.Time { return storetest.Start }})
	if err != nil {
		t.Fatal(err)
	}
	req := store.Request{KeyID: "k1", Plan: "p", Quota: &store.Quota{Limit: 10, Period: store.Day}, Cost: 4, Now: storetest.Start}
	_, _ = s.Decide(ctx, req)
	deadline := time.Now().Add(3 * DefaultFlushInterval)
	start, _ := req.Quota.Window(req.Now)
	for {
		// Read what is committed in the file, as a restart after kill -9 would.
		c := newCounters()
		if err := s.file.load(c, newKeyTable(), newPodTable()); err != nil {
			t.Fatal(err)
		}
		if c.windows[windowID{"k1", "p", start.Unix()}] == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("count not in the file after %s", 3*DefaultFlushInterval)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = s.Close()
}

func TestFileStoreRefusesSecondOpener(t *testing.T) {
	path := filepath.Join(t.TempDir(), "usage.db")
	s, err := OpenFile(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := OpenFile(path, Options{}); err == nil {
		t.Fatal("a second open of the same file must fail (another gateway uses it)")
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	s, err := OpenFile(filepath.Join(t.TempDir(), "usage.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := OpenMemory().Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCloseStopsTheFlushGoroutine: no goroutine outlives the store.
func TestCloseStopsTheFlushGoroutine(t *testing.T) {
	g := testkit.SnapshotGoroutines()
	for range 5 {
		s, err := OpenFile(filepath.Join(t.TempDir(), "usage.db"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Close()
	}
	g.NoLeaks(t)
}
