package usageplan

import (
	"github.com/prometheus/client_golang/prometheus"

	gometrics "github.com/gpugate/gpugate/modules/internal/metrics"
	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// metrics are the usage-plan collectors. Labels are the plan, the outcome,
// the store kind and the store operation only: never a key or key id
// (unbounded, and it leaks keys).
type metrics struct {
	decisions     *prometheus.CounterVec
	storeDuration *prometheus.HistogramVec
	// decideDuration is storeDuration's series of the config's store.
	decideDuration gometrics.Series[prometheus.Observer]
	storeErrors    *prometheus.CounterVec
	leasesHeld     *prometheus.GaugeVec
	meteredUnits   *prometheus.CounterVec
}

// planSeries are the series a plan's admitted requests count in, kept (see
// internal/metrics.Series) rather than looked up by label on each request.
type planSeries struct {
	admitted  gometrics.Series[prometheus.Counter]
	leases    gometrics.Series[prometheus.Gauge]
	quotaUsed gometrics.Series[prometheus.Observer]
}

// admitted is the plan's decisions_total{outcome="admitted"}.
func (p *compiledPlan) admitted(m *metrics) prometheus.Counter {
	return p.series.admitted.Get(func() prometheus.Counter {
		return m.decisions.WithLabelValues(p.name, store.Admitted.String())
	})
}

// leases is the plan's concurrency_leases_held.
func (p *compiledPlan) leases(m *metrics) prometheus.Gauge {
	return p.series.leases.Get(func() prometheus.Gauge { return m.leasesHeld.WithLabelValues(p.name) })
}

// quotaUsed is the plan's quota_used_ratio.
func (p *compiledPlan) quotaUsed() prometheus.Observer {
	return p.series.quotaUsed.Get(func() prometheus.Observer { return quotaUsedRatio.Get().WithLabelValues(p.name) })
}

// Outcome labels beyond store.Outcome's.
const (
	outcomeForbidden    = "forbidden"
	outcomeStoreAllowed = "store_error_allowed"
	outcomeStoreDenied  = "store_error_denied"
	noPlan              = "none"
)

// Operation labels of store errors.
const (
	opDecide     = "decide"
	opKeyLookup  = "key_lookup"
	opRelease    = "release"
	opRefund     = "refund"
	opMeter      = "meter"
	opBackground = "background"
)

// The process-wide collectors (see modules/internal/metrics): counts go on
// across `caddy reload`.
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
	storeErrorsTotal = gometrics.NewCollector(func() *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gpugate", Subsystem: "usage_plan", Name: "store_errors_total",
			Help: "Failed or timed-out usage-plan store calls, by store kind and operation (decide, key_lookup, release, refund, background).",
		}, []string{"store", "operation"})
	})
	meteredUnitsTotal = gometrics.NewCollector(func() *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gpugate", Subsystem: "usage_plan", Name: "metered_units_total",
			Help: "Units charged to usage-plan meters after responses (GPU-seconds, US dollars: the meter's unit), by plan and meter.",
		}, []string{"plan", "meter"})
	})
	concurrencyLeasesHeld = gometrics.NewCollector(func() *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "gpugate", Subsystem: "usage_plan", Name: "concurrency_leases_held",
			Help: "Concurrency slots held by requests in flight through this instance, by plan.",
		}, []string{"plan"})
	})
)

// registerMetrics registers the collectors on a config's registry; a nil
// registry gives working, unregistered collectors.
func registerMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := new(metrics)
	var err error
	if m.decisions, err = decisionsTotal.Register(reg); err != nil {
		return nil, err
	}
	if m.storeDuration, err = storeDurationSeconds.Register(reg); err != nil {
		return nil, err
	}
	if m.storeErrors, err = storeErrorsTotal.Register(reg); err != nil {
		return nil, err
	}
	if m.leasesHeld, err = concurrencyLeasesHeld.Register(reg); err != nil {
		return nil, err
	}
	if m.meteredUnits, err = meteredUnitsTotal.Register(reg); err != nil {
		return nil, err
	}
	if _, err = quotaUsedRatio.Register(reg); err != nil { // observed in observe.go
		return nil, err
	}
	return m, nil
}
