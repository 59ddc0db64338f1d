package runpod

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/simulators/runpodsim"
	"github.com/gpugate/gpugate/tests/testkit"
)

// sdkVersion is the RunPod JavaScript SDK the test drives, unchanged.
const sdkVersion = "runpod-sdk@1.1.2"

// installSDK installs RunPod's JavaScript SDK from npm into a temp dir and
// returns the dir and the node binary (a missing node or npm skips the test
// locally and fails it under CI).
func installSDK(t *testing.T) (string, string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		testkit.RequireDependency(t, "node", err)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		testkit.RequireDependency(t, "npm", err)
	}
	dir := t.TempDir()
	cmd := exec.Command(npm, "install", "--no-audit", "--no-fund", "--loglevel=error", sdkVersion)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		testkit.RequireDependency(t, "npm install "+sdkVersion, fmtErr(err, out))
	}
	script, err := os.ReadFile(testkit.Path(t, "tests/e2e/runpod/testdata/sdk.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sdk.mjs"), script, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, node
}

type cmdError struct {
	err error
	out string
}

func (e cmdError) Error() string { return e.err.Error() + ": " + e.out }

func fmtErr(err error, out []byte) error { return cmdError{err, strings.TrimSpace(string(out))} }

// TestOfficialJavaScriptSDK drives RunPod's own JavaScript SDK, unchanged,
// through runpod.Caddyfile with a gateway JWT as its API key: health, run,
// status, stream, cancel, purge-queue (admin only) and a runSync that
// outlasts its wait, which the SDK finishes with status-sync. Another
// subject's status and cancel of alice's job get 404.
func TestOfficialJavaScriptSDK(t *testing.T) {
	t.Parallel()
	dir, node := installSDK(t)
	// Every job is queued 1 s and runs 2.5 s: longer than runSync's 3 s wait.
	s := startStack(t, runpodsim.Options{QueueDelay: time.Second, RunDelay: 2500 * time.Millisecond}, nil)
	cmd := exec.Command(node, "--dns-result-order=ipv4first", "sdk.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"NODE_EXTRA_CA_CERTS="+s.gw.RootCAPath(),
		"GATEWAY_JOBS="+s.gw.URL+"/jobs",
		"ENDPOINT=video",
		"TOKEN_ALICE="+token(t, "alice"),
		"TOKEN_BOB="+token(t, "bob"),
		"TOKEN_ADMIN="+token(t, admin),
	)
	raw, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("the SDK script failed: %v\n%s\n%s", err, raw, stderr)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	var out map[string]json.RawMessage
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &out); err != nil {
		t.Fatalf("the SDK script printed %s", raw)
	}
	field := func(name string) map[string]any {
		var m map[string]any
		_ = json.Unmarshal(out[name], &m)
		return m
	}
	want := func(name, key string, value any) {
		t.Helper()
		if got := field(name)[key]; got != value {
			t.Errorf("%s.%s = %v, want %v (%s)", name, key, got, value, out[name])
		}
	}
	if jobs, _ := field("health")["jobs"].(map[string]any); jobs == nil {
		t.Errorf("health = %s", out["health"])
	}
	jobID, _ := field("run")["id"].(string)
	want("run", "status", "IN_QUEUE")
	want("status", "id", jobID)
	want("status", "started", true)
	// Bob knows the job id, yet his calls answer like a job that does not exist.
	want("bobStatus", "failed", 404.0)
	want("bobCancel", "failed", 404.0)
	if body, _ := field("bobCancel")["body"].(map[string]any); body["message"] != "Not Found" {
		t.Errorf("bob's cancel body = %s", out["bobCancel"])
	}
	want("adminStatus", "id", jobID)
	var chunks []map[string]any
	if json.Unmarshal(out["stream"], &chunks) != nil || len(chunks) == 0 || chunks[len(chunks)-1]["output"] != "chunk 3" {
		t.Errorf("stream = %s", out["stream"])
	}
	want("statusAfterStream", "status", "COMPLETED")
	want("cancel", "status", "CANCELLED")
	want("bobPurge", "failed", 403.0)
	want("purge", "status", "completed")
	want("runSync", "status", "COMPLETED")
	want("runSync", "completed", true)
	if n := len(s.sim.RequestsTo("GET", "/v2/"+endpointID+"/status-sync/")); n == 0 {
		t.Error("runSync never polled status-sync through the gateway")
	}
	if n := len(s.sim.RequestsTo("POST", "/v2/"+endpointID+"/cancel/"+jobID)); n != 0 {
		t.Errorf("bob's cancel reached RunPod %d times", n)
	}
	for _, r := range s.sim.Requests() {
		if got := r.Header.Get("Authorization"); got != "Bearer "+runpodKey {
			t.Errorf("%s %s reached RunPod with Authorization %q", r.Method, r.Path, got)
		}
	}
}
