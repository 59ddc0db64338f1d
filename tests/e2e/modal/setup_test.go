// Package modal_test runs caddyfiles/modal.Caddyfile in the built gateway
// against the Modal/MultiTalk simulator (over TLS with its own CA).
package modal_test

import (
	"path/filepath"
	"testing"

	"github.com/gpugate/gpugate/modules/simulators/modalsim"
	"github.com/gpugate/gpugate/tests/testkit"
)

// Secrets of the test deployment.
const (
	clientKey    = "gpg_e2e_client_key_0123456789"
	multitalkKey = "mt-e2e-upstream-key"
	modalKey     = "wk-e2e-proxy-key"
	modalSecret  = "ws-e2e-proxy-secret"
)

// deployment is a gateway running modal.Caddyfile in front of a simulator.
type deployment struct {
	gw  *testkit.Gateway
	sim *modalsim.Server
}

// deploy starts the simulator (TLS, bearer and proxy auth on) and the
// gateway; env overrides the Caddyfile's tuning variables.
func deploy(t *testing.T, opts modalsim.Options, env map[string]string) *deployment {
	t.Helper()
	opts.APIKey, opts.ProxyKey, opts.ProxySecret = multitalkKey, modalKey, modalSecret
	sim := modalsim.New(opts).StartTLS(t)
	vars := map[string]string{
		"GPUGATE_API_KEY":   clientKey,
		"MULTITALK_API_KEY": multitalkKey,
		"MODAL_KEY":         modalKey,
		"MODAL_SECRET":      modalSecret,
		"MODAL_URL":         sim.URL,
		"MODAL_TLS_CA":      sim.CAFile,
		"GPUGATE_DATA":      filepath.Join(t.TempDir(), "state"),
	}
	for k, v := range env {
		vars[k] = v
	}
	gw := testkit.StartGateway(t, "caddyfiles/modal.Caddyfile", testkit.GatewayOptions{Env: vars})
	return &deployment{gw: gw, sim: sim}
}

// call sends a request through the gateway with the client's API key.
func (d *deployment) call(t *testing.T, method, path, body string, headers ...string) testkit.Reply {
	t.Helper()
	return d.send(t, method, path, body, append([]string{"X-Api-Key", clientKey}, headers...)...)
}

// send sends a request with exactly the given headers.
func (d *deployment) send(t *testing.T, method, path, body string, headers ...string) testkit.Reply {
	t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
		headers = append(headers, "Content-Type", "application/json")
	}
	return d.gw.Call(method, path, b, headers...)
}
