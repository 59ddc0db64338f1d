package usageplan

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/gpugate/gpugate/modules/health"
	"github.com/gpugate/gpugate/modules/usageplan/store"
)

func init() {
	caddy.RegisterModule(storeHealth{})
}

// storeHealth is the usage-plan store's readiness check (module
// gpugate.health.usage_plans, loaded by gpugate_health): the usage_plans
// app of the same config, when there is one.
type storeHealth struct{ app *App }

// CaddyModule returns the Caddy module information.
func (storeHealth) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "gpugate.health.usage_plans", New: func() caddy.Module { return new(storeHealth) }}
}

// Provision finds the usage_plans app; without one there is nothing to
// check.
func (s *storeHealth) Provision(ctx caddy.Context) error {
	app, err := ctx.AppIfConfigured(AppName)
	if errors.Is(err, caddy.ErrNotConfigured) {
		return nil
	}
	if err != nil {
		return err
	}
	s.app = app.(*App)
	return nil
}

// CheckHealth implements health.Checker.
func (s *storeHealth) CheckHealth(ctx context.Context) []health.Check {
	if s.app == nil {
		return nil
	}
	return s.app.CheckHealth(ctx)
}

// CheckHealth implements health.Checker: the store answers a key lookup
// (of a random hash, so no key is involved) within store_timeout. Before
// Start the store is not open and the check fails. The report names the
// store's kind only, never its URL (which may carry a password).
func (a *App) CheckHealth(ctx context.Context) []health.Check {
	timeout := a.storeTimeout()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	probe := make([]byte, 32)
	_, _ = rand.Read(probe)
	start := time.Now()
	_, err := a.st().KeyByHash(ctx, hex.EncodeToString(probe))
	took := time.Since(start)
	c := health.Check{Name: "usage_plans.store"}
	switch {
	case err == nil || errors.Is(err, store.ErrNotFound):
		c.OK = true
		c.Detail = fmt.Sprintf("%s store answered in %s (timeout %s)", a.storeKind, took.Round(time.Microsecond), timeout)
	case errors.Is(err, errStoreNotReady):
		c.Detail = "the store is not open yet (the configuration is starting)"
	case ctx.Err() != nil:
		c.Detail = fmt.Sprintf("%s store did not answer within %s", a.storeKind, timeout)
		a.storeErrors.warn("usage plans: health check: store timed out", zap.Error(err))
	default:
		c.Detail = fmt.Sprintf("%s store failed (see the log)", a.storeKind)
		a.storeErrors.warn("usage plans: health check: store failed", zap.Error(err))
	}
	return []health.Check{c}
}

var (
	_ health.Checker    = (*App)(nil)
	_ health.Checker    = (*storeHealth)(nil)
	_ caddy.Provisioner = (*storeHealth)(nil)
)
