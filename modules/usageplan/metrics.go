package usageplan

import (
	"github.com/prometheus/client_golang/prometheus"

	gometrics "github.com/gpugate/gpugate/modules/internal/metrics"
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

// The process-wide collectors (see modules/internal/metrics).
var (
	decisionsTotal = gometrics.NewCollector(func() *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gpugate", Subsystem: "usage_plan", Name: "decisions_total",
			Help: "Usage-plan admission decisions by plan and outcome.",
		}, []string{"plan", "outcome"})
	})
	storeDurationSeconds = gometrics.NewCollector(func() *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "gpugate", Subsystem: "usage_plan", Name: "store_duration_seconds",
			Help:    "Time of one usage-plan store decision, by store kind.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25},
		}, []string{"store"})
	})
)

// newMetrics registers the collectors on a config's registry; a nil
// registry gives working, unregistered collectors.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := new(metrics)
	var err error
	if m.decisions, err = decisionsTotal.Register(reg); err != nil {
		return nil, err
	}
	if m.storeDuration, err = storeDurationSeconds.Register(reg); err != nil {
		return nil, err
	}
	if _, err = quotaUsedRatio.Register(reg); err != nil { // observed in observe.go
		return nil, err
	}
	return m, nil
}
