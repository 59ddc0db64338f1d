package runpod

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/simulators/runpodsim"
)

const createBody = `{"name":"e2e-trainer","image":"runpod/pytorch:2.4.0","gpu_type":"NVIDIA GeForce RTX 4090"}`

var fastPods = runpodsim.Options{ProvisionDelay: 150 * time.Millisecond, StartDelay: 150 * time.Millisecond}

// TestOldClientScriptFlow replays the old FastAPI test script: list,
// create, wait until RUNNING, stop, wait until EXITED, delete, gone, with a
// JWT on every call.
func TestOldClientScriptFlow(t *testing.T) {
	s := startStack(t, fastPods, nil)
	if r := s.call("alice", "GET", "/pods", ""); r.code != 200 || string(r.body) != "[]\n" {
		t.Fatalf("initial list = %d %s", r.code, r.body)
	}
	r := s.call("alice", "POST", "/pods", createBody)
	var created struct {
		Pod map[string]any `json:"pod"`
	}
	r.decode(t, &created)
	id, _ := created.Pod["id"].(string)
	if r.code != 200 || id == "" || created.Pod["status"] != "PROVISIONING" {
		t.Fatalf("create = %d %s", r.code, r.body)
	}
	running := s.waitDesired("alice", id, "RUNNING")
	if running["status"] != "RUNNING" || running["gpu"] == nil {
		t.Fatalf("running pod = %v", running)
	}
	if r := s.call("alice", "POST", "/pods/"+id+"/stop", ""); r.code != 200 {
		t.Fatalf("stop = %d %s", r.code, r.body)
	}
	s.waitDesired("alice", id, "EXITED")
	if r := s.call("alice", "DELETE", "/pods/"+id, ""); r.code != 204 {
		t.Fatalf("delete = %d %s", r.code, r.body)
	}
	if r := s.call("alice", "GET", "/pods/"+id, ""); r.code != 404 {
		t.Fatalf("get after delete = %d %s", r.code, r.body)
	}
	if r := s.call("alice", "GET", "/pods", ""); string(r.body) != "[]\n" {
		t.Fatalf("list after delete = %s", r.body)
	}
	// No token, no pods: jwt_auth answers before anything reaches RunPod.
	before := len(s.sim.Requests())
	if r := s.call("", "GET", "/pods", ""); r.code != 401 || r.message(t) != "Unauthorized" {
		t.Fatalf("no token = %d %s", r.code, r.body)
	}
	if len(s.sim.Requests()) != before {
		t.Fatal("an unauthenticated request reached RunPod")
	}
}

func TestClientCredentialsStripped(t *testing.T) {
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
	s := startStack(t, fastPods, nil)
	var alice, bob struct {
		Pod map[string]any `json:"pod"`
	}
	s.call("alice", "POST", "/pods", createBody).decode(t, &alice)
	s.call("bob", "POST", "/pods", createBody).decode(t, &bob)
	aliceID, bobID := alice.Pod["id"].(string), bob.Pod["id"].(string)
	for subject, want := range map[string]string{"alice": aliceID, "bob": bobID} {
		var list []map[string]any
		s.call(subject, "GET", "/pods", "").decode(t, &list)
		if len(list) != 1 || list[0]["id"] != want {
			t.Fatalf("%s sees %v, want only %s", subject, list, want)
		}
	}
	for _, c := range [][2]string{{"GET", "/pods/" + aliceID}, {"POST", "/pods/" + aliceID + "/stop"}, {"DELETE", "/pods/" + aliceID}} {
		if r := s.call("bob", c[0], c[1], ""); r.code != 404 {
			t.Errorf("bob %s %s = %d, want 404", c[0], c[1], r.code)
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
		if r.code != 400 || !strings.Contains(r.message(t), c.want) {
			t.Errorf("%s = %d %s, want 400 with %q", c.body, r.code, r.body, c.want)
		}
	}
	if n := len(s.sim.Requests()); n != 0 {
		t.Fatalf("invalid creates cost %d RunPod calls", n)
	}
	// RunPod's own verdict (a GPU type outside its catalog) keeps its 400.
	r := s.call("alice", "POST", "/pods", `{"name":"a","image":"runpod/x","gpu_type":"NVIDIA GTX 9000"}`)
	if r.code != 400 || !strings.Contains(r.message(t), `unknown GPU type "NVIDIA GTX 9000"`) {
		t.Fatalf("upstream 400 = %d %s", r.code, r.body)
	}
}

// TestUpstreamFailureMapping injects each fault until cleared: a GET on a
// reused connection that is reset is replayed once by Go's transport, so a
// one-shot reset would (rightly) succeed.
func TestUpstreamFailureMapping(t *testing.T) {
	s := startStack(t, fastPods, map[string]string{"RUNPOD_TIMEOUT": "1s"})
	cases := []struct {
		name       string
		fault      runpodsim.Fault
		code       int
		message    string
		retryAfter string
	}{
		{"429", runpodsim.Fault{Status: 429, RetryAfter: "30"}, 429, "Too Many Requests", "30"},
		{"500", runpodsim.Fault{Status: 500}, 502, "Bad Gateway", ""},
		{"reset", runpodsim.Fault{Reset: true}, 502, "Bad Gateway", ""},
		{"timeout", runpodsim.Fault{Latency: 3 * time.Second}, 504, "Endpoint request timed out", ""},
	}
	for _, c := range cases {
		for _, path := range []string{"/pods", "/runpod/v2/pods"} {
			s.sim.InjectFault(c.fault)
			r := s.call(admin, "GET", path, "")
			if r.code != c.code || r.message(t) != c.message || r.header.Get("Retry-After") != c.retryAfter {
				t.Errorf("%s on %s = %d %s Retry-After %q, want %d %q %q", c.name, path, r.code, r.body, r.header.Get("Retry-After"), c.code, c.message, c.retryAfter)
			}
			s.sim.ClearFaults()
		}
	}
	if r := s.call("alice", "GET", "/pods", ""); r.code != 200 {
		t.Fatalf("after faults = %d", r.code)
	}
}

func TestUnreachableRunPod(t *testing.T) {
	s := startStack(t, fastPods, nil)
	s.sim.Close()
	for _, path := range []string{"/pods", "/runpod/v2/pods", "/jobs/video/health"} {
		if r := s.call(admin, "GET", path, ""); r.code != 502 || r.message(t) != "Bad Gateway" {
			t.Errorf("GET %s with RunPod down = %d %s", path, r.code, r.body)
		}
	}
}

func TestServerlessRunStatusStream(t *testing.T) {
	const runTime = 1500 * time.Millisecond
	s := startStack(t, runpodsim.Options{QueueDelay: 50 * time.Millisecond, RunDelay: runTime, StreamChunks: 3}, nil)
	var run map[string]any
	r := s.call("alice", "POST", "/jobs/video/run", `{"input":{"prompt":"a cat"}}`)
	r.decode(t, &run)
	id, _ := run["id"].(string)
	if r.code != 200 || run["status"] != "IN_QUEUE" || id == "" {
		t.Fatalf("run = %d %s", r.code, r.body)
	}
	if got := s.sim.RequestsTo("POST", "/v2/"+endpointID+"/run"); len(got) != 1 {
		t.Fatalf("alias not mapped: %v", s.sim.Requests())
	}
	var st map[string]any
	s.call("alice", "GET", "/jobs/video/status/"+id, "").decode(t, &st)
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
	s.call("alice", "GET", "/jobs/video/status/"+id, "").decode(t, &st)
	if st["status"] != "COMPLETED" || st["output"] == nil {
		t.Fatalf("final status = %v", st)
	}
	if r := s.call("alice", "POST", "/jobs/unknown/run", `{"input":{}}`); r.code != http.StatusNotFound {
		t.Fatalf("unknown alias = %d", r.code)
	}
}

func TestReloadKeepsServing(t *testing.T) {
	s := startStack(t, fastPods, nil)
	if r := s.call("alice", "POST", "/pods", createBody); r.code != 200 {
		t.Fatalf("create = %d %s", r.code, r.body)
	}
	for range 2 {
		s.gw.Reload("caddyfiles/runpod.Caddyfile")
		var list []map[string]any
		r := s.call("alice", "GET", "/pods", "")
		r.decode(t, &list)
		if r.code != 200 || len(list) != 1 {
			t.Fatalf("after reload: %d %s", r.code, r.body)
		}
	}
}
