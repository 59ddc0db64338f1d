package modal_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/simulators/modalsim"
	"github.com/gpugate/gpugate/tests/testkit"
)

// passCaddyfile is modal.Caddyfile's upstream with pass_redirects instead
// of following, and without the key check.
const passCaddyfile = `{
	admin {$GPUGATE_ADMIN:localhost:2019}
	local_certs
	skip_install_trust
}

{$GPUGATE_ADDR:https://localhost:8443} {
	modal {
		url {$MODAL_URL}
		bearer {env.MULTITALK_API_KEY}
		proxy_auth {env.MODAL_KEY} {env.MODAL_SECRET}
		replace_prefix /api /api/v1
		pass_redirects
		tls_ca {env.MODAL_TLS_CA}
	}
}
`

// TestPassRedirectsComeBackThroughTheGateway: with pass_redirects the
// client gets Modal's 303 with a Location on the gateway, and following it
// through the gateway yields the result.
func TestPassRedirectsComeBackThroughTheGateway(t *testing.T) {
	t.Parallel()
	sim := modalsim.New(modalsim.Options{APIKey: multitalkKey, ProxyKey: modalKey, ProxySecret: modalSecret,
		CallLimit: 150 * time.Millisecond}).StartTLS(t)
	file := filepath.Join(t.TempDir(), "pass.Caddyfile")
	if err := os.WriteFile(file, []byte(passCaddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	gw := testkit.StartGateway(t, file, testkit.GatewayOptions{Env: map[string]string{
		"MULTITALK_API_KEY": multitalkKey, "MODAL_KEY": modalKey, "MODAL_SECRET": modalSecret,
		"MODAL_URL": sim.URL, "MODAL_TLS_CA": sim.CAFile,
	}})
	resp := gw.Do("POST", "/api/slow?duration=500ms", []byte(`{}`), "Content-Type", "application/json")
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/api/slow?") || !strings.Contains(loc, "__modal_function_call_id=fc-") {
		t.Fatalf("got %d Location %q, want 303 to /api/slow?...__modal_function_call_id=fc-...", resp.StatusCode, loc)
	}
	for i := 0; resp.StatusCode == http.StatusSeeOther && i < 20; i++ {
		resp = gw.Do("GET", resp.Header.Get("Location"), nil)
		if resp.StatusCode != http.StatusSeeOther {
			break
		}
		resp.Body.Close()
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"slept":"500ms"`) {
		t.Fatalf("after following: %d %s", resp.StatusCode, body)
	}
	for _, r := range sim.Requests() {
		if r.Header.Get("Authorization") != "Bearer "+multitalkKey {
			t.Errorf("%s %s reached Modal without the gateway's bearer", r.Method, r.Path)
		}
	}
}

// TestReloadKeepsServingAndCounting reloads the config and checks that
// requests are served and that every gpugate counter carries on: Caddy
// makes a fresh metrics registry per config, and the counts must not
// restart at zero.
func TestReloadKeepsServingAndCounting(t *testing.T) {
	t.Parallel()
	d := deploy(t, modalsim.Options{}, nil)
	d.call(t, "GET", "/api/v1/jobs", "").Want(t, http.StatusOK)
	d.send(t, "GET", "/api/v1/jobs", "").Want(t, http.StatusForbidden) // no key
	before := d.gw.ScrapeMetrics()
	d.gw.Reload("caddyfiles/modal.Caddyfile")
	d.call(t, "GET", "/api/v1/jobs", "").Want(t, http.StatusOK)
	d.send(t, "GET", "/api/v1/jobs", "").Want(t, http.StatusForbidden)
	d.call(t, "GET", "/api/v1/%2e%2e/health", "").Want(t, http.StatusBadRequest)
	after := d.gw.ScrapeMetrics()

	for _, c := range []struct {
		name   string
		labels []string
		added  float64 // requests of this kind after the reload
	}{
		{"gpugate_modal_requests_total", []string{`outcome="proxied"`}, 1},
		{"gpugate_usage_plan_decisions_total", []string{`outcome="admitted"`}, 1}, // the bad path is refused first, by the request policy
		{"gpugate_usage_plan_decisions_total", []string{`outcome="forbidden"`}, 1},
		{"gpugate_upstream_duration_seconds_count", []string{`module="modal"`}, 1},
	} {
		was := before.Sum(c.name, c.labels...)
		if was < 1 {
			t.Errorf("before the reload %s%v = %v, want at least 1", c.name, c.labels, was)
		}
		if got := after.Sum(c.name, c.labels...); got != was+c.added {
			t.Errorf("after the reload %s%v = %v, want %v + %v (the count carries on)", c.name, c.labels, got, was, c.added)
		}
	}
	for series := range after {
		if strings.Contains(series, clientKey) || strings.Contains(series, multitalkKey) {
			t.Errorf("a metric holds a key: %s", series)
		}
	}
}
