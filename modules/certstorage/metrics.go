package certstorage

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpugate/gpugate/modules/internal/metrics"
)

// storageMetrics are the storage's Prometheus collectors.
type storageMetrics struct {
	errors    *prometheus.CounterVec
	locksLost prometheus.Counter
}

var (
	collectorsOnce sync.Once
	collectors     *storageMetrics
)

// newCollectors creates the collectors once per process, so that counts
// survive config reloads.
func newCollectors() *storageMetrics {
	collectorsOnce.Do(func() {
		collectors = &storageMetrics{
			errors: prometheus.NewCounterVec(prometheus.CounterOpts{
				Namespace: "gpugate",
				Subsystem: "cert_storage",
				Name:      "errors_total",
				Help:      "Redis calls of the certificate storage that failed, by operation (store, load, delete, list, stat, lock, unlock, renew).",
			}, []string{"operation"}),
			locksLost: prometheus.NewCounter(prometheus.CounterOpts{
				Namespace: "gpugate",
				Subsystem: "cert_storage",
				Name:      "locks_lost_total",
				Help:      "Storage locks that expired (or were taken over) while this instance still held them.",
			}),
		}
	})
	return collectors
}

// registerMetrics registers the collectors on reg, reusing those a
// previous config registered.
func registerMetrics(reg prometheus.Registerer) (*storageMetrics, error) {
	c := newCollectors()
	errs, err := metrics.Register(reg, c.errors)
	if err != nil {
		return nil, err
	}
	lost, err := metrics.Register(reg, c.locksLost)
	if err != nil {
		return nil, err
	}
	return &storageMetrics{errors: errs, locksLost: lost}, nil
}
