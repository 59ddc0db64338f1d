package usageplan

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// Shared is the usage-plan store as other gpugate modules keep their
// shared state in it (runpod's job owners and pod caps): exact across
// instances with Redis, durable with a file.
type Shared struct{ app *App }

// LoadShared returns the store of the usage_plans app configured in ctx.
// who and why name the module and what it needs the store for, for the
// error when no usage_plans global option is configured.
func LoadShared(ctx caddy.Context, who, why string) (*Shared, error) {
	app, err := ctx.AppIfConfigured(AppName)
	if errors.Is(err, caddy.ErrNotConfigured) {
		return nil, fmt.Errorf("%s: %s needs the usage-plan store, shared by every instance; add a usage_plans { store <url> } global option (e.g. store redis://host:6379/0 for several instances)", who, why)
	}
	if err != nil {
		return nil, err
	}
	return &Shared{app: app.(*App)}, nil
}

// Store is the open store; before the configuration has started, its calls
// fail.
func (s *Shared) Store() store.Store { return s.app.st() }

// Bound bounds ctx by store_timeout, for store calls on the request path.
func (s *Shared) Bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return s.app.storeContext(ctx)
}

// Background is for store calls after the response (or when the client may
// have gone): they are not cancelled with the request.
func (s *Shared) Background(ctx context.Context) (context.Context, context.CancelFunc) {
	return s.app.backgroundContext(ctx)
}

// Now is the app's clock.
func (s *Shared) Now() time.Time { return s.app.now() }
