package runpod

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestProvisionFailuresAreClearAndCleanupIsSafe(t *testing.T) {
	cases := []struct {
		h    Handler
		want string
	}{
		{Handler{Mode: ModePods, APIKey: "{env.RUNPOD_TEST_UNSET_VARIABLE}"}, "runpod api_key: cannot resolve the configured placeholder"},
		{Handler{Mode: ModePods, APIKey: "{env.RUNPOD_UNIT_KEY}", BaseURL: "{env.RUNPOD_TEST_UNSET_URL}"}, "base_url resolved to an empty value"},
		{Handler{Mode: ModeServerless, APIKey: "{env.RUNPOD_UNIT_KEY}"}, "no endpoints"},
	}
	t.Setenv("RUNPOD_UNIT_KEY", simKey)
	for _, c := range cases {
		h := c.h
		err := h.Provision(caddyContext(t))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("provision %+v: %v, want %q", c.h, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), simKey) {
			t.Errorf("error reveals the key: %v", err)
		}
		if err := h.Cleanup(); err != nil {
			t.Errorf("cleanup after failed provision: %v", err)
		}
	}
}

func TestDefaultURLsAndTimeouts(t *testing.T) {
	t.Setenv("RUNPOD_UNIT_KEY", simKey)
	h := &Handler{Mode: ModeServerless, APIKey: "{env.RUNPOD_UNIT_KEY}", Endpoints: map[string]string{"a": "b"}}
	if err := h.Provision(caddyContext(t)); err != nil {
		t.Fatal(err)
	}
	defer h.Cleanup()
	if h.base.String() != DefaultBaseURL || h.serverless.String() != DefaultServerlessURL || h.timeout != DefaultServerlessTimeout {
		t.Fatalf("defaults: %v %v %v", h.base, h.serverless, h.timeout)
	}
	if got := hostPort(h.serverless); got != "api.runpod.ai:443" {
		t.Fatalf("hostPort = %s", got)
	}
}

func TestMetricsSurviveSecondRegistration(t *testing.T) {
	first, second := prometheus.NewRegistry(), prometheus.NewRegistry() // before and after a reload
	m1, err := loadMetrics(first)
	if err != nil {
		t.Fatal(err)
	}
	before := counterValue(t, first, ModeAPI, outcomeTimeout)
	m1.observe(ModeAPI, outcomeTimeout)
	m2, err := loadMetrics(second)
	if err != nil {
		t.Fatalf("second config: %v", err)
	}
	m2.observe(ModeAPI, outcomeTimeout)
	if got := counterValue(t, second, ModeAPI, outcomeTimeout) - before; got != 2 {
		t.Fatalf("the second config's registry counts %v new requests, want 2 (the count carries on)", got)
	}
}

// counterValue is gpugate_runpod_requests_total{mode,outcome} in reg.
func counterValue(t *testing.T, reg *prometheus.Registry, mode, outcome string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "gpugate_runpod_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["mode"] == mode && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
