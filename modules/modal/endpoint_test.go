package modal

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpugate/gpugate/modules/simulators/modalsim"
)

func TestEndpointURL(t *testing.T) {
	for _, c := range []struct {
		ws, label string
		dev       bool
		want      string
	}{
		{"acme", "multitalk-api-fastapi-app", false, "https://acme--multitalk-api-fastapi-app.modal.run"},
		{"acme", "multitalk-api-fastapi-app", true, "https://acme--multitalk-api-fastapi-app-dev.modal.run"},
	} {
		if got, err := EndpointURL(c.ws, c.label, c.dev); err != nil || got != c.want {
			t.Errorf("EndpointURL(%q, %q, %v) = %q, %v; want %q", c.ws, c.label, c.dev, got, err, c.want)
		}
	}
	for _, bad := range [][2]string{{"Acme", "app"}, {"acme", "app.evil.com"}, {"acme", "-app"}, {"", "app"}, {"acme/x", "app"}} {
		if _, err := EndpointURL(bad[0], bad[1], false); err == nil {
			t.Errorf("EndpointURL(%q, %q): want an error", bad[0], bad[1])
		}
	}
}

func TestSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "multitalk-key")
	if err := os.WriteFile(file, []byte(testBearer+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sim := modalsim.New(modalsim.Options{APIKey: testBearer}).Start(t)
	h := provision(t, &Handler{URL: sim.URL, Bearer: "{file." + file + "}"})
	wantStatus(t, do(h, request("GET", "/api/v1/jobs", "")), http.StatusOK, `"jobs"`)
}

func TestProvisionErrorsNameTheSetting(t *testing.T) {
	t.Setenv("MODALTEST_EMPTY", "")
	for _, c := range []struct {
		h    Handler
		want string
	}{
		{Handler{URL: "https://a--b.modal.run", Bearer: "{env.MODALTEST_EMPTY}"}, "modal bearer"},
		{Handler{URL: "https://a--b.modal.run", ProxyAuthKey: "{env.MODALTEST_EMPTY}", ProxyAuthSecret: "{env.MODALTEST_EMPTY}"}, "modal proxy_auth key"},
		{Handler{URL: "https://a--b.modal.run", TLSCA: "/nonexistent/ca.pem"}, "modal tls_ca"},
		{Handler{}, "modal: no endpoint"},
		{Handler{Workspace: "Bad_Name", Label: "x"}, "is not a Modal workspace name"},
	} {
		h := c.h
		ctxErr := provisionErr(t, &h)
		if ctxErr == nil || !contains(ctxErr.Error(), c.want) {
			t.Errorf("%+v: Provision error %v, want %q", c.h, ctxErr, c.want)
		}
	}
}

func TestUpstreamURLDropsTheDefaultPort(t *testing.T) {
	for in, want := range map[string]string{
		"https://Acme--App.modal.run:443/base": "acme--app.modal.run",
		"http://127.0.0.1:80":                  "127.0.0.1",
		"https://[::1]:443":                    "[::1]",
		"https://localhost:8443":               "localhost:8443",
	} {
		origin, _, err := parseUpstreamURL(in)
		if err != nil || origin.Host != want {
			t.Errorf("parseUpstreamURL(%q) host = %v, %v; want %q", in, origin, err, want)
		}
	}
}

// TestValidateRefusesLiteralSecretsInJSON covers configs that skip the
// Caddyfile (JSON through the admin API's /load).
func TestValidateRefusesLiteralSecretsInJSON(t *testing.T) {
	for name, h := range map[string]*Handler{
		"modal bearer":            {URL: "https://a--b.modal.run", Bearer: "sk-literal"},
		"modal proxy_auth key":    {URL: "https://a--b.modal.run", ProxyAuthKey: "wk-literal", ProxyAuthSecret: "{env.S}"},
		"modal proxy_auth secret": {URL: "https://a--b.modal.run", ProxyAuthKey: "{env.K}", ProxyAuthSecret: "ws-literal"},
	} {
		h.Redirects = RedirectsFollow
		err := h.Validate()
		if err == nil || !strings.Contains(err.Error(), name) || strings.Contains(err.Error(), "-literal") {
			t.Errorf("%s: Validate() = %v, want a placeholder error naming it, not echoing the value", name, err)
		}
	}
}
