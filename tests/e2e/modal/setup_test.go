// Package modal_test runs caddyfiles/modal.Caddyfile in the built gateway
// against the Modal/MultiTalk simulator (over TLS with its own CA).
package modal_test

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
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

// response is a read response.
type response struct {
	status int
	header http.Header
	body   string
}

// call sends a request through the gateway with the client's API key.
func (d *deployment) call(t *testing.T, method, path, body string, headers ...string) response {
	t.Helper()
	return d.send(t, method, path, body, append([]string{"X-Api-Key", clientKey}, headers...)...)
}

// send sends a request with exactly the given headers.
func (d *deployment) send(t *testing.T, method, path, body string, headers ...string) response {
	t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
		headers = append(headers, "Content-Type", "application/json")
	}
	resp := d.gw.Do(method, path, b, headers...)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(raw)}
}

func (r response) want(t *testing.T, status int, contains ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("got %d %s, want %d", r.status, r.body, status)
	}
	for _, c := range contains {
		if !strings.Contains(r.body, c) {
			t.Fatalf("body %s does not contain %s", r.body, c)
		}
	}
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return v
}
