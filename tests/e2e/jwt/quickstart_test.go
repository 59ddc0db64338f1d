// Package jwt holds the end-to-end tests of jwt_auth: they run the built
// gateway with testdata/demo.Caddyfile (a JWT-protected site in front of an
// echoing demo upstream) and with caddyfiles/quickstart.Caddyfile, and talk
// to it over TLS.
package jwt

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"
)

// secret is the HS256 secret the test gateway runs with (32+ bytes).
const secret = "e2e-jwt-secret-0123456789-abcdefghijkl"

// demoCaddyfile is the gateway in front of the echoing demo upstream.
const demoCaddyfile = "tests/e2e/jwt/testdata/demo.Caddyfile"

// demoEcho is what the demo upstream answers.
type demoEcho struct {
	Service       string `json:"service"`
	UserID        string `json:"user_id"`
	Scopes        string `json:"scopes"`
	Authorization string `json:"authorization"`
	Method        string `json:"method"`
	Path          string `json:"path"`
}

// startQuickstart runs the demo Caddyfile with its demo upstream on a free
// port.
func startQuickstart(t *testing.T) *testkit.Gateway {
	t.Helper()
	return testkit.StartGateway(t, demoCaddyfile, testkit.GatewayOptions{Env: map[string]string{
		"GPUGATE_JWT_SECRET":    secret,
		"GPUGATE_DEMO_UPSTREAM": testkit.FreeAddr(t),
	}})
}

// devToken gets a token from the gateway's own jwt-token command.
func devToken(t *testing.T, g *testkit.Gateway, args ...string) string {
	t.Helper()
	out, err := g.Command(append([]string{"jwt-token"}, args...)...)
	if err != nil {
		t.Fatalf("gpugate jwt-token: %v\n%s", err, out)
	}
	return strings.TrimSpace(out)
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestQuickstart(t *testing.T) {
	g := startQuickstart(t)
	reader := devToken(t, g, "--sub", "alice", "--scope", "pods:read", "--ttl", "1h")
	noScope := devToken(t, g, "--sub", "bob")

	t.Run("valid token reaches the upstream with claims and without Authorization", func(t *testing.T) {
		resp := g.Do(http.MethodGet, "/whoami", nil, "Authorization", "Bearer "+reader, "X-User-Id", "mallory")
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		var echo demoEcho
		if err := json.Unmarshal([]byte(body), &echo); err != nil {
			t.Fatalf("upstream body %q: %v", body, err)
		}
		want := demoEcho{Service: "gpugate-quickstart-demo", UserID: "alice", Scopes: "pods:read", Method: "GET", Path: "/whoami"}
		if echo != want {
			t.Errorf("upstream saw %+v, want %+v", echo, want)
		}
	})

	t.Run("scope granted", func(t *testing.T) {
		resp := g.Do(http.MethodGet, "/pods", nil, "Authorization", "Bearer "+reader)
		if body := readBody(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"path":"/pods"`) {
			t.Errorf("status %d body %s", resp.StatusCode, body)
		}
	})

	t.Run("no token is 401", func(t *testing.T) {
		resp := g.Do(http.MethodGet, "/pods", nil)
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusUnauthorized || body != "{\"message\":\"Unauthorized\"}\n" ||
			resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("status %d, body %q, headers %v", resp.StatusCode, body, resp.Header)
		}
	})

	t.Run("bad tokens are 401 invalid_token", func(t *testing.T) {
		expired := testkit.SignHS256(t, secret, testkit.Claims{"sub": "alice", "exp": time.Now().Add(-time.Minute).Unix()})
		forged := testkit.SignHS256(t, "another-secret-0123456789-abcdefghijkl", testkit.StandardClaims("alice", "", ""))
		for name, c := range map[string]struct{ token, description string }{
			"expired": {expired, "expired"},
			"forged":  {forged, "signature is invalid"},
			"garbage": {"abc.def.ghi", "malformed"},
		} {
			resp := g.Do(http.MethodGet, "/whoami", nil, "Authorization", "Bearer "+c.token)
			body := readBody(t, resp)
			challenge := resp.Header.Get("WWW-Authenticate")
			if resp.StatusCode != http.StatusUnauthorized || body != "{\"message\":\"Unauthorized\"}\n" ||
				!strings.HasPrefix(challenge, `Bearer error="invalid_token", error_description="`) || !strings.Contains(challenge, c.description) {
				t.Errorf("%s: status %d, body %q, WWW-Authenticate %q", name, resp.StatusCode, body, challenge)
			}
		}
	})

	t.Run("missing scope is 403", func(t *testing.T) {
		resp := g.Do(http.MethodGet, "/pods", nil, "Authorization", "Bearer "+noScope)
		body := readBody(t, resp)
		challenge := resp.Header.Get("WWW-Authenticate")
		if resp.StatusCode != http.StatusForbidden || body != "{\"message\":\"Forbidden\"}\n" ||
			!strings.Contains(challenge, `error="insufficient_scope"`) || !strings.Contains(challenge, `scope="pods:read"`) {
			t.Errorf("status %d, body %q, WWW-Authenticate %q", resp.StatusCode, body, challenge)
		}
		// The same token is fine where no scope is needed.
		resp = g.Do(http.MethodGet, "/whoami", nil, "Authorization", "Bearer "+noScope)
		if body := readBody(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"user_id":"bob"`) {
			t.Errorf("status %d body %s", resp.StatusCode, body)
		}
	})

	t.Run("no token text in the logs", func(t *testing.T) {
		for _, tok := range []string{reader, noScope} {
			if strings.Contains(g.Logs(), tok) || strings.Contains(g.Logs(), secret) {
				t.Fatal("the gateway log holds a token or the secret")
			}
		}
	})
}

// TestQuickstartDevDefaultSecret runs README's first command exactly as a
// fresh machine would (`./xcaddy.sh run`, no GPUGATE_JWT_SECRET), with a
// token signed by the development secret the script sets (read from the
// script, tests/e2e/quickstart runs the lines it prints).
func TestQuickstartDevDefaultSecret(t *testing.T) {
	t.Setenv("GPUGATE_JWT_SECRET", "") // restored after the test
	os.Unsetenv("GPUGATE_JWT_SECRET")
	runpodPort, modalPort := testkit.FreePort(t), testkit.FreePort(t)
	g := testkit.StartRunScript(t, "caddyfiles/quickstart.Caddyfile", testkit.GatewayOptions{Env: map[string]string{
		"GPUGATE_RUNPOD_SIM_PORT": strconv.Itoa(runpodPort),
		"GPUGATE_MODAL_SIM_PORT":  strconv.Itoa(modalPort),
		"GPUGATE_RUNPOD_URL":      "http://127.0.0.1:" + strconv.Itoa(runpodPort) + "/v2",
		"GPUGATE_MODAL_URL":       "http://127.0.0.1:" + strconv.Itoa(modalPort),
	}})
	if resp := g.Do(http.MethodGet, "/pods", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %d, want 401", resp.StatusCode)
	}
	out, err := g.Command("jwt-token", "--secret-file", writeDevDefault(t), "--sub", "alice", "--scope", "pods:read")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(out, "published development secret") {
		t.Errorf("jwt-token did not say it signed with the development secret:\n%s", out)
	}
	var token string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "ey") {
			token = line // stdout; the warning went to stderr
		}
	}
	resp := g.Do(http.MethodGet, "/pods", nil, "Authorization", "Bearer "+token)
	if body := readBody(t, resp); resp.StatusCode != http.StatusOK || body != "[]\n" {
		t.Errorf("alice's pods: status %d body %q, want 200 []", resp.StatusCode, body)
	}
}
