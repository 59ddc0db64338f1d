// Package loadbench measures the gateway's throughput against a bare Caddy
// reverse_proxy of the same Caddy version, both in front of the same
// upstream, in one run, and reports the ratio (DESIGN.md's targets: >= 0.92
// with the embedded store, >= 0.80 with Redis).
//
// It runs only under `./xcaddy.sh bench` (GPUGATE_LOAD_BENCH=1): it loads
// both cores for tens of seconds.
package loadbench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"
)

const (
	jwtSecret = "loadbench-secret-0123456789abcdef0123456789"
	apiKey    = "gpg_loadbench_0123456789abcdef"
	workers   = 32
	runFor    = 4 * time.Second // per target and round
	rounds    = 3
)

// BenchmarkChainVsBareProxy reports req/s of the bare proxy and of the full
// chain (JWT + API key + usage plan + proxy) per store, and their ratio.
// The metrics are per run, not per b.N iteration (the B/op and allocs/op
// figures are the load generator's own); a run lasts about
// 3 targets x rounds x runFor.
func BenchmarkChainVsBareProxy(b *testing.B) {
	if os.Getenv("GPUGATE_LOAD_BENCH") != "1" {
		b.Skip("load benchmark: run with ./xcaddy.sh bench (GPUGATE_LOAD_BENCH=1)")
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true,"pods":[]}`))
	}))
	b.Cleanup(upstream.Close)
	upstreamAddr := strings.TrimPrefix(upstream.URL, "http://")

	token := testkit.SignHS256(b, jwtSecret, testkit.Claims{
		"sub": "bench-user", "iss": "https://auth.bench.local/", "aud": "gpugate-bench",
		"iat": time.Now().Unix(), "exp": time.Now().Add(2 * time.Hour).Unix(),
	})

	redis := testkit.StartRedis(b, testkit.RedisOptions{})
	bare := testkit.StartBareCaddy(b, testdataPath(b, "bare.Caddyfile"), testkit.GatewayOptions{
		PlainHTTP: true, Env: map[string]string{"BENCH_UPSTREAM": upstreamAddr}})
	chain := func(store string) *testkit.Gateway {
		return testkit.StartGateway(b, testdataPath(b, "chain.Caddyfile"), testkit.GatewayOptions{
			PlainHTTP: true,
			Env: map[string]string{
				"BENCH_UPSTREAM":   upstreamAddr,
				"BENCH_STORE":      store,
				"BENCH_API_KEY":    apiKey,
				"BENCH_JWT_SECRET": jwtSecret,
			},
		})
	}
	credentials := map[string]string{"Authorization": "Bearer " + token, "X-Api-Key": apiKey}
	targets := []struct {
		name    string
		url     string
		headers map[string]string
	}{
		{"bare", bare.URL, nil},
		{"embedded", chain("file://" + filepath.Join(b.TempDir(), "usage.db")).URL, credentials},
		{"redis", chain(redis.URL(0)).URL, credentials},
	}
	// All three run side by side and are measured in alternating rounds, so
	// a drift in machine load does not favour whichever runs first.
	rps := make(map[string]float64)
	for range rounds {
		for _, target := range targets {
			rps[target.name] += measure(b, target.url, target.headers) / rounds
		}
	}
	b.ReportMetric(rps["bare"], "bare-req/s")
	for _, target := range targets[1:] {
		b.ReportMetric(rps[target.name], target.name+"-req/s")
		b.ReportMetric(rps[target.name]/rps["bare"], target.name+"-ratio")
	}
}

// measure runs the load against base for runFor and returns successful
// requests per second; any failed request fails the benchmark.
func measure(b *testing.B, base string, headers map[string]string) float64 {
	b.Helper()
	res, err := testkit.Load(context.Background(), testkit.LoadOptions{
		NewRequest: func() (*http.Request, error) {
			req, err := http.NewRequest(http.MethodGet, base+"/v2/pods", nil)
			if err != nil {
				return nil, err
			}
			for k, v := range headers {
				req.Header.Set(k, v)
			}
			return req, nil
		},
		Workers:  workers,
		Duration: runFor,
		Warmup:   500,
	})
	if err != nil {
		b.Fatal(err)
	}
	if res.Errors > 0 {
		b.Fatalf("%s: %d failed requests (first: %s)", base, res.Errors, res.FirstError)
	}
	fmt.Fprintf(os.Stderr, "loadbench %s: %s\n", base, res)
	return res.RPS
}

func testdataPath(b *testing.B, name string) string {
	return testkit.Path(b, filepath.Join("tests/e2e/loadbench/testdata", name))
}
