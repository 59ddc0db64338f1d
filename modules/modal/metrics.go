package modal

import (
	"github.com/prometheus/client_golang/prometheus"

	gometrics "github.com/gpugate/gpugate/modules/internal/metrics"
)

// Outcomes of a proxied request, the only label of the request counter.
const (
	outcomeProxied      = "proxied"
	outcomeBadPath      = "bad_path"
	outcomeNotFound     = "not_found"
	outcomeTooLarge     = "body_too_large"
	outcomeTimeout      = "upstream_timeout"
	outcomeUnreachable  = "upstream_unreachable"
	outcomeCredentials  = "upstream_rejected_credentials"
	outcomeClientGone   = "client_canceled"
	outcomeRedirectLoop = "redirect_loop"
)

// metrics are the modal handler's Prometheus collectors.
type metrics struct {
	requests  *prometheus.CounterVec
	redirects prometheus.Counter
}

// The process-wide collectors (see modules/internal/metrics).
var (
	requestsTotal = gometrics.NewCollector(func() *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gpugate", Subsystem: "modal", Name: "requests_total",
			Help: "Requests handled by modal handlers, by outcome.",
		}, []string{"outcome"})
	})
	redirectsFollowedTotal = gometrics.NewCollector(func() prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "gpugate", Subsystem: "modal", Name: "redirects_followed_total",
			Help: "Long-call 303 redirects followed server-side.",
		})
	})
)

// newMetrics registers the collectors on a config's registry. A nil
// registry gives working, unregistered collectors.
func newMetrics(registry prometheus.Registerer) (*metrics, error) {
	m := new(metrics)
	var err error
	if m.requests, err = requestsTotal.Register(registry); err != nil {
		return nil, err
	}
	if m.redirects, err = redirectsFollowedTotal.Register(registry); err != nil {
		return nil, err
	}
	return m, nil
}
