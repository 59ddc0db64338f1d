// Package loadbench measures the gateway against a bare Caddy
// reverse_proxy of the same Caddy version, both in front of the same
// upstream, in one run: throughput ratios and CPU per request (process CPU
// time / requests served, steadier than throughput on a shared machine),
// and for the Redis store the redis-server CPU per decision. All targets
// are sent the same requests (a JWT and an API key in the headers): the
// bare proxy, the embedded-store chain, the Redis chain with one key (its
// concurrent decisions share script calls) and the Redis chain with 64
// keys taken in turn ("redis-keys": many clients, no two decisions
// sharing a call). Targets (issue 10): embedded chain CPU per request
// within 5% of bare Caddy's, Redis chain >= 0.90x bare throughput,
// redis-server <= 15 µs per decision.
//
// It runs only under `./xcaddy.sh bench` (GPUGATE_LOAD_BENCH=1): it loads
// both cores for tens of seconds. With GPUGATE_LOAD_PROFILE=<dir>, the
// last round also writes a CPU profile of each server (from Caddy's admin
// endpoint) to <dir>/<target>.pprof, for `go tool pprof`.
//
// BenchmarkServeInProcess (inprocess_test.go) serves the same request
// through the same Caddyfiles inside the test process, with allocations
// per request and a profile of the chain's own code without the noise of
// separate processes (`go test -bench BenchmarkServeInProcess -cpuprofile`).
package loadbench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"
)

const (
	jwtSecret = "loadbench-secret-0123456789abcdef0123456789"
	apiKey    = "gpg_loadbench_0123456789abcdef"
	workers   = 64
	manyKeys  = 64              // the many-keys Redis target's keys, one per connection
	runFor    = 4 * time.Second // per target and round
	rounds    = 5
)

// target is one server under load.
type target struct {
	name    string
	gw      *testkit.Gateway
	headers map[string]string
	apiKeys []string       // X-Api-Key values taken in turn (else the one in headers)
	redis   *testkit.Redis // the store's server, for its CPU

	requests int
	elapsed  time.Duration
	cpu      time.Duration // the gateway process
	redisCPU time.Duration // redis-server process
	redisCmd time.Duration // redis-server command time (INFO commandstats)
	// perRound are each round's throughput and CPU per request, for the
	// spread of the ratios across rounds.
	perRound []roundResult
}

// roundResult is one target's figures in one round.
type roundResult struct{ rps, cpuPerRequest float64 }

// BenchmarkChainVsBareProxy reports, per target, req/s, the ratio to the
// bare proxy and CPU µs per request, and for Redis the redis-server CPU µs
// per decision (process time and command time). The metrics are per run,
// not per b.N iteration (the B/op and allocs/op figures are the load
// generator's own); a run lasts about 4 targets x rounds x runFor. Each
// ratio is also reported as its lowest and highest round (-min, -max).
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
	// The many-keys chain has manyKeys keys on the bench plan: one client
	// per connection, so no two concurrent decisions share a script call.
	keys := make([]string, manyKeys)
	chainFile := testdataPath(b, "chain.Caddyfile")
	src, err := os.ReadFile(chainFile)
	if err != nil {
		b.Fatal(err)
	}
	var blocks strings.Builder
	for i := range keys {
		keys[i] = fmt.Sprintf("%s_%02d", apiKey, i)
		fmt.Fprintf(&blocks, "\t\tkey bench%02d {\n\t\t\tvalue {env.BENCH_API_KEY_%02d}\n\t\t\tplans bench\n\t\t}\n", i, i)
	}
	const oneKey = "\t\tkey bench {\n\t\t\tvalue {env.BENCH_API_KEY}\n\t\t\tplans bench\n\t\t}\n"
	if !strings.Contains(string(src), oneKey) {
		b.Fatalf("%s: no key block to replace", chainFile)
	}
	manyFile := filepath.Join(b.TempDir(), "chain-many-keys.Caddyfile")
	if err := os.WriteFile(manyFile, []byte(strings.Replace(string(src), oneKey, blocks.String(), 1)), 0o600); err != nil {
		b.Fatal(err)
	}
	chainOf := func(file, store string) *testkit.Gateway {
		env := map[string]string{
			"BENCH_UPSTREAM":   upstreamAddr,
			"BENCH_STORE":      store,
			"BENCH_API_KEY":    apiKey,
			"BENCH_JWT_SECRET": jwtSecret,
		}
		for i, k := range keys {
			env[fmt.Sprintf("BENCH_API_KEY_%02d", i)] = k
		}
		return testkit.StartGateway(b, file, testkit.GatewayOptions{PlainHTTP: true, Env: env})
	}
	chain := func(store string) *testkit.Gateway { return chainOf(chainFile, store) }
	credentials := map[string]string{"Authorization": "Bearer " + token, "X-Api-Key": apiKey}
	// Every target gets the same client requests, credentials included: the
	// bare proxy parses and forwards them, the chain checks and strips them.
	targets := []*target{
		{name: "bare", gw: bare, headers: credentials},
		{name: "embedded", gw: chain("file://" + filepath.Join(b.TempDir(), "usage.db")), headers: credentials},
		{name: "redis", gw: chain(redis.URL(0)), headers: credentials, redis: redis},
		{name: "redis-keys", gw: chainOf(manyFile, redis.URL(1)), headers: credentials, apiKeys: keys, redis: redis},
	}
	// All four run side by side and are measured in alternating rounds, so
	// a drift in machine load does not favour whichever runs first.
	for round := range rounds {
		for _, t := range targets {
			measure(b, t, round == rounds-1)
		}
	}
	base := targets[0]
	b.ReportMetric(base.rps(), "bare-req/s")
	b.ReportMetric(base.cpuPerRequest(), "bare-cpu-us/req")
	for _, t := range targets[1:] {
		b.ReportMetric(t.rps(), t.name+"-req/s")
		b.ReportMetric(t.rps()/base.rps(), t.name+"-ratio")
		b.ReportMetric(t.cpuPerRequest(), t.name+"-cpu-us/req")
		b.ReportMetric(t.cpuPerRequest()/base.cpuPerRequest(), t.name+"-cpu-ratio")
		// The same ratios round by round (each round runs every target
		// once, back to back): their range shows how far one run's
		// figure can be trusted on this machine.
		lo, hi := roundRatios(base, t, func(r roundResult) float64 { return r.rps })
		b.ReportMetric(lo, t.name+"-ratio-min")
		b.ReportMetric(hi, t.name+"-ratio-max")
		lo, hi = roundRatios(base, t, func(r roundResult) float64 { return r.cpuPerRequest })
		b.ReportMetric(lo, t.name+"-cpu-ratio-min")
		b.ReportMetric(hi, t.name+"-cpu-ratio-max")
	}
	for _, r := range targets[2:] {
		b.ReportMetric(perRequest(r.redisCPU, r.requests), r.name+"-server-cpu-us/decision")
		b.ReportMetric(perRequest(r.redisCmd, r.requests), r.name+"-script-us/decision")
		b.ReportMetric(r.cpuPerRequest()+perRequest(r.redisCPU, r.requests), r.name+"-total-cpu-us/req")
	}
}

// roundRatios is the lowest and highest ratio of t's figure to base's in
// one round.
func roundRatios(base, t *target, figure func(roundResult) float64) (lo, hi float64) {
	for i, r := range t.perRound {
		ratio := figure(r) / figure(base.perRound[i])
		if i == 0 || ratio < lo {
			lo = ratio
		}
		if i == 0 || ratio > hi {
			hi = ratio
		}
	}
	return lo, hi
}

func (t *target) rps() float64 { return float64(t.requests) / t.elapsed.Seconds() }

func (t *target) cpuPerRequest() float64 { return perRequest(t.cpu, t.requests) }

func perRequest(d time.Duration, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(n)
}

// measure runs the load against t for runFor and adds what it served and
// the CPU it (and its Redis) used; any failed request fails the benchmark.
// With profile set and GPUGATE_LOAD_PROFILE naming a directory, it also
// writes the server's CPU profile of the run there.
func measure(b *testing.B, t *target, profile bool) {
	b.Helper()
	var profiled chan error
	if dir := os.Getenv("GPUGATE_LOAD_PROFILE"); profile && dir != "" {
		profiled = make(chan error, 1)
		go func() { profiled <- writeProfile(t.gw, filepath.Join(dir, t.name+".pprof")) }()
	}
	cpu0, cmd0, redis0 := cpuOf(b, t.gw.Pid()), time.Duration(0), time.Duration(0)
	if t.redis != nil {
		cmd0, redis0 = commandTime(b, t.redis), cpuOf(b, t.redis.Pid())
	}
	var next atomic.Uint64
	res, err := testkit.Load(context.Background(), testkit.LoadOptions{
		NewRequest: func() (*http.Request, error) {
			req, err := http.NewRequest(http.MethodGet, t.gw.URL+"/v2/pods", nil)
			if err != nil {
				return nil, err
			}
			for k, v := range t.headers {
				req.Header.Set(k, v)
			}
			if len(t.apiKeys) > 0 {
				req.Header.Set("X-Api-Key", t.apiKeys[next.Add(1)%uint64(len(t.apiKeys))])
			}
			return req, nil
		},
		Workers:  workers,
		Duration: runFor,
	})
	if err != nil {
		b.Fatal(err)
	}
	if res.Errors > 0 {
		b.Fatalf("%s: %d failed requests (first: %s)", t.name, res.Errors, res.FirstError)
	}
	if profiled != nil {
		if err := <-profiled; err != nil {
			b.Fatal(err)
		}
	}
	t.requests += res.Requests
	t.elapsed += res.Elapsed
	cpu := cpuOf(b, t.gw.Pid()) - cpu0
	t.cpu += cpu
	t.perRound = append(t.perRound, roundResult{rps: float64(res.Requests) / res.Elapsed.Seconds(), cpuPerRequest: perRequest(cpu, res.Requests)})
	line := fmt.Sprintf("loadbench %s: %s, %.1f µs CPU/req", t.name, res, perRequest(cpu, res.Requests))
	if t.redis != nil {
		rc, cmd := cpuOf(b, t.redis.Pid())-redis0, commandTime(b, t.redis)-cmd0
		t.redisCPU += rc
		t.redisCmd += cmd
		line += fmt.Sprintf(", redis-server %.1f µs CPU (%.1f µs in the script) per decision",
			perRequest(rc, res.Requests), perRequest(cmd, res.Requests))
	}
	fmt.Fprintln(os.Stderr, line)
}

// writeProfile saves a CPU profile of most of one run (runFor less a
// second) from the server's admin endpoint to path.
func writeProfile(gw *testkit.Gateway, path string) error {
	seconds := int((runFor - time.Second) / time.Second)
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", gw.AdminAddr, seconds))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("CPU profile of %s: %s", gw.AdminAddr, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func cpuOf(b *testing.B, pid int) time.Duration {
	b.Helper()
	d, err := testkit.ProcessCPU(pid)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// commandTime is the time redis-server spent executing the decision
// scripts so far.
func commandTime(b *testing.B, r *testkit.Redis) time.Duration {
	b.Helper()
	_, spent, err := r.ScriptStats()
	if err != nil {
		b.Fatal(err)
	}
	return spent
}

func testdataPath(b *testing.B, name string) string {
	return testkit.Path(b, filepath.Join("tests/e2e/loadbench/testdata", name))
}
