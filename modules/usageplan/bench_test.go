package usageplan

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gpugate/gpugate/modules/usageplan/store"
	"github.com/gpugate/gpugate/tests/testkit"
)

// BenchmarkServeHTTPAdmitted is the handler's whole admitted path with the
// memory store: key hash and lookup, plan choice, decision (throttle,
// quota, concurrency), placeholders and RateLimit headers, lease release.
func BenchmarkServeHTTPAdmitted(b *testing.B) { benchServeHTTP(b, "") }

// BenchmarkServeHTTPAdmittedRedis is the same path against a local
// redis-server: the decision script (its lease released with a later call).
func BenchmarkServeHTTPAdmittedRedis(b *testing.B) {
	r := testkit.StartRedis(b, testkit.RedisOptions{})
	benchServeHTTP(b, r.URL(0))
}

func benchServeHTTP(b *testing.B, storeURL string) {
	clock := testkit.NewClock(time.Now())
	app := newApp(b, &App{Store: storeURL, StoreTimeout: caddy.Duration(time.Second),
		Plans: map[string]*Plan{"basic": {Throttle: &store.Throttle{Rate: 1e9, Burst: 1e9},
			Quota: &QuotaConfig{Limit: 1 << 50, Period: store.Day}, Concurrency: 1 << 30}}}, clock)
	kv, err := app.CreateKey(context.Background(), NewKey{Name: "bench", Plans: []string{"basic"}})
	if err != nil {
		b.Fatal(err)
	}
	h := newHandler(b, app, &Handler{Plans: []string{"basic"}})
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) error { return nil })
	req, _ := caddyRequest(httptest.NewRequest(http.MethodGet, "/v1/jobs", nil))
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
	if w.Header().Get("RateLimit") == "" {
		b.Fatal("not admitted")
	}
}
