// Package clients runs the example clients in examples/clients, unchanged,
// against the built gateway and the RunPod and Modal simulators: the old
// chains' clients must keep working when gpugate replaces those chains.
package clients

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/simulators/modalsim"
	"github.com/gpugate/gpugate/modules/simulators/runpodsim"
	"github.com/gpugate/gpugate/tests/testkit"
)

const (
	jwtSecret    = "clients-test-secret-0123456789abcdef0123"
	runpodKey    = "rp-clients-test-key"
	multitalkKey = "mt-clients-test-key"
	apiKey       = "gpg_clients_test_0123456789abcdef"
)

// run runs a client program with env and returns its output; it fails the
// test when the program fails.
func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = testkit.RepoRoot(t)
	cmd.Env = append(cmd.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func python(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("python3")
	if err != nil {
		testkit.RequireDependency(t, "python3", err)
	}
	return path
}

// TestPodsClientFlow runs the old FastAPI test script's flow (list, create,
// wait RUNNING, stop, wait EXITED, delete, gone) through runpod.Caddyfile.
func TestPodsClientFlow(t *testing.T) {
	t.Parallel()
	py := python(t)
	sim := runpodsim.Start(t, runpodsim.Options{
		APIKey: runpodKey, ProvisionDelay: 200 * time.Millisecond, StartDelay: 200 * time.Millisecond})
	gw := testkit.StartGateway(t, "caddyfiles/runpod.Caddyfile", testkit.GatewayOptions{Env: map[string]string{
		"GPUGATE_JWT_SECRET":    jwtSecret,
		"RUNPOD_API_KEY":        runpodKey,
		"RUNPOD_BASE_URL":       sim.ManagementURL,
		"RUNPOD_SERVERLESS_URL": sim.ServerlessURL,
	}})
	token := testkit.SignHS256(t, jwtSecret, testkit.StandardClaims("alice", "https://auth.example.com/", "gpugate"))

	out := run(t, []string{
		"GPUGATE_URL=" + gw.URL, "GPUGATE_TOKEN=" + token, "GPUGATE_CA=" + gw.RootCAPath(),
		"POLL_SECONDS=0.1", "TIMEOUT_SECONDS=30",
	}, py, filepath.FromSlash("examples/clients/pods_client.py"))
	if !strings.Contains(out, "flow OK") {
		t.Fatalf("pods client did not finish its flow:\n%s", out)
	}
	for _, want := range []string{"is RUNNING", "is EXITED", "deleted pod"} {
		if !strings.Contains(out, want) {
			t.Errorf("client output lacks %q:\n%s", want, out)
		}
	}
	if pods := sim.Pods(); len(pods) != 0 {
		t.Errorf("RunPod still holds %d pods after the flow", len(pods))
	}
	for _, r := range sim.Requests() {
		if got := r.Header.Get("Authorization"); got != "Bearer "+runpodKey {
			t.Errorf("%s %s reached RunPod with Authorization %q, want the gateway's key", r.Method, r.Path, got)
		}
		if strings.Contains(string(r.Body), token) {
			t.Errorf("%s %s: the client's JWT reached RunPod in the body", r.Method, r.Path)
		}
	}
}

// startModal runs modal.Caddyfile in front of a MultiTalk simulator.
func startModal(t *testing.T) (*testkit.Gateway, *modalsim.Server) {
	t.Helper()
	sim := modalsim.New(modalsim.Options{
		APIKey: multitalkKey, ProxyKey: "wk-clients", ProxySecret: "ws-clients", JobStep: 100 * time.Millisecond})
	srv := sim.StartTLS(t)
	gw := testkit.StartGateway(t, "caddyfiles/modal.Caddyfile", testkit.GatewayOptions{Env: map[string]string{
		"GPUGATE_API_KEY":   apiKey,
		"MULTITALK_API_KEY": multitalkKey,
		"MODAL_KEY":         "wk-clients",
		"MODAL_SECRET":      "ws-clients",
		"MODAL_URL":         srv.URL,
		"MODAL_TLS_CA":      srv.CAFile,
		"GPUGATE_DATA":      t.TempDir(),
	}})
	return gw, srv
}

// TestMultiTalkPythonClient runs the old Lambda-era client: it submits the
// old request shape with an API key and polls the job to completion.
func TestMultiTalkPythonClient(t *testing.T) {
	t.Parallel()
	py := python(t)
	gw, sim := startModal(t)
	out := run(t, []string{
		"GPUGATE_URL=" + gw.URL, "GPUGATE_API_KEY=" + apiKey, "GPUGATE_CA=" + gw.RootCAPath(),
		"POLL_SECONDS=0.1", "TIMEOUT_SECONDS=30", "STEPS=30",
	}, py, filepath.FromSlash("examples/clients/multitalk_client.py"))
	t.Logf("client output:\n%s", out)
	if !strings.Contains(out, `"status": "completed"`) {
		t.Fatalf("job did not complete:\n%s", out)
	}
	assertMappedGenerate(t, sim, 30)
}

// TestGoClient runs examples/clients/gpugate-client the same way.
func TestGoClient(t *testing.T) {
	t.Parallel()
	gw, sim := startModal(t)
	out := run(t, []string{"GPUGATE_API_KEY=" + apiKey}, "go", "run", "./examples/clients/gpugate-client",
		"-url", gw.URL, "-ca", gw.RootCAPath(), "-poll", "100ms", "-timeout", "30s")
	if !strings.Contains(out, "result:") {
		t.Fatalf("Go client did not get a result:\n%s", out)
	}
	assertMappedGenerate(t, sim, 20)
}

// assertMappedGenerate checks what the MultiTalk app received for the one
// generate call: the mapping template's shape, the gateway's credentials,
// none of the client's.
func assertMappedGenerate(t *testing.T, sim *modalsim.Server, wantSteps float64) {
	t.Helper()
	var generates []modalsim.Request
	for _, r := range sim.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/api/v1/generate") {
			generates = append(generates, r)
		}
		if r.Header.Get("X-Api-Key") != "" {
			t.Errorf("%s %s: the client's X-Api-Key reached Modal", r.Method, r.Path)
		}
		if got := r.Header.Get("Authorization"); got != "Bearer "+multitalkKey {
			t.Errorf("%s %s: Authorization %q, want the gateway's MultiTalk key", r.Method, r.Path, got)
		}
		if r.Header.Get("Modal-Key") != "wk-clients" || r.Header.Get("Modal-Secret") != "ws-clients" {
			t.Errorf("%s %s: Modal proxy-auth headers missing", r.Method, r.Path)
		}
	}
	if len(generates) != 1 {
		t.Fatalf("Modal received %d generate calls, want 1", len(generates))
	}
	var body map[string]any
	if err := json.Unmarshal(generates[0].Body, &body); err != nil {
		t.Fatalf("generate body is not JSON: %v: %s", err, generates[0].Body)
	}
	if _, ok := body["image_s3_url"].(string); !ok {
		t.Errorf("generate body lacks image_s3_url: %s", generates[0].Body)
	}
	if urls, ok := body["audio_s3_urls"].([]any); !ok || len(urls) != 1 {
		t.Errorf("generate body audio_s3_urls = %v, want a one-element list", body["audio_s3_urls"])
	}
	opts, _ := body["options"].(map[string]any)
	if opts["sample_steps"] != wantSteps {
		t.Errorf("options.sample_steps = %v, want %v", opts["sample_steps"], wantSteps)
	}
	for _, old := range []string{"image_url", "audio_url", "steps"} {
		if _, ok := body[old]; ok {
			t.Errorf("old field %q reached Modal: %s", old, generates[0].Body)
		}
	}
}

// TestCurlExamples runs examples/clients/curl.sh against the quickstart
// (both chains, the simulators inside the gateway) and checks each call
// answered as the script's comments say.
func TestCurlExamples(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		testkit.RequireDependency(t, "curl", err)
	}
	runpodPort, modalPort := testkit.FreePort(t), testkit.FreePort(t)
	gw := testkit.StartGateway(t, "caddyfiles/quickstart.Caddyfile", testkit.GatewayOptions{Env: map[string]string{
		"GPUGATE_JWT_SECRET":      jwtSecret,
		"RUNPOD_API_KEY":          runpodKey,
		"MULTITALK_API_KEY":       multitalkKey,
		"GPUGATE_RUNPOD_SIM_PORT": strconv.Itoa(runpodPort),
		"GPUGATE_MODAL_SIM_PORT":  strconv.Itoa(modalPort),
		"GPUGATE_RUNPOD_URL":      "http://127.0.0.1:" + strconv.Itoa(runpodPort) + "/v2",
		"GPUGATE_MODAL_URL":       "http://127.0.0.1:" + strconv.Itoa(modalPort),
	}})
	out := run(t, []string{
		"GPUGATE_URL=" + gw.URL, "GPUGATE_CA=" + gw.RootCAPath(), "GPUGATE_BIN=" + testkit.Binary(t),
		"GPUGATE_ADMIN=" + gw.AdminAddr, "GPUGATE_JWT_SECRET=" + jwtSecret,
	}, "bash", filepath.FromSlash("examples/clients/curl.sh"))
	for _, want := range []string{
		"HTTP/2 401", `{"message":"Unauthorized"}`, "www-authenticate: Bearer",
		"\n[]\n", "is RUNNING", `"gpu":{"id":"NVIDIA GeForce RTX 3070","count":1}`, `"status":"EXITED"`, "DELETE: 204",
		"HTTP/2 403", `{"message":"Forbidden"}`,
		"is completed", `"s3_output":"s3://multitalk-outputs/outputs/`, "ratelimit-policy:", `"count":1`,
		`"usagePlanId": "multitalk"`,
	} {
		if !strings.Contains(strings.ToLower(out), strings.ToLower(want)) {
			t.Errorf("curl.sh output lacks %q:\n%s", want, out)
		}
	}
}

// TestCurlExampleNeedsTheSecretOutsideTheQuickstart: curl.sh defaults to
// the development secret for the quickstart's loopback address only.
func TestCurlExampleNeedsTheSecretOutsideTheQuickstart(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("bash", filepath.FromSlash("examples/clients/curl.sh"))
	cmd.Dir = testkit.RepoRoot(t)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "GPUGATE_URL=https://gw.example.com"}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 ||
		!strings.Contains(string(out), "is not the quickstart; set GPUGATE_JWT_SECRET") {
		t.Fatalf("curl.sh against another gateway without a secret: %v\n%s", err, out)
	}
}
