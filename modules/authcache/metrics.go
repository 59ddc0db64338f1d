package authcache

import (
	"github.com/prometheus/client_golang/prometheus"

	gometrics "github.com/gpugate/gpugate/modules/internal/metrics"
)

// metrics are the auth_cache collectors.
type metrics struct {
	lookups *prometheus.CounterVec
}

// lookupsTotal is the process-wide collector (see modules/internal/metrics).
var lookupsTotal = gometrics.NewCollector(func() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "gpugate", Subsystem: "auth_cache", Name: "lookups_total",
		Help: "auth_cache lookups by result: hit, miss (the authorizer ran) or no_key.",
	}, []string{"result"})
})

// newMetrics registers the collectors on a config's registry.
func newMetrics(registry prometheus.Registerer) (*metrics, error) {
	lookups, err := lookupsTotal.Register(registry)
	if err != nil {
		return nil, err
	}
	return &metrics{lookups: lookups}, nil
}
