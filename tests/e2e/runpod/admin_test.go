package runpod

import (
	"strings"
	"testing"

	"github.com/gpugate/gpugate/tests/testkit"
)

// TestPassThroughNeedsAdminScope: the v2 pass-through used to sit behind
// the same jwt_auth as /pods, so bob could list and delete alice's pods
// through it, bypassing ownership and the create policy.
func TestPassThroughNeedsAdminScope(t *testing.T) {
	t.Parallel()
	s := startStack(t, fastPods, nil)
	var alice struct {
		Pod map[string]any `json:"pod"`
	}
	s.call("alice", "POST", "/pods", createBody).JSON(t, &alice)
	aliceID, _ := alice.Pod["id"].(string)
	if aliceID == "" {
		t.Fatal("alice's create failed")
	}
	before := len(s.sim.Requests())
	// bob's token is valid but lacks runpod:admin; so is a token with other scopes.
	other := testkit.StandardClaims("bob", jwtIssuer, jwtAudience)
	other["scope"] = "pods:read runpod:admin2"
	otherTok := testkit.SignHS256(t, jwtSecret, other)
	for _, c := range [][2]string{
		{"GET", "/runpod/v2/pods"}, {"GET", "/runpod/v2/pods/" + aliceID},
		{"DELETE", "/runpod/v2/pods/" + aliceID}, {"POST", "/runpod/v2/pods/" + aliceID + "/action"},
		{"POST", "/runpod/v2/pods"},
	} {
		if r := s.call("bob", c[0], c[1], `{}`); r.Status != 403 {
			t.Errorf("bob %s %s = %d %s, want 403", c[0], c[1], r.Status, r.Body)
		}
		if r := s.call("", c[0], c[1], `{}`, "Authorization", "Bearer "+otherTok); r.Status != 403 {
			t.Errorf("other scopes %s %s = %d %s, want 403", c[0], c[1], r.Status, r.Body)
		}
	}
	if r := s.call("", "GET", "/runpod/v2/pods", ""); r.Status != 401 {
		t.Errorf("no token = %d, want 401", r.Status)
	}
	if n := len(s.sim.Requests()) - before; n != 0 {
		t.Fatalf("%d of bob's pass-through requests reached RunPod", n)
	}
	if len(s.sim.Pods()) != 1 {
		t.Fatal("alice's pod is gone")
	}

	// The admin scope gets through, to every pod of the account.
	r := s.call(admin, "GET", "/runpod/v2/pods", "")
	if r.Status != 200 || !strings.Contains(string(r.Body), aliceID) {
		t.Fatalf("admin list = %d %s", r.Status, r.Body)
	}
	if r := s.call(admin, "DELETE", "/runpod/v2/pods/"+aliceID, ""); r.Status != 204 {
		t.Fatalf("admin delete = %d %s", r.Status, r.Body)
	}
}

func TestPurgeQueueNeedsAdminScope(t *testing.T) {
	t.Parallel()
	s := startStack(t, fastPods, nil)
	for _, path := range []string{
		"/jobs/video/purge-queue", "/jobs/video/purge-queue/", "//jobs//video//purge-queue",
		"/jobs/video/PURGE-QUEUE", "/jobs/video/purge%2Dqueue", "/jobs/vid%65o/purge-queue",
	} {
		// 400: the request policy refuses non-canonical spellings first.
		if r := s.call("bob", "POST", path, ""); r.Status != 403 && r.Status != 404 && r.Status != 400 {
			t.Errorf("bob POST %s = %d %s, want 403 (or 404, or 400 for a non-canonical path)", path, r.Status, r.Body)
		}
	}
	if n := len(s.sim.RequestsTo("", "/v2/"+endpointID+"/purge-queue")); n != 0 {
		t.Fatalf("bob purged the queue %d times", n)
	}
	if r := s.call("bob", "GET", "/jobs/video/health", ""); r.Status != 200 {
		t.Fatalf("bob health = %d %s", r.Status, r.Body)
	}
	if r := s.call("bob", "POST", "/jobs/video/run", `{"input":{}}`); r.Status != 200 {
		t.Fatalf("bob run = %d %s", r.Status, r.Body)
	}
	if r := s.call(admin, "POST", "/jobs/video/purge-queue", ""); r.Status != 200 {
		t.Fatalf("admin purge = %d %s", r.Status, r.Body)
	}
}

// TestPassThroughPathEscapes: dot segments and encoded slashes never reach
// RunPod with the operator's key, whatever Caddy's matchers make of them.
func TestPassThroughPathEscapes(t *testing.T) {
	t.Parallel()
	s := startStack(t, fastPods, nil)
	for _, path := range []string{
		"/runpod/v2/pods/%2e%2e/%2e%2e/graphql", "/runpod/v2/pods/..%2f..%2fgraphql", "/runpod/v2/pods/..%2F..%2Fgraphql",
		"/runpod/v2/pods/x/..%2f..%2f..%2fgraphql", "/runpod/v2/pods/%2e%2e%2f%2e%2e%2fgraphql", "/runpod/v2/pods/..%5c..%5cgraphql",
		"/jobs/video/status/..%2f..%2fgraphql",
	} {
		if r := s.call(admin, "GET", path, ""); r.Status == 200 {
			t.Errorf("GET %s = 200 %s", path, r.Body)
		}
	}
	for _, r := range s.sim.Requests() {
		if strings.Contains(r.Path, "..") || strings.Contains(r.Path, `\`) || strings.Contains(r.Path, "graphql") {
			t.Errorf("RunPod received %s %s", r.Method, r.Path)
		}
	}
}

// TestOwnerEnvForgery: alice could plant env gpugate_owner=bob, making the
// pod bob's (listed and deletable by him) and not hers.
func TestOwnerEnvForgery(t *testing.T) {
	t.Parallel()
	s := startStack(t, fastPods, nil)
	for _, key := range []string{"gpugate_owner", "GPUGATE_OWNER", "Gpugate_Owner"} {
		body := `{"name":"f","image":"runpod/pytorch:2.4.0","gpu_type":"NVIDIA GeForce RTX 4090","env":{"` + key + `":"bob"}}`
		if r := s.call("alice", "POST", "/pods", body); r.Status != 400 || !strings.Contains(r.Message(t), `field "env"`) {
			t.Errorf("env %s = %d %s, want 400 naming the field", key, r.Status, r.Body)
		}
	}
	if n := len(s.sim.Pods()); n != 0 {
		t.Fatalf("%d forged pods created", n)
	}
	// A pod planted through the pass-through (an admin's doing) is still not bob's.
	r := s.call(admin, "POST", "/runpod/v2/pods", `{"name":"p","image":"i","gpu":{"id":"NVIDIA GeForce RTX 4090"},"env":{"gpugate_owner":"bob"}}`)
	if r.Status != 201 && r.Status != 200 {
		t.Fatalf("admin create = %d %s", r.Status, r.Body)
	}
	if r := s.call("bob", "GET", "/pods", ""); string(r.Body) != "[]\n" {
		t.Fatalf("bob sees %s", r.Body)
	}
}
