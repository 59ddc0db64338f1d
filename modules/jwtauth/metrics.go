package jwtauth

import (
	"github.com/prometheus/client_golang/prometheus"

	gometrics "github.com/gpugate/gpugate/modules/internal/metrics"
)

// metrics are the handler's Prometheus series. Labels are fixed outcome
// names, never a user, key id or token.
type metrics struct {
	// results counts requests by outcome: ok, missing, invalid, expired,
	// forbidden.
	results *prometheus.CounterVec
	// cache counts verified-token cache lookups: hit, miss.
	cache *prometheus.CounterVec
}

// newMetrics registers (or reuses, after a reload) the series on reg.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	results := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "gpugate", Subsystem: "jwt_auth", Name: "requests_total",
		Help: "Requests seen by jwt_auth, by outcome (ok, missing, invalid, expired, forbidden).",
	}, []string{"result"})
	cache := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "gpugate", Subsystem: "jwt_auth", Name: "cache_lookups_total",
		Help: "Verified-token cache lookups, by result (hit, miss).",
	}, []string{"result"})
	var err error
	if results, err = gometrics.Register(reg, results); err != nil {
		return nil, err
	}
	if cache, err = gometrics.Register(reg, cache); err != nil {
		return nil, err
	}
	return &metrics{results: results, cache: cache}, nil
}
