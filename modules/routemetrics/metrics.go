package routemetrics

import (
	"regexp"

	"github.com/prometheus/client_golang/prometheus"

	gometrics "github.com/gpugate/gpugate/modules/internal/metrics"
)

// namePattern is a route name: what the operator writes, so the label set
// stays as small as the configuration.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// series are the route collectors bound for one config.
type series struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	integration *prometheus.HistogramVec
}

// latencyBuckets reach from a cached gateway answer to a long GPU call.
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 150, 300}

// The process-wide collectors (see modules/internal/metrics).
var (
	requestsTotal = gometrics.NewCollector(func() *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gpugate", Subsystem: "route", Name: "requests_total",
			Help: "Requests by route, usage plan and status class (API Gateway's Count, 4XXError, 5XXError).",
		}, []string{"route", "plan", "status"})
	})
	durationSeconds = gometrics.NewCollector(func() *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "gpugate", Subsystem: "route", Name: "duration_seconds",
			Help:    "Time from the request reaching the route until its handlers returned, by route and plan (API Gateway's Latency).",
			Buckets: latencyBuckets,
		}, []string{"route", "plan"})
	})
	integrationSeconds = gometrics.NewCollector(func() *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "gpugate", Subsystem: "route", Name: "integration_duration_seconds",
			Help:    "Time until the upstream's response headers, by route and plan (API Gateway's IntegrationLatency).",
			Buckets: latencyBuckets,
		}, []string{"route", "plan"})
	})
)

// registerSeries registers the collectors on a config's registry.
func registerSeries(reg prometheus.Registerer) (*series, error) {
	s := new(series)
	var err error
	if s.requests, err = requestsTotal.Register(reg); err != nil {
		return nil, err
	}
	if s.duration, err = durationSeconds.Register(reg); err != nil {
		return nil, err
	}
	if s.integration, err = integrationSeconds.Register(reg); err != nil {
		return nil, err
	}
	return s, nil
}
