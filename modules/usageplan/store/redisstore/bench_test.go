package redisstore

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
	"github.com/gpugate/gpugate/tests/testkit"
)

// BenchmarkDecideRedis is one full decision (throttle + quota + lease in
// one script call) plus the lease release, against a local redis-server.
func BenchmarkDecideRedis(b *testing.B) {
	r := testkit.StartRedis(b, testkit.RedisOptions{})
	s, err := Open(r.URL(0), Options{Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			d, err := s.Decide(ctx, store.Request{KeyID: "k" + strconv.Itoa(i%64), Plan: "basic",
				Throttle: &store.Throttle{Rate: 1e9, Burst: 1e9}, Quota: &store.Quota{Limit: 1 << 50, Period: store.Day},
				Cost: 1, Now: time.Now()})
			if err != nil || d.Outcome != store.Admitted {
				b.Fatal(d.Outcome, err)
			}
		}
	})
}
