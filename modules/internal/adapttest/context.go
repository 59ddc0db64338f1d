package adapttest

import (
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
	base, err := caddy.ProvisionContext(&caddy.Config{Admin: &caddy.AdminConfig{Disabled: true}})
	if err != nil {
		t.Fatalf("adapttest: caddy context: %v", err)
	}
	ctx, cancel := caddy.NewContext(base)
	t.Cleanup(cancel)
	return ctx
}
