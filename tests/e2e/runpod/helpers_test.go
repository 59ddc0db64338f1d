package runpod

import (
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/simulators/runpodsim"
	"github.com/gpugate/gpugate/tests/testkit"
)

const (
	jwtSecret   = "e2e-runpod-jwt-secret-0123456789abcdef"
	jwtIssuer   = "https://auth.example.com/"
	jwtAudience = "gpugate"
	runpodKey   = "rpa_E2E_SECRET_RUNPOD_KEY"
	endpointID  = "ep-e2e-video"
)

// stack is the gateway in front of a simulator.
type stack struct {
	t   *testing.T
	sim *runpodsim.Sim
	gw  *testkit.Gateway
}

// startStack runs the simulator and the gateway with runpod.Caddyfile
// pointed at it. env overrides the gateway environment.
func startStack(t *testing.T, simOpts runpodsim.Options, env map[string]string) *stack {
	t.Helper()
	simOpts.APIKey = runpodKey
	simOpts.Endpoints = append(simOpts.Endpoints, endpointID)
	sim := runpodsim.Start(t, simOpts)
	return &stack{t: t, sim: sim, gw: startGateway(t, sim, env)}
}

// startGateway runs a gateway with runpod.Caddyfile in front of sim (one
// of several instances when env names a shared GPUGATE_USAGE_STORE).
func startGateway(t *testing.T, sim *runpodsim.Sim, env map[string]string) *testkit.Gateway {
	t.Helper()
	vars := map[string]string{
		"GPUGATE_JWT_SECRET":    jwtSecret,
		"GPUGATE_JWT_ISSUER":    jwtIssuer,
		"GPUGATE_JWT_AUDIENCE":  jwtAudience,
		"RUNPOD_API_KEY":        runpodKey,
		"RUNPOD_BASE_URL":       sim.ManagementURL,
		"RUNPOD_SERVERLESS_URL": sim.ServerlessURL,
		"RUNPOD_ENDPOINT_ALIAS": "video",
		"RUNPOD_ENDPOINT_ID":    endpointID,
	}
	for k, v := range env {
		vars[k] = v
	}
	gw := testkit.StartGateway(t, "caddyfiles/runpod.Caddyfile", testkit.GatewayOptions{Env: vars})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway log:\n%s", gw.Logs())
		}
		if strings.Contains(gw.Logs(), runpodKey) {
			t.Errorf("the RunPod key appears in the gateway log")
		}
	})
	return gw
}

// admin is the subject whose tokens carry the scope runpod:admin, which
// runpod.Caddyfile requires for the v2 pass-through and purge-queue.
const admin = "ops-admin"

// token returns a valid JWT for subject (with scope runpod:admin for admin).
func token(t testing.TB, subject string) string {
	claims := testkit.StandardClaims(subject, jwtIssuer, jwtAudience)
	if subject == admin {
		claims["scope"] = "runpod:admin"
	}
	return testkit.SignHS256(t, jwtSecret, claims)
}

// call sends a request as subject ("" sends no token) with extra headers.
func (s *stack) call(subject, method, path, body string, headers ...string) testkit.Reply {
	s.t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	if subject != "" {
		headers = append(headers, "Authorization", "Bearer "+token(s.t, subject))
	}
	if body != "" {
		headers = append(headers, "Content-Type", "application/json")
	}
	r := s.gw.Call(method, path, b, headers...)
	if strings.Contains(r.Text(), runpodKey) || strings.Contains(strings.Join(r.Header.Values("Authorization"), ""), runpodKey) {
		s.t.Fatalf("%s %s: the RunPod key reached the client", method, path)
	}
	return r
}

// waitDesired polls GET /pods/{id} until desiredStatus is want.
func (s *stack) waitDesired(subject, id, want string) map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var p map[string]any
		r := s.call(subject, "GET", "/pods/"+id, "")
		if r.Status != 200 {
			s.t.Fatalf("poll %s = %d %s", id, r.Status, r.Body)
		}
		r.JSON(s.t, &p)
		if p["desiredStatus"] == want {
			return p
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("pod %s never reached %s: %v", id, want, p)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
