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

	// The series of an authenticated request, kept (internal/metrics.Series).
	okSeries, hitSeries gometrics.Series[prometheus.Counter]
}

// ok counts an authenticated request.
func (m *metrics) ok() {
	m.okSeries.Get(func() prometheus.Counter { return m.results.WithLabelValues("ok") }).Inc()
}

// cacheHit counts a token found in the verified-token cache.
func (m *metrics) cacheHit() {
	m.hitSeries.Get(func() prometheus.Counter { return m.cache.WithLabelValues("hit") }).Inc()
}

// The process-wide collectors (see modules/internal/metrics).
var (
	requestsTotal = gometrics.NewCollector(func() *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gpugate", Subsystem: "jwt_auth", Name: "requests_total",
			Help: "Requests seen by jwt_auth, by outcome (ok, missing, invalid, expired, forbidden).",
		}, []string{"result"})
	})
	cacheLookupsTotal = gometrics.NewCollector(func() *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gpugate", Subsystem: "jwt_auth", Name: "cache_lookups_total",
			Help: "Verified-token cache lookups, by result (hit, miss).",
		}, []string{"result"})
	})
)

// newMetrics registers the series on a config's registry.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := new(metrics)
	var err error
	if m.results, err = requestsTotal.Register(reg); err != nil {
		return nil, err
	}
	if m.cache, err = cacheLookupsTotal.Register(reg); err != nil {
		return nil, err
	}
	if _, err = jwksFetchFailuresTotal.Register(reg); err != nil {
		return nil, err
	}
	if _, err = jwksAge.Register(reg); err != nil {
		return nil, err
	}
	return m, nil
}

// jwksFetchFailuresTotal counts failed JWKS (or discovery) fetches by key
// set; the last good keys stay in use meanwhile.
var jwksFetchFailuresTotal = gometrics.NewCollector(func() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "gpugate", Subsystem: "jwt_auth", Name: "jwks_fetch_failures_total",
		Help: "Failed JWKS or OIDC discovery fetches, by key set; the last good keys stay in use.",
	}, []string{"source"})
})

// jwksAge reports, at each scrape, how long ago every live key set was last
// fetched successfully (since its start when it never was): an IdP outage
// shows as a growing age while requests keep being verified with the last
// good keys.
var jwksAge = gometrics.NewCollector(func() *keySetAgeCollector {
	return &keySetAgeCollector{desc: prometheus.NewDesc("gpugate_jwt_auth_jwks_age_seconds",
		"Seconds since each JWKS key set was last fetched successfully (since start when never).",
		[]string{"source"}, nil)}
})

// keySetAgeCollector is the collector behind jwksAge; it reads the shared
// key sets in remoteKeySets.
type keySetAgeCollector struct{ desc *prometheus.Desc }

// Describe implements prometheus.Collector.
func (c *keySetAgeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *keySetAgeCollector) Collect(ch chan<- prometheus.Metric) {
	seen := map[string]bool{}
	remoteKeySets.Range(func(_, v any) bool {
		set, ok := v.(*remoteKeySet)
		if !ok {
			return true
		}
		label := set.describe()
		if seen[label] { // two configs of one source (other refresh settings)
			return true
		}
		seen[label] = true
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, set.age().Seconds(), label)
		return true
	})
}
