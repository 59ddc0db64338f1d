package usageplan

import (
	"context"
	"net/http"
	"testing"

	"github.com/gpugate/gpugate/tests/testkit"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// gatheredValue is the value of the series of name with the given labels
// in what reg gathers (-1 when absent).
func gatheredValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue series
				}
			}
			return metricValue(m)
		}
	}
	return -1
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	}
	return -1
}

// TestMetricsSurviveAReload: Caddy gives each config a new Prometheus
// registry. The config after a reload registers the same collectors, so
// its registry reports the counts of the config before it, plus its own.
func TestMetricsSurviveAReload(t *testing.T) {
	url := "memory://metrics-reload"
	var regs []*prometheus.Registry
	for i := range 2 { // the config, then the config after a reload
		ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
		defer cancel()
		app := &App{Store: url, Plans: map[string]*Plan{"reload": {Concurrency: 5}}, now: testkit.NewClock(noon).Now}
		if err := app.Provision(ctx); err != nil {
			t.Fatal(err)
		}
		if err := app.Start(); err != nil {
			t.Fatal(err)
		}
		defer app.Cleanup()
		if i == 0 {
			if _, err := app.CreateKey(context.Background(), NewKey{Name: "k", Plans: []string{"reload"}, Value: "reload-key-0123456789abcdef"}); err != nil {
				t.Fatal(err)
			}
		}
		h := newHandler(t, app, &Handler{Plans: []string{"reload"}})
		for range 3 {
			if res := do(t, h, get("/", "reload-key-0123456789abcdef"), nil); res.status != http.StatusOK {
				t.Fatalf("config %d: %d", i, res.status)
			}
		}
		regs = append(regs, ctx.GetMetricsRegistry())
	}
	if regs[0] == regs[1] {
		t.Fatal("the two configs share a registry; the test needs two")
	}
	admitted := map[string]string{"plan": "reload", "outcome": "admitted"}
	if got := gatheredValue(t, regs[1], "gpugate_usage_plan_decisions_total", admitted); got != 6 {
		t.Fatalf("admitted in the new config's registry = %v, want 6 (3 before the reload + 3 after)", got)
	}
	if got := gatheredValue(t, regs[1], "gpugate_usage_plan_concurrency_leases_held", map[string]string{"plan": "reload"}); got != 0 {
		t.Fatalf("leases held after every request ended: %v", got)
	}
}
