package adapttest

import (
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2"
)

// Context returns a caddy.Context for provisioning a module in a unit test,
// outside a running Caddy. Like the context Caddy gives modules, it carries
// a loaded config (empty, admin endpoint disabled), so that modules that
// embed standard ones (reverse_proxy asks ctx.App for the tls app) and
// ctx.AppIfConfigured work; and it has its own metrics registry. It is
// cancelled when the test ends, after the cleanups the test registers later
// (say, the module's Cleanup) have run.
func Context(t testing.TB) caddy.Context {
	t.Helper()
	// ProvisionContext sets process-wide defaults (certmagic's default
	// storage, the default logger): one at a time, for parallel tests.
	provisionMu.Lock()
	base, err := caddy.ProvisionContext(&caddy.Config{Admin: &caddy.AdminConfig{Disabled: true}})
	provisionMu.Unlock()
	if err != nil {
		t.Fatalf("adapttest: caddy context: %v", err)
	}
	ctx, cancel := caddy.NewContext(base)
	t.Cleanup(cancel)
	return ctx
}

// provisionMu serialises caddy.ProvisionContext (see Context).
var provisionMu sync.Mutex
