package embedded

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// benchRequest is a decision with every limit on: throttle, quota and
// concurrency (the lease is released each time).
func benchRequest(key string, now time.Time) store.Request {
	return store.Request{KeyID: key, Plan: "basic", Throttle: &store.Throttle{Rate: 1e9, Burst: 1e9},
		Quota: &store.Quota{Limit: 1 << 60, Period: store.Day}, Concurrency: 1 << 30, Cost: 1, Now: now}
}

func benchDecide(b *testing.B, s *Store) {
	ctx := context.Background()
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			d, err := s.Decide(ctx, benchRequest("k"+strconv.Itoa(i%64), now))
			if err != nil || d.Outcome != store.Admitted {
				b.Fatal(d.Outcome, err)
			}
			_ = s.Release(ctx, d.Lease)
		}
	})
}

func BenchmarkDecideMemory(b *testing.B) { benchDecide(b, OpenMemory()) }

// BenchmarkDecideFile is the same with the file store flushing in the
// background: every 40 ms (the default group commit) against the former
// once a second, to show what the shorter interval costs a decision.
func BenchmarkDecideFile(b *testing.B) {
	for _, interval := range []time.Duration{time.Second, DefaultFlushInterval} {
		b.Run("flush="+interval.String(), func(b *testing.B) {
			s, err := OpenFile(filepath.Join(b.TempDir(), "usage.db"), Options{FlushInterval: interval})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			benchDecide(b, s)
		})
	}
}
