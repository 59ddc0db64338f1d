package usageplan

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gpugate/gpugate/modules/internal/metering"
	"github.com/gpugate/gpugate/modules/usageplan/store"
	"github.com/gpugate/gpugate/tests/testkit"
)

// BenchmarkServeHTTPMetered is the metering path of one request with the
// memory store: the decision with a budget check, the reading the upstream
// records, its price, the once-charge after the response, the metric and
// the placeholder. Each request reads a new job (a charge per request).
func BenchmarkServeHTTPMetered(b *testing.B) { benchMetered(b, "") }

// BenchmarkServeHTTPMeteredRedis is the same against a local
// redis-server: the decision script (budget folded in) and the meter
// script after the response, two round trips.
func BenchmarkServeHTTPMeteredRedis(b *testing.B) {
	r := testkit.StartRedis(b, testkit.RedisOptions{})
	benchMetered(b, r.URL(0))
}

func benchMetered(b *testing.B, storeURL string) {
	clock := testkit.NewClock(time.Now())
	app := newApp(b, &App{Store: storeURL, StoreTimeout: caddy.Duration(time.Second), Plans: map[string]*Plan{"gpu": {
		Meters:  map[string]*MeterConfig{"gpu_seconds": {Sources: []string{metering.RunPodExecution}}},
		Budgets: []BudgetConfig{{Meter: "gpu_seconds", Limit: 4e9, Period: store.Day}},
	}}}, clock)
	kv, err := app.CreateKey(context.Background(), NewKey{Name: "bench", Plans: []string{"gpu"}})
	if err != nil {
		b.Fatal(err)
	}
	h := newHandler(b, app, &Handler{Plans: []string{"gpu"}, Cost: new(int64)})
	job := 0
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		job++
		metering.Record(r.Context(), metering.Reading{Source: metering.RunPodExecution, Seconds: 1.5, Once: "runpod:ep:" + strconv.Itoa(job)})
		w.WriteHeader(http.StatusOK)
		return nil
	})
	req, repl := caddyRequest(httptest.NewRequest(http.MethodGet, "/jobs/video/status/x", nil))
	w := httptest.NewRecorder()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req.Header.Set("X-Api-Key", kv.Value)
		clear(w.Header())
		if err := h.ServeHTTP(w, req, next); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if got, _ := repl.GetString(MeteredPlaceholderPrefix + "gpu_seconds"); got != "1.5" {
		b.Fatalf("not metered: %q", got)
	}
}
