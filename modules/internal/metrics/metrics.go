// Package metrics holds the one way gpugate modules publish Prometheus
// collectors, the way Caddy's reverse_proxy does (reverseproxy/metrics.go):
// each collector is made once per process and registered into every
// config's registry (ctx.GetMetricsRegistry()). Caddy gives each config a
// fresh registry, so a collector made per config would restart at zero on
// every `caddy reload`; one made once carries its counts across reloads and
// is shared by every site that uses the module.
package metrics

import (
	"errors"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector is a Prometheus collector made on first use and shared by every
// config of the process. Declare one per series at package level:
//
//	var requests = metrics.NewCollector(func() *prometheus.CounterVec {
//		return prometheus.NewCounterVec(prometheus.CounterOpts{...}, []string{"outcome"})
//	})
//
// and call Register(ctx.GetMetricsRegistry()) in Provision.
type Collector[C prometheus.Collector] struct {
	once sync.Once
	make func() C
	c    C
}

// NewCollector returns a Collector that builds its collector with make the
// first time it is needed.
func NewCollector[C prometheus.Collector](make func() C) *Collector[C] {
	return &Collector[C]{make: make}
}

// Get returns the process-wide collector without registering it anywhere.
func (p *Collector[C]) Get() C {
	p.once.Do(func() { p.c = p.make() })
	return p.c
}

// Register registers the process-wide collector on reg (a config's
// registry) and returns it. Registering it again on the same registry
// (another site, another handler) is not an error. A nil reg, including a
// nil *prometheus.Registry (a caddy.Context built without caddy.NewContext),
// registers nothing. Any other registration failure, such as another
// collector with the same name but other labels, is returned.
func (p *Collector[C]) Register(reg prometheus.Registerer) (C, error) {
	c := p.Get()
	if isNil(reg) {
		return c, nil
	}
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) && are.ExistingCollector == prometheus.Collector(c) {
		return c, nil
	}
	var zero C
	if errors.As(err, &are) {
		return zero, fmt.Errorf("metrics: another collector (%T) is registered with the same description: %w", are.ExistingCollector, err)
	}
	return zero, err
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
