package usageplan

import (
	"time"

	"github.com/caddyserver/caddy/v2"
)

// Hooks for the external tests (package usageplan_test), which put the
// usage_plan handler in front of the upstream modules that record readings
// (they import this package, so the tests live outside it).

// SetClock replaces app's clock (before Start).
func SetClock(app *App, now func() time.Time) { app.now = now }

// ProvisionHandler provisions h against app, outside a server (a unit test
// has no request policy for Provision to find).
func ProvisionHandler(ctx caddy.Context, h *Handler, app *App) error {
	return h.provisionWith(ctx, app)
}
