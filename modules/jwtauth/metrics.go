package jwtauth

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
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
	if results, err = register(reg, results); err != nil {
		return nil, err
	}
	if cache, err = register(reg, cache); err != nil {
		return nil, err
	}
	return &metrics{results: results, cache: cache}, nil
}

// register registers c, or returns the collector already registered under
// the same description.
func register(reg prometheus.Registerer, c *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	if reg == nil {
		return c, nil
	}
	if err := reg.Register(c); err != nil {
		var already prometheus.AlreadyRegisteredError
		if errors.As(err, &already) {
			if existing, ok := already.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing, nil
			}
		}
		return nil, err
	}
	return c, nil
}
