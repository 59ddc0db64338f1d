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
	reg := prometheus.NewRegistry()
	m1, err := loadMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := loadMetrics(reg)
	if err != nil {
		t.Fatalf("second handler: %v", err)
	}
	m1.observe(ModePods, outcomeOK)
	m2.observe(ModePods, outcomeOK)
	families, err := reg.Gather()
	if err != nil || len(families) != 1 || families[0].GetName() != "gpugate_runpod_requests_total" {
		t.Fatalf("gathered %v, %v", families, err)
	}
	if got := families[0].GetMetric()[0].GetCounter().GetValue(); got != 2 {
		t.Fatalf("shared counter = %v, want 2", got)
	}
}
