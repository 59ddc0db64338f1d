package usageplan

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	gometrics "github.com/gpugate/gpugate/modules/internal/metrics"
)

// metrics are the usage-plan collectors. Labels are the plan, the outcome,
// the store kind and the store operation only: never a key or key id
// (unbounded, and it leaks keys).
type metrics struct {
	decisions     *prometheus.CounterVec
	storeDuration *prometheus.HistogramVec
	storeErrors   *prometheus.CounterVec
	leasesHeld    *prometheus.GaugeVec
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
	opBackground = "background"
)

// collectors are created once per process, like Caddy's reverse proxy
// metrics: Caddy makes a new Prometheus registry for every config, and
// registering the same collectors into each keeps the counts going
// across `caddy reload`.
var collectors struct {
	once sync.Once
	m    metrics
}

func sharedMetrics() *metrics {
	collectors.once.Do(func() {
		collectors.m = metrics{
			decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
				Namespace: "gpugate", Subsystem: "usage_plan", Name: "decisions_total",
				Help: "Usage-plan admission decisions by plan and outcome.",
			}, []string{"plan", "outcome"}),
			storeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
				Namespace: "gpugate", Subsystem: "usage_plan", Name: "store_duration_seconds",
				Help:    "Time of one usage-plan store decision, by store kind.",
				Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25},
			}, []string{"store"}),
			storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
				Namespace: "gpugate", Subsystem: "usage_plan", Name: "store_errors_total",
				Help: "Failed or timed-out usage-plan store calls, by store kind and operation (decide, key_lookup, release, refund, background).",
			}, []string{"store", "operation"}),
			leasesHeld: prometheus.NewGaugeVec(prometheus.GaugeOpts{
				Namespace: "gpugate", Subsystem: "usage_plan", Name: "concurrency_leases_held",
				Help: "Concurrency slots held by requests in flight through this instance, by plan.",
			}, []string{"plan"}),
		}
	})
	return &collectors.m
}

// registerMetrics registers the process's collectors on reg (a config's
// registry); a registry that holds them already (a second app in the
// same config) is fine. A nil registry registers nothing.
func registerMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := sharedMetrics()
	if _, err := gometrics.Register(reg, m.decisions); err != nil {
		return nil, err
	}
	if _, err := gometrics.Register(reg, m.storeDuration); err != nil {
		return nil, err
	}
	if _, err := gometrics.Register(reg, m.storeErrors); err != nil {
		return nil, err
	}
	if _, err := gometrics.Register(reg, m.leasesHeld); err != nil {
		return nil, err
	}
	return m, nil
}
