package redisstore

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
	"github.com/gpugate/gpugate/tests/testkit"
)

// BenchmarkDecideRedis is one full decision (throttle + quota + lease in
// one script call) plus the lease release, from 64 concurrent callers (a
// gateway under load) against a local redis-server, through either
// client (rueidis, the store's, or go-redis), each caller on a key of its
// own (keys=64: decisions share round trips, not script calls) or all on
// one key (whose concurrent decisions share script calls). It reports the
// CPU time per decision of redis-server (INFO cpu: the whole process,
// networking included) and of this process (the client; the benchmark's
// own loop included).
func BenchmarkDecideRedis(b *testing.B) {
	for _, c := range []struct {
		keys   int
		client string
	}{{64, "rueidis"}, {64, "go-redis"}, {1, "rueidis"}, {1, "go-redis"}} {
		b.Run("keys="+strconv.Itoa(c.keys)+"/decisions="+c.client, func(b *testing.B) {
			goRedis := c.client == "go-redis"
			r := testkit.StartRedis(b, testkit.RedisOptions{})
			s, err := Open(r.URL(0), Options{Timeout: time.Second, goRedisDecisions: goRedis})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			b.ReportAllocs()
			b.SetParallelism(32) // 64 callers on 2 cores
			cpu0, self0 := serverCPU(b, r), selfCPU(b)
			b.ResetTimer()
			var callers atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				// Each caller has a key of its own (with keys=64), as
				// distinct clients do: no two decisions share a call.
				key := "k" + strconv.Itoa(int(callers.Add(1))%c.keys)
				for pb.Next() {
					d, err := s.Decide(ctx, store.Request{KeyID: key, Plan: "basic",
						Throttle: &store.Throttle{Rate: 1e9, Burst: 1e9}, Quota: &store.Quota{Limit: 1 << 50, Period: store.Day},
						Concurrency: 1 << 20, Cost: 1, Now: time.Now()})
					if err != nil || d.Outcome != store.Admitted {
						b.Fatal(d.Outcome, err)
					}
					_ = s.Release(ctx, d.Lease)
				}
			})
			b.StopTimer()
			b.ReportMetric((serverCPU(b, r)-cpu0)*1e6/float64(b.N), "redis-cpu-us/decision")
			b.ReportMetric(float64((selfCPU(b)-self0).Microseconds())/float64(b.N), "client-cpu-us/decision")
		})
	}
}

// serverCPU is the CPU seconds redis-server used so far (user + system).
func serverCPU(b *testing.B, r *testkit.Redis) float64 {
	info, err := r.Info("cpu")
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		name, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (name == "used_cpu_user" || name == "used_cpu_sys") {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return total
}

// selfCPU is the CPU time this process used so far.
func selfCPU(b *testing.B) time.Duration {
	d, err := testkit.ProcessCPU(os.Getpid())
	if err != nil {
		b.Fatal(err)
	}
	return d
}
