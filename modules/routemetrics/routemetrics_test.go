package routemetrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
	"github.com/gpugate/gpugate/modules/internal/upstream"
)

type handlerFunc func(http.ResponseWriter, *http.Request) error

func (f handlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) error { return f(w, r) }

// serve runs one request through a route_metrics handler for route whose
// next handler is next.
func serve(t *testing.T, h *Handler, next handlerFunc) {
	t.Helper()
	r := httptest.NewRequest("GET", "/api/x", nil)
	repl := caddy.NewReplacer()
	r = r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl))
	_ = h.ServeHTTP(httptest.NewRecorder(), r, next)
}

func TestCountsByRoutePlanAndStatusClass(t *testing.T) {
	h := &Handler{Route: "unit_api"}
	if err := h.Provision(adapttest.Context(t)); err != nil {
		t.Fatal(err)
	}
	planned := func(status int, plan string) handlerFunc {
		return func(w http.ResponseWriter, r *http.Request) error {
			repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
			if plan != "" {
				repl.Set("http.usage_plan.plan", plan)
			}
			repl.Set(upstream.LatencyPlaceholder, 30*time.Millisecond)
			w.WriteHeader(status)
			return nil
		}
	}
	serve(t, h, planned(200, "basic"))
	serve(t, h, planned(429, "basic"))
	serve(t, h, planned(403, ""))
	serve(t, h, func(http.ResponseWriter, *http.Request) error {
		return caddyhttp.Error(http.StatusBadGateway, nil)
	})
	for _, c := range []struct {
		plan, status string
		want         float64
	}{{"basic", "2xx", 1}, {"basic", "4xx", 1}, {"none", "4xx", 1}, {"none", "5xx", 1}} {
		if got := testutil.ToFloat64(h.series.requests.WithLabelValues("unit_api", c.plan, c.status)); got != c.want {
			t.Errorf("gpugate_route_requests_total{route=unit_api,plan=%s,status=%s} = %v, want %v", c.plan, c.status, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(h.series.integration, "gpugate_route_integration_duration_seconds"); n < 2 {
		t.Errorf("integration latency series = %d, want the basic and none plans", n)
	}
}
