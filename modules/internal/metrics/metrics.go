// Package metrics holds the one way gpugate modules register their
// Prometheus collectors on ctx.GetMetricsRegistry(): a second registration
// of the same series (another site using the module, or the config after a
// reload) reuses the collector registered first, so counts carry on.
package metrics

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c on reg and returns the collector to use.
//
// When reg already holds a collector with the same description
// (prometheus.AlreadyRegisteredError), Register returns that existing
// collector, provided it has the type C; an existing collector of another
// type is an error. Any other registration failure (say, the same metric
// name with other labels or help) is returned as is, with the zero C.
//
// A nil reg, including a nil *prometheus.Registry (a caddy.Context built
// without caddy.NewContext), registers nothing and returns c, a working
// collector that no registry exposes.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	var zero C
	if isNil(reg) {
		return c, nil
	}
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		return zero, err
	}
	existing, ok := are.ExistingCollector.(C)
	if !ok {
		return zero, fmt.Errorf("metrics: collector already registered with type %T, want %T: %w",
			are.ExistingCollector, c, err)
	}
	return existing, nil
}

// isNil reports whether reg is nil or a nil *prometheus.Registry, which
// caddy.Context.GetMetricsRegistry returns when the context has no
// registry and which would panic on Register.
func isNil(reg prometheus.Registerer) bool {
	if reg == nil {
		return true
	}
	r, ok := reg.(*prometheus.Registry)
	return ok && r == nil
}
