package metrics

import (
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func counterOpts() prometheus.CounterOpts {
	return prometheus.CounterOpts{Namespace: "gpugate", Subsystem: "test", Name: "requests_total", Help: "Test requests."}
}

func newVec() *prometheus.CounterVec {
	return prometheus.NewCounterVec(counterOpts(), []string{"outcome"})
}

func value(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// gathered returns the value of the gpugate_test_requests_total{outcome="ok"}
// series that reg exposes.
func gathered(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "gpugate_test_requests_total" {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("registry exposes no gpugate_test_requests_total: %v", families)
	return 0
}

func TestCountsCarryAcrossRegistries(t *testing.T) {
	t.Parallel()
	requests := NewCollector(newVec)
	first := prometheus.NewRegistry() // the config before a reload
	c, err := requests.Register(first)
	if err != nil {
		t.Fatal(err)
	}
	c.WithLabelValues("ok").Add(3)

	second := prometheus.NewRegistry() // the config after it
	c2, err := requests.Register(second)
	if err != nil {
		t.Fatal(err)
	}
	if c2 != c {
		t.Fatal("the second config got another collector")
	}
	c2.WithLabelValues("ok").Inc()
	if got := gathered(t, second); got != 4 {
		t.Errorf("after the reload the registry shows %v, want 4 (3 before + 1 after)", got)
	}
}

func TestRegisterTwiceOnOneRegistry(t *testing.T) {
	t.Parallel()
	requests := NewCollector(newVec)
	reg := prometheus.NewRegistry()
	for range 2 { // two sites using the module
		if _, err := requests.Register(reg); err != nil {
			t.Fatal(err)
		}
	}
	requests.Get().WithLabelValues("ok").Inc()
	if got := gathered(t, reg); got != 1 {
		t.Errorf("registry shows %v, want 1", got)
	}
}

func TestRegisterConflict(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	if err := reg.Register(newVec()); err != nil {
		t.Fatal(err)
	}
	// Same description, another collector: somebody else owns the name.
	got, err := NewCollector(newVec).Register(reg)
	var are prometheus.AlreadyRegisteredError
	if err == nil || !errors.As(err, &are) || got != nil {
		t.Fatalf("Register = %v, %v; want a nil collector and an AlreadyRegisteredError", got, err)
	}
	if !strings.Contains(err.Error(), "another collector") {
		t.Errorf("error %q does not say what happened", err)
	}
	// Same name, other labels: not an AlreadyRegisteredError.
	other := NewCollector(func() *prometheus.CounterVec {
		return prometheus.NewCounterVec(counterOpts(), []string{"mode", "outcome"})
	})
	if got, err := other.Register(reg); err == nil || errors.As(err, &are) || got != nil {
		t.Fatalf("inconsistent registration = %v, %v; want an error", got, err)
	}
}

func TestRegisterNilRegistry(t *testing.T) {
	t.Parallel()
	var typedNil *prometheus.Registry // what a caddy.Context without a registry gives
	for name, reg := range map[string]prometheus.Registerer{"nil": nil, "nil *Registry": typedNil} {
		t.Run(name, func(t *testing.T) {
			requests := NewCollector(newVec)
			got, err := requests.Register(reg)
			if err != nil || got == nil {
				t.Fatalf("Register = %v, %v", got, err)
			}
			got.WithLabelValues("ok").Inc() // still works
			if v := value(t, requests.Get().WithLabelValues("ok")); v != 1 {
				t.Errorf("counter = %v, want 1", v)
			}
		})
	}
}

// TestSeriesIsLookedUpOnce: the series a Series keeps is the vector's own,
// looked up on first use only, and it appears in the vector only then.
func TestSeriesIsLookedUpOnce(t *testing.T) {
	t.Parallel()
	vec := newVec()
	var s Series[prometheus.Counter]
	lookups := 0
	lookup := func() prometheus.Counter { lookups++; return vec.WithLabelValues("ok") }
	if n := seriesCount(vec); n != 0 {
		t.Fatalf("%d series before the first use", n)
	}
	for range 3 {
		s.Get(lookup).Inc()
	}
	if got := value(t, vec.WithLabelValues("ok")); lookups != 1 || got != 3 || seriesCount(vec) != 1 {
		t.Errorf("%d lookups, count %v, %d series; want 1 lookup, 3 and 1 series", lookups, got, seriesCount(vec))
	}
}

func seriesCount(c prometheus.Collector) int {
	ch := make(chan prometheus.Metric, 16)
	c.Collect(ch)
	close(ch)
	return len(ch)
}
