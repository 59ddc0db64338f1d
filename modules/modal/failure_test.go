package modal

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/gpugate/gpugate/modules/simulators/modalsim"
)

func TestEndlessRedirectsAre502(t *testing.T) {
	var hits atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/loop?__modal_function_call_id=fc-1", http.StatusSeeOther)
	}))
	t.Cleanup(up.Close)
	h := provision(t, &Handler{URL: up.URL})
	wantStatus(t, do(h, request("GET", "/loop", "")), http.StatusBadGateway, `{"message":"Bad Gateway"}`)
	if n := hits.Load(); n != maxRedirectHops+1 {
		t.Errorf("upstream hit %d times, want %d", n, maxRedirectHops+1)
	}
}

func TestClientGoneCancelsTheUpstreamCall(t *testing.T) {
	sim := modalsim.New(modalsim.Options{}).Start(t)
	h := provision(t, &Handler{URL: sim.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	before := counterValue(h.metrics.requests.WithLabelValues(outcomeClientGone))
	start := time.Now()
	do(h, request("GET", "/api/v1/slow?duration=3s", "").WithContext(ctx))
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("handler returned after %v, want soon after the client left", took)
	}
	if got := counterValue(h.metrics.requests.WithLabelValues(outcomeClientGone)) - before; got != 1 {
		t.Errorf("client_canceled = %v, want 1", got)
	}
}

func TestMetricsSurviveASecondHandler(t *testing.T) {
	first, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	before := counterValue(first.requests.WithLabelValues(outcomeProxied))
	second, err := newMetrics(prometheus.NewRegistry()) // the config after a reload
	if err != nil {
		t.Fatal(err)
	}
	first.requests.WithLabelValues(outcomeProxied).Inc()
	second.requests.WithLabelValues(outcomeProxied).Inc()
	if got := counterValue(second.requests.WithLabelValues(outcomeProxied)) - before; got != 2 {
		t.Errorf("shared counter = %v, want 2", got)
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
