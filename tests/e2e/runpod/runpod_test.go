package runpod

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/simulators/runpodsim"
	"github.com/gpugate/gpugate/tests/testkit"
)

const createBody = `{"name":"e2e-trainer","image":"runpod/pytorch:2.4.0","gpu_type":"NVIDIA GeForce RTX 4090"}`

var fastPods = runpodsim.Options{ProvisionDelay: 150 * time.Millisecond, StartDelay: 150 * time.Millisecond}

// TestOldClientScriptFlow replays the old FastAPI test script: list,
// create, wait until RUNNING, stop, wait until EXITED, delete, gone, with a
// JWT on every call.
func TestOldClientScriptFlow(t *testing.T) {
	t.Parallel()
	s := startStack(t, fastPods, nil)
	if r := s.call("alice", "GET", "/pods", ""); r.Status != 200 || string(r.Body) != "[]\n" {
		t.Fatalf("initial list = %d %s", r.Status, r.Body)
	}
	r := s.call("alice", "POST", "/pods", createBody)
	var created struct {
		Pod map[string]any `json:"pod"`
	}
	r.JSON(t, &created)
	id, _ := created.Pod["id"].(string)
	if r.Status != 200 || id == "" || created.Pod["status"] != "PROVISIONING" {
		t.Fatalf("create = %d %s", r.Status, r.Body)
	}
	running := s.waitDesired("alice", id, "RUNNING")
	if running["status"] != "RUNNING" || running["gpu"] == nil {
		t.Fatalf("running pod = %v", running)
	}
	if r := s.call("alice", "POST", "/pods/"+id+"/stop", ""); r.Status != 200 {
		t.Fatalf("stop = %d %s", r.Status, r.Body)
	}
	s.waitDesired("alice", id, "EXITED")
	if r := s.call("alice", "DELETE", "/pods/"+id, ""); r.Status != 204 {
		t.Fatalf("delete = %d %s", r.Status, r.Body)
	}
	if r := s.call("alice", "GET", "/pods/"+id, ""); r.Status != 404 {
		t.Fatalf("get after delete = %d %s", r.Status, r.Body)
	}
	if r := s.call("alice", "GET", "/pods", ""); string(r.Body) != "[]\n" {
		t.Fatalf("list after delete = %s", r.Body)
	}
	// No token, no pods: jwt_auth answers before anything reaches RunPod.
	before := len(s.sim.Requests())
	if r := s.call("", "GET", "/pods", ""); r.Status != 401 || r.Message(t) != "Unauthorized" {
		t.Fatalf("no token = %d %s", r.Status, r.Body)
	}
	if len(s.sim.Requests()) != before {
		t.Fatal("an unauthenticated request reached RunPod")
	}
}

func TestClientCredentialsStripped(t *testing.T) {
	t.Parallel()
	s := startStack(t, fastPods, nil)
	extra := []string{"X-Api-Key", "client-api-key-123", "Cookie", "session=client-cookie-123"}
	s.call("alice", "GET", "/pods", "", extra...)
	s.call("alice", "POST", "/pods", createBody, extra...)
	s.call(admin, "GET", "/runpod/v2/pods", "", extra...)
	s.call("alice", "POST", "/jobs/video/run", `{"input":{"prompt":"x"}}`, extra...)
	reqs := s.sim.Requests()
	if len(reqs) < 4 {
		t.Fatalf("only %d requests reached the simulator", len(reqs))
	}
	for _, r := range reqs {
		if got := r.Header.Values("Authorization"); len(got) != 1 || got[0] != "Bearer "+runpodKey {
			t.Errorf("%s %s: Authorization %q", r.Method, r.Path, got)
		}
		for name, vals := range r.Header {
			v := strings.Join(vals, " ")
			if strings.Contains(v, "client-") || strings.Contains(v, "eyJ") {
				t.Errorf("%s %s: client credential in %s: %q", r.Method, r.Path, name, v)
			}
		}
	}
}

func TestOwnershipIsolation(t *testing.T) {
	t.Parallel()
	s := startStack(t, fastPods, nil)
	var alice, bob struct {
		Pod map[string]any `json:"pod"`
	}
	s.call("alice", "POST", "/pods", createBody).JSON(t, &alice)
	s.call("bob", "POST", "/pods", createBody).JSON(t, &bob)
	aliceID, bobID := alice.Pod["id"].(string), bob.Pod["id"].(string)
	for subject, want := range map[string]string{"alice": aliceID, "bob": bobID} {
		var list []map[string]any
		s.call(subject, "GET", "/pods", "").JSON(t, &list)
		if len(list) != 1 || list[0]["id"] != want {
			t.Fatalf("%s sees %v, want only %s", subject, list, want)
		}
	}
	for _, c := range [][2]string{{"GET", "/pods/" + aliceID}, {"POST", "/pods/" + aliceID + "/stop"}, {"DELETE", "/pods/" + aliceID}} {
		if r := s.call("bob", c[0], c[1], ""); r.Status != 404 {
			t.Errorf("bob %s %s = %d, want 404", c[0], c[1], r.Status)
		}
	}
	if n := len(s.sim.RequestsTo("DELETE", "/v2/pods/")) + len(s.sim.RequestsTo("POST", "/v2/pods/"+aliceID)); n != 0 {
		t.Fatalf("bob's stop/delete reached RunPod %d times", n)
	}
	if pods := s.sim.Pods(); len(pods) != 2 {
		t.Fatalf("simulator holds %d pods, want 2", len(pods))
	}
}

func TestValidationErrors(t *testing.T) {
	t.Parallel()
	s := startStack(t, fastPods, nil)
	cases := []struct{ body, want string }{
		{`{"image":"runpod/x","gpu_type":"NVIDIA GeForce RTX 4090"}`, `field "name" is required`},
		{`{"name":"a","image":"runpod/x"}`, `field "gpu_type" is required`},
		{`{"name":"a","image":"runpod/x","gpu_type":"NVIDIA GeForce RTX 4090","gpuTypeIds":["x"]}`, `unknown field "gpuTypeIds"`},
		{`{"name":"a","image":"runpod/x","gpu_type":"NVIDIA GeForce RTX 4090","gpu_count":99}`, `field "gpu_count" must be between 1 and 8`},
		{`{"name":`, "must be a JSON object"},
	}
	for _, c := range cases {
		r := s.call("alice", "POST", "/pods", c.body)
		if r.Status != 400 || !strings.Contains(r.Message(t), c.want) {
			t.Errorf("%s = %d %s, want 400 with %q", c.body, r.Status, r.Body, c.want)
		}
	}
	if n := len(s.sim.Requests()); n != 0 {
		t.Fatalf("invalid creates cost %d RunPod calls", n)
	}
	// A GPU type outside runpod.Caddyfile's allow-list never reaches RunPod.
	r := s.call("alice", "POST", "/pods", `{"name":"a","image":"runpod/x","gpu_type":"NVIDIA GTX 9000"}`)
	if r.Status != 400 || !strings.Contains(r.Message(t), `"NVIDIA GTX 9000" is not allowed on this route`) {
		t.Fatalf("a GPU type off the allow-list = %d %s", r.Status, r.Body)
	}
	if n := len(s.sim.Requests()); n != 0 {
		t.Fatalf("a refused GPU type cost %d RunPod calls", n)
	}
}

// TestUpstreamGPUVerdict: with the allow-list opened to it, RunPod's own
// verdict on a GPU type outside its catalog keeps its 400.
func TestUpstreamGPUVerdict(t *testing.T) {
	t.Parallel()
	s := startStack(t, fastPods, map[string]string{"RUNPOD_ALLOW_GPU_TYPES": `"NVIDIA GTX 9000"`})
	r := s.call("alice", "POST", "/pods", `{"name":"a","image":"runpod/x","gpu_type":"NVIDIA GTX 9000"}`)
	if r.Status != 400 || !strings.Contains(r.Message(t), `unknown GPU type "NVIDIA GTX 9000"`) {
		t.Fatalf("upstream 400 = %d %s", r.Status, r.Body)
	}
}

// TestUpstreamFailuresReachTheOperator runs the shipped Caddyfile against
// RunPod refusing the gateway's key and timing out (the whole fault table is
// tested once, in modules/runpod): the client gets the gateway's 502/504 and
// the operator a warn log line naming RunPod and the status, without the key.
func TestUpstreamFailuresReachTheOperator(t *testing.T) {
	t.Parallel()
	s := startStack(t, fastPods, map[string]string{"RUNPOD_TIMEOUT": "1s"})
	s.sim.InjectFault(runpodsim.Fault{Status: http.StatusUnauthorized})
	r := s.call(admin, "GET", "/pods", "")
	if r.Status != 502 || r.Message(t) != "RunPod refused the gateway's request (401 Unauthorized)" {
		t.Errorf("RunPod refusing the key = %d %s, want 502", r.Status, r.Body)
	}
	s.sim.ClearFaults()
	s.sim.InjectFault(runpodsim.Fault{Latency: 3 * time.Second})
	if r := s.call(admin, "GET", "/runpod/v2/pods", ""); r.Status != 504 || r.Message(t) != "Endpoint request timed out" {
		t.Errorf("slow RunPod = %d %s, want 504", r.Status, r.Body)
	}
	s.sim.ClearFaults()
	testkit.Eventually(t, 5*time.Second, "the warn log lines", func() bool {
		logs := s.gw.Logs()
		return strings.Contains(logs, `"runpod upstream refused the gateway's credentials; check the configured key"`) &&
			strings.Contains(logs, `"status":401`) && strings.Contains(logs, `"runpod upstream timed out"`)
	})
	if strings.Contains(s.gw.Logs(), runpodKey) {
		t.Error("the RunPod key is in the gateway's log")
	}
	if r := s.call("alice", "GET", "/pods", ""); r.Status != 200 {
		t.Fatalf("after faults = %d", r.Status)
	}
}

func TestUnreachableRunPod(t *testing.T) {
	t.Parallel()
	s := startStack(t, fastPods, nil)
	s.sim.Close()
	for _, path := range []string{"/pods", "/runpod/v2/pods", "/jobs/video/health"} {
		if r := s.call(admin, "GET", path, ""); r.Status != 502 || r.Message(t) != "Bad Gateway" {
			t.Errorf("GET %s with RunPod down = %d %s", path, r.Status, r.Body)
		}
	}
}

func TestServerlessRunStatusStream(t *testing.T) {
	t.Parallel()
	const runTime = 1500 * time.Millisecond
	s := startStack(t, runpodsim.Options{QueueDelay: 50 * time.Millisecond, RunDelay: runTime, StreamChunks: 3}, nil)
	var run map[string]any
	r := s.call("alice", "POST", "/jobs/video/run", `{"input":{"prompt":"a cat"}}`)
	r.JSON(t, &run)
	id, _ := run["id"].(string)
	if r.Status != 200 || run["status"] != "IN_QUEUE" || id == "" {
		t.Fatalf("run = %d %s", r.Status, r.Body)
	}
	if got := s.sim.RequestsTo("POST", "/v2/"+endpointID+"/run"); len(got) != 1 {
		t.Fatalf("alias not mapped: %v", s.sim.Requests())
	}
	var st map[string]any
	s.call("alice", "GET", "/jobs/video/status/"+id, "").JSON(t, &st)
	if st["id"] != id || (st["status"] != "IN_QUEUE" && st["status"] != "IN_PROGRESS") {
		t.Fatalf("status = %v", st)
	}

	// The stream: the first event must arrive long before the job ends.
	start := time.Now()
	resp := s.gw.Do("GET", "/jobs/video/stream/"+id, nil, "Authorization", "Bearer "+token(t, "alice"), "Accept", "text/event-stream")
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream = %d %v", resp.StatusCode, resp.Header)
	}
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended before an event: %v", err)
		}
		if strings.HasPrefix(line, "data:") {
			break
		}
	}
	if took := time.Since(start); took > runTime*3/4 {
		t.Fatalf("first event after %v of a %v job: the stream was buffered", took, runTime)
	}
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), "chunk 3") || !strings.Contains(string(rest), "COMPLETED") {
		t.Fatalf("rest of stream: %s", rest)
	}
	s.call("alice", "GET", "/jobs/video/status/"+id, "").JSON(t, &st)
	if st["status"] != "COMPLETED" || st["output"] == nil {
		t.Fatalf("final status = %v", st)
	}
	if r := s.call("alice", "POST", "/jobs/unknown/run", `{"input":{}}`); r.Status != http.StatusNotFound {
		t.Fatalf("unknown alias = %d", r.Status)
	}
}

func TestReloadKeepsServing(t *testing.T) {
	t.Parallel()
	s := startStack(t, fastPods, nil)
	if r := s.call("alice", "POST", "/pods", createBody); r.Status != 200 {
		t.Fatalf("create = %d %s", r.Status, r.Body)
	}
	for range 2 {
		s.gw.Reload("caddyfiles/runpod.Caddyfile")
		var list []map[string]any
		r := s.call("alice", "GET", "/pods", "")
		r.JSON(t, &list)
		if r.Status != 200 || len(list) != 1 {
			t.Fatalf("after reload: %d %s", r.Status, r.Body)
		}
	}
}
