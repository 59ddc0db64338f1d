package usageplan

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the usage-plan collectors. Labels are the plan and the
// outcome only: never a key or key id (unbounded and it leaks keys).
type metrics struct {
	decisions     *prometheus.CounterVec
	storeDuration *prometheus.HistogramVec
}

// Outcome labels beyond store.Outcome's.
const (
	outcomeForbidden    = "forbidden"
	outcomeStoreAllowed = "store_error_allowed"
	outcomeStoreDenied  = "store_error_denied"
	noPlan              = "none"
)

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gpugate", Subsystem: "usage_plan", Name: "decisions_total",
			Help: "Usage-plan admission decisions by plan and outcome.",
		}, []string{"plan", "outcome"}),
		storeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "gpugate", Subsystem: "usage_plan", Name: "store_duration_seconds",
			Help:    "Time of one usage-plan store decision, by store kind.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25},
		}, []string{"store"}),
	}
	m.decisions = register(reg, m.decisions)
	m.storeDuration = register(reg, m.storeDuration)
	return m
}

// register registers c, or returns the collector already registered under
// the same description (a reload registers again).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}
