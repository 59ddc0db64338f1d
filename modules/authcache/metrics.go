package authcache

import (
	"github.com/prometheus/client_golang/prometheus"

	gometrics "github.com/gpugate/gpugate/modules/internal/metrics"
)

// metrics are the auth_cache collectors, shared by every handler on one
// registry.
type metrics struct {
	lookups *prometheus.CounterVec
}

// newMetrics registers the collectors on registry, reusing those already
// registered (another site, the config before a reload).
func newMetrics(registry *prometheus.Registry) (*metrics, error) {
	m := &metrics{lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "gpugate", Subsystem: "auth_cache", Name: "lookups_total",
		Help: "auth_cache lookups by result: hit, miss (the authorizer ran) or no_key.",
	}, []string{"result"})}
	var err error
	if m.lookups, err = gometrics.Register(registry, m.lookups); err != nil {
		return nil, err
	}
	return m, nil
}
