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

// metrics are the modal handler's Prometheus collectors, shared by every
// modal handler on one registry.
type metrics struct {
	requests  *prometheus.CounterVec
	redirects prometheus.Counter
}

// newMetrics registers the collectors on registry, reusing the ones a
// previous handler (another site, or the config before a reload) already
// registered. A nil registry gives working, unregistered collectors.
func newMetrics(registry *prometheus.Registry) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gpugate", Subsystem: "modal", Name: "requests_total",
			Help: "Requests handled by modal handlers, by outcome.",
		}, []string{"outcome"}),
		redirects: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "gpugate", Subsystem: "modal", Name: "redirects_followed_total",
			Help: "Long-call 303 redirects followed server-side.",
		}),
	}
	var err error
	if m.requests, err = gometrics.Register(registry, m.requests); err != nil {
		return nil, err
	}
	if m.redirects, err = gometrics.Register(registry, m.redirects); err != nil {
		return nil, err
	}
	return m, nil
}
