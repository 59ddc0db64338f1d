package certstorage

import (
	"github.com/prometheus/client_golang/prometheus"

	gometrics "github.com/gpugate/gpugate/modules/internal/metrics"
)

// storageMetrics are the storage's Prometheus collectors.
type storageMetrics struct {
	errors    *prometheus.CounterVec
	locksLost prometheus.Counter
}

// The process-wide collectors (see modules/internal/metrics).
var (
	errorsTotal = gometrics.NewCollector(func() *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gpugate",
			Subsystem: "cert_storage",
			Name:      "errors_total",
			Help:      "Redis calls of the certificate storage that failed, by operation (store, load, delete, list, stat, lock, unlock, renew).",
		}, []string{"operation"})
	})
	locksLostTotal = gometrics.NewCollector(func() prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "gpugate",
			Subsystem: "cert_storage",
			Name:      "locks_lost_total",
			Help:      "Storage locks that expired (or were taken over) while this instance still held them.",
		})
	})
)

// registerMetrics registers the collectors on a config's registry.
func registerMetrics(reg prometheus.Registerer) (*storageMetrics, error) {
	errs, err := errorsTotal.Register(reg)
	if err != nil {
		return nil, err
	}
	lost, err := locksLostTotal.Register(reg)
	if err != nil {
		return nil, err
	}
	return &storageMetrics{errors: errs, locksLost: lost}, nil
}
