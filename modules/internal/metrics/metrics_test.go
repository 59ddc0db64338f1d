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

func TestRegisterNew(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := newVec()
	got, err := Register(reg, c)
	if err != nil {
		t.Fatal(err)
	}
	if got != c {
		t.Fatal("Register returned another collector than the new one")
	}
	got.WithLabelValues("ok").Inc()
	families, err := reg.Gather()
	if err != nil || len(families) != 1 || families[0].GetName() != "gpugate_test_requests_total" {
		t.Fatalf("gathered %v, %v", families, err)
	}
}

func TestRegisterAlreadyRegisteredSameType(t *testing.T) {
	reg := prometheus.NewRegistry()
	first, err := Register(reg, newVec())
	if err != nil {
		t.Fatal(err)
	}
	second, err := Register(reg, newVec()) // another site, or the config after a reload
	if err != nil {
		t.Fatal(err)
	}
	if second != first {
		t.Fatal("second registration did not reuse the first collector")
	}
	first.WithLabelValues("ok").Inc()
	second.WithLabelValues("ok").Inc()
	if got := value(t, first.WithLabelValues("ok")); got != 2 {
		t.Errorf("shared counter = %v, want 2", got)
	}
}

func TestRegisterAlreadyRegisteredInterfaceType(t *testing.T) {
	reg := prometheus.NewRegistry()
	first, err := Register(reg, prometheus.NewCounter(counterOpts()))
	if err != nil {
		t.Fatal(err)
	}
	second, err := Register(reg, prometheus.NewCounter(counterOpts()))
	if err != nil {
		t.Fatal(err)
	}
	first.Inc()
	second.Inc()
	if got := value(t, first); got != 2 {
		t.Errorf("shared counter = %v, want 2", got)
	}
}

func TestRegisterAlreadyRegisteredOtherType(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := Register(reg, prometheus.NewCounter(counterOpts())); err != nil {
		t.Fatal(err)
	}
	// Same description, so the registry reports AlreadyRegisteredError, but
	// the existing collector is a Counter, not a *CounterVec.
	got, err := Register(reg, prometheus.NewCounterVec(counterOpts(), nil))
	if err == nil {
		t.Fatal("want an error for an existing collector of another type")
	}
	if got != nil {
		t.Errorf("got collector %v with the error, want nil", got)
	}
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Errorf("error %v does not wrap AlreadyRegisteredError", err)
	}
	if !strings.Contains(err.Error(), "*prometheus.CounterVec") {
		t.Errorf("error %q does not name the wanted type", err)
	}
}

func TestRegisterOtherError(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := Register(reg, newVec()); err != nil {
		t.Fatal(err)
	}
	// Same name, other labels: not AlreadyRegisteredError.
	other := prometheus.NewCounterVec(counterOpts(), []string{"mode", "outcome"})
	got, err := Register(reg, other)
	if err == nil {
		t.Fatal("want an error for an inconsistent registration")
	}
	if got != nil {
		t.Errorf("got collector %v with the error, want nil", got)
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		t.Errorf("error %v is AlreadyRegisteredError", err)
	}
}

func TestRegisterNilRegistry(t *testing.T) {
	var typedNil *prometheus.Registry // what a caddy.Context without a registry gives
	for name, reg := range map[string]prometheus.Registerer{"nil": nil, "nil *Registry": typedNil} {
		t.Run(name, func(t *testing.T) {
			c := newVec()
			got, err := Register(reg, c)
			if err != nil {
				t.Fatal(err)
			}
			if got != c {
				t.Fatal("Register did not return the unregistered collector")
			}
			got.WithLabelValues("ok").Inc() // still works
		})
	}
}
