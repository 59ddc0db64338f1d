package adapttest

import (
	"errors"
	"testing"

	"github.com/caddyserver/caddy/v2"
)

func TestContextCancelledAtCleanup(t *testing.T) {
	var ctx caddy.Context
	t.Run("test", func(t *testing.T) {
		ctx = Context(t)
		if ctx.GetMetricsRegistry() == nil {
			t.Error("no metrics registry")
		}
		if _, err := ctx.AppIfConfigured("gpugate_gateway_responses"); !errors.Is(err, caddy.ErrNotConfigured) {
			t.Errorf("AppIfConfigured = %v, want ErrNotConfigured", err)
		}
		// With no config loaded, ctx.App panics (reverse_proxy's Provision
		// calls it).
		if _, err := ctx.App("adapttest_no_such_app"); err == nil {
			t.Error("App of an unknown app: no error")
		}
		if err := ctx.Err(); err != nil {
			t.Fatalf("cancelled during the test: %v", err)
		}
	})
	if ctx.Err() == nil {
		t.Fatal("not cancelled when the test ended")
	}
}
