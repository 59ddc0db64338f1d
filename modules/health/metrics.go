package health

import (
	"github.com/prometheus/client_golang/prometheus"

	gometrics "github.com/gpugate/gpugate/modules/internal/metrics"
)

// checkUp is the result of each readiness check at the last probe (1 ok, 0
// failed), by check name: the store-down and JWKS-stale alerts read it.
// Probes come from the load balancer and the container health check, every
// few seconds.
var checkUp = gometrics.NewCollector(func() *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "gpugate", Subsystem: "health", Name: "check_up",
		Help: "Result of each readiness check at the last probe (1 ok, 0 failed), by check.",
	}, []string{"check"})
})
