package runpod

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/simulators/runpodsim"
	"github.com/gpugate/gpugate/tests/testkit"
)

// benchTarget is one server under load.
type benchTarget struct {
	name   string
	url    string
	client *http.Client
	header http.Header
}

// startBenchTargets runs one simulator holding a few pods, gpugate with
// runpod.Caddyfile (JWT + pods translation) and a bare Caddy reverse_proxy,
// both in front of it.
func startBenchTargets(b *testing.B) (gpugate, bare benchTarget) {
	b.Helper()
	sim := runpodsim.Start(b, runpodsim.Options{APIKey: runpodKey, Endpoints: []string{endpointID}})
	for i := range 5 {
		req, _ := http.NewRequest("POST", sim.ManagementURL+"/pods", strings.NewReader(
			`{"name":"bench-`+string(rune('a'+i))+`","image":"runpod/pytorch:2.4.0","gpu":{"id":"NVIDIA GeForce RTX 4090"},"env":{"GPUGATE_OWNER":"bench-user"}}`))
		req.Header.Set("Authorization", "Bearer "+runpodKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 201 {
			b.Fatalf("seed pod: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	u, _ := url.Parse(sim.URL)
	gw := testkit.StartGateway(b, "caddyfiles/runpod.Caddyfile", testkit.GatewayOptions{Env: map[string]string{
		"GPUGATE_JWT_SECRET": jwtSecret, "GPUGATE_JWT_ISSUER": jwtIssuer, "GPUGATE_JWT_AUDIENCE": jwtAudience,
		"RUNPOD_API_KEY": runpodKey, "RUNPOD_BASE_URL": sim.ManagementURL, "RUNPOD_SERVERLESS_URL": sim.ServerlessURL,
		"RUNPOD_ENDPOINT_ID": endpointID,
	}})
	bc := testkit.StartBareCaddy(b, testkit.Path(b, "tests/e2e/runpod/testdata/bare.Caddyfile"), testkit.GatewayOptions{
		Env: map[string]string{"SIM_HOSTPORT": u.Host, "RUNPOD_API_KEY": runpodKey}})
	auth := http.Header{"Authorization": {"Bearer " + token(b, "bench-user")}}
	return benchTarget{"gpugate", gw.URL, gw.Client(), auth}, benchTarget{"bare", bc.URL, bc.Client(), http.Header{}}
}

// get sends GET /pods to target and fails unless it is a 200.
func (bt benchTarget) get(b *testing.B) {
	req, _ := http.NewRequest("GET", bt.url+"/pods", nil)
	req.Header = bt.header.Clone()
	resp, err := bt.client.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Errorf("%s GET /pods = %d", bt.name, resp.StatusCode)
	}
	var buf [4096]byte
	for {
		if _, err := resp.Body.Read(buf[:]); err != nil {
			break
		}
	}
}

// BenchmarkPodsList measures GET /pods through gpugate and through a bare
// reverse_proxy to the same simulator (parallel clients, HTTPS, HTTP/2).
// Only with GPUGATE_LOAD_BENCH=1 (./xcaddy.sh bench sets it): it starts
// processes and builds the bare Caddy when missing.
func BenchmarkPodsList(b *testing.B) {
	requireLoadBench(b)
	gpugate, bare := startBenchTargets(b)
	for _, bt := range []benchTarget{gpugate, bare} {
		b.Run(bt.name, func(b *testing.B) {
			bt.get(b)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					bt.get(b)
				}
			})
		})
	}
}

// BenchmarkPodsListLoad runs the load generator against both servers in
// turn (16 workers, 3 s each after a warmup) and reports req/s, p99 and the
// throughput ratio gpugate/bare.
func BenchmarkPodsListLoad(b *testing.B) {
	requireLoadBench(b)
	gpugate, bare := startBenchTargets(b)
	results := map[string]testkit.LoadResult{}
	for range b.N {
		for _, bt := range []benchTarget{bare, gpugate} {
			res, err := testkit.Load(context.Background(), testkit.LoadOptions{
				Client:  bt.client,
				Workers: 16, Duration: 3 * time.Second, Warmup: 200,
				NewRequest: func() (*http.Request, error) {
					req, err := http.NewRequest("GET", bt.url+"/pods", nil)
					if err == nil {
						req.Header = bt.header.Clone()
					}
					return req, err
				},
			})
			if err != nil {
				b.Fatal(err)
			}
			if res.Errors > 0 {
				b.Fatalf("%s: %d errors, first: %s", bt.name, res.Errors, res.FirstError)
			}
			b.Logf("%-8s %s", bt.name, res)
			results[bt.name] = res
		}
	}
	g, r := results["gpugate"], results["bare"]
	b.ReportMetric(g.RPS, "gpugate-req/s")
	b.ReportMetric(r.RPS, "bare-req/s")
	b.ReportMetric(g.RPS/r.RPS, "ratio")
	b.ReportMetric(float64(g.P99.Microseconds()), "gpugate-p99-µs")
	b.ReportMetric(float64(r.P99.Microseconds()), "bare-p99-µs")
}

// requireLoadBench skips unless GPUGATE_LOAD_BENCH=1.
func requireLoadBench(b *testing.B) {
	if os.Getenv("GPUGATE_LOAD_BENCH") != "1" {
		b.Skip("set GPUGATE_LOAD_BENCH=1 (./xcaddy.sh bench does) to run the load benchmarks")
	}
}
