package redisstore

import (
	"context"
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
// gateway under load) against a local redis-server, with and without
// go-redis's autopipelining, each caller on a key of its own (64 keys:
// decisions of different keys share round trips, not script calls) or all
// on one key (whose concurrent decisions share script calls). It reports the redis-server
// CPU time per decision (INFO cpu: the whole process, networking
// included).
func BenchmarkDecideRedis(b *testing.B) {
	for _, c := range []struct {
		keys      int
		pipelined bool
	}{{64, false}, {64, true}, {1, false}} {
		b.Run("keys="+strconv.Itoa(c.keys)+"/autopipeline="+strconv.FormatBool(c.pipelined), func(b *testing.B) {
			pipelined := c.pipelined
			r := testkit.StartRedis(b, testkit.RedisOptions{})
			s, err := Open(r.URL(0), Options{Timeout: time.Second, autoPipeline: pipelined})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			b.ReportAllocs()
			b.SetParallelism(32) // 64 callers on 2 cores
			cpu0 := serverCPU(b, r)
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
