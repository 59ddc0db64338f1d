package loadbench

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	_ "github.com/gpugate/gpugate" // every gpugate module, as in the binary
	"github.com/gpugate/gpugate/tests/testkit"
)

// BenchmarkServeInProcess serves the load benchmark's request through the
// same two Caddyfiles inside the test process: the bare reverse_proxy
// (Caddy's own Caddyfile adapter, as the bare binary reads it) and the
// embedded chain (the gateway's adapter). It calls Caddy's server handler
// directly, with no client connection, from 8 goroutines per core. The
// allocations per request (B/op, allocs/op) are exact; ns/op and
// cpu-ns/op (this process's CPU time per request, the upstream's share
// included) still move with the machine's load by several percent. A CPU
// profile of it (-cpuprofile) shows the chain's own code with many more
// samples than a load benchmark round gives. The load benchmark stays the
// figure of record.
//
//	go test -run '^$' -bench BenchmarkServeInProcess -benchmem ./tests/e2e/loadbench/
func BenchmarkServeInProcess(b *testing.B) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true,"pods":[]}`))
	}))
	b.Cleanup(upstream.Close)
	token := testkit.SignHS256(b, jwtSecret, testkit.Claims{
		"sub": "bench-user", "iss": "https://auth.bench.local/", "aud": "gpugate-bench",
		"iat": time.Now().Unix(), "exp": time.Now().Add(2 * time.Hour).Unix(),
	})
	env := map[string]string{
		"GPUGATE_ADDR":     "http://127.0.0.1:0",
		"GPUGATE_ADMIN":    "off",
		"BENCH_UPSTREAM":   strings.TrimPrefix(upstream.URL, "http://"),
		"BENCH_API_KEY":    apiKey,
		"BENCH_JWT_SECRET": jwtSecret,
	}
	for _, c := range []struct{ name, file, adapter string }{
		{"bare", "bare.Caddyfile", "caddyfile"},
		{"embedded", "chain.Caddyfile", "gpugate"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for k, v := range env {
				b.Setenv(k, v)
			}
			dir := b.TempDir() // Caddy's config autosave and local CA, and the store
			b.Setenv("XDG_CONFIG_HOME", dir)
			b.Setenv("XDG_DATA_HOME", dir)
			b.Setenv("BENCH_STORE", "file://"+filepath.Join(dir, "usage.db"))
			srv := loadInProcess(b, testdataPath(b, c.file), c.adapter)
			b.ReportAllocs()
			b.SetParallelism(8) // enough requests in flight to keep both cores busy
			cpu0 := cpuOf(b, os.Getpid())
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/v2/pods", nil)
					r.Header.Set("Authorization", "Bearer "+token)
					r.Header.Set("X-Api-Key", apiKey)
					w := httptest.NewRecorder()
					srv.ServeHTTP(w, r)
					if w.Code != http.StatusOK {
						b.Errorf("%s: status %d: %s", c.name, w.Code, w.Body)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64((cpuOf(b, os.Getpid())-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// loadInProcess adapts file with the named adapter, runs it as this
// process's Caddy config (stopped when b ends) and returns its one HTTP
// server.
func loadInProcess(b *testing.B, file, adapter string) *caddyhttp.Server {
	b.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	cfg, warnings, err := caddyconfig.GetAdapter(adapter).Adapt(src, map[string]any{"filename": file})
	if err != nil {
		b.Fatal(err)
	}
	for _, w := range warnings {
		b.Log(w)
	}
	// Caddy's own info lines would flood the benchmark's output.
	var parsed map[string]any
	if err := json.Unmarshal(cfg, &parsed); err != nil {
		b.Fatal(err)
	}
	def := child(child(child(parsed, "logging"), "logs"), "default")
	def["level"] = "ERROR"
	if cfg, err = json.Marshal(parsed); err != nil {
		b.Fatal(err)
	}
	if err := caddy.Load(cfg, true); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = caddy.Stop() })
	app, err := caddy.ActiveContext().App("http")
	if err != nil {
		b.Fatal(err)
	}
	servers := app.(*caddyhttp.App).Servers
	if len(servers) != 1 {
		b.Fatalf("%s: %d HTTP servers, want 1", file, len(servers))
	}
	for _, srv := range servers {
		return srv
	}
	return nil
}

// child returns m[key] as an object, made (and put there) when absent.
func child(m map[string]any, key string) map[string]any {
	c, _ := m[key].(map[string]any)
	if c == nil {
		c = map[string]any{}
		m[key] = c
	}
	return c
}
