package runpod

import (
	"github.com/prometheus/client_golang/prometheus"

	gometrics "github.com/gpugate/gpugate/modules/internal/metrics"
)

// metrics counts upstream calls by mode and outcome. Labels never carry a
// key, a user or a pod id.
type metrics struct {
	upstreamCalls *prometheus.CounterVec
}

// Outcomes of an upstream call.
const (
	outcomeOK          = "ok"
	outcomeClientError = "client_error"
	outcomeServerError = "server_error"
	outcomeTimeout     = "timeout"
	outcomeUnreachable = "unreachable"
	outcomeRejected    = "rejected" // refused at the gateway, no upstream call
)

// requestsTotal is the process-wide collector (see modules/internal/metrics).
var requestsTotal = gometrics.NewCollector(func() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "gpugate",
		Subsystem: "runpod",
		Name:      "requests_total",
		Help:      "Requests handled by the runpod directive, by mode and outcome.",
	}, []string{"mode", "outcome"})
})

// loadMetrics registers the runpod collectors on a config's registry. A nil
// registry gives a working, unregistered collector.
func loadMetrics(reg prometheus.Registerer) (*metrics, error) {
	calls, err := requestsTotal.Register(reg)
	if err != nil {
		return nil, err
	}
	return &metrics{upstreamCalls: calls}, nil
}

// observe counts one request.
func (m *metrics) observe(mode, outcome string) {
	if m != nil {
		m.upstreamCalls.WithLabelValues(mode, outcome).Inc()
	}
}

// outcomeOf classifies an upstream status.
func outcomeOf(status int) string {
	switch {
	case status >= 500:
		return outcomeServerError
	case status >= 400:
		return outcomeClientError
	default:
		return outcomeOK
	}
}
