package runpod

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/simulators/runpodsim"
	"github.com/gpugate/gpugate/tests/testkit"
)

// adminJSON sends one request to a gateway's admin endpoint and decodes
// the JSON answer into v.
func adminJSON(t *testing.T, gw *testkit.Gateway, method, path, body string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+gw.AdminAddr+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil && json.Unmarshal(b, v) != nil {
		t.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode
}

// meteredToken creates a key of the gpu plan and returns its id and a JWT
// for subject carrying it in plan_key (runpod.Caddyfile with
// RUNPOD_METERING=on).
func meteredToken(t *testing.T, gw *testkit.Gateway, subject string) (string, string) {
	t.Helper()
	var k struct{ ID, Value string }
	if code := adminJSON(t, gw, "POST", "/usage-plans/keys", `{"name":"`+subject+`","plans":["gpu"]}`, &k); code != 201 || k.Value == "" {
		t.Fatalf("create key = %d %+v", code, k)
	}
	claims := testkit.StandardClaims(subject, jwtIssuer, jwtAudience)
	claims["plan_key"] = k.Value
	return k.ID, testkit.SignHS256(t, jwtSecret, claims)
}

func callAs(t *testing.T, gw *testkit.Gateway, tok, method, path, body string) testkit.Reply {
	t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	return gw.Call(method, path, b, "Authorization", "Bearer "+tok, "Content-Type", "application/json")
}

// TestGPUTimeChargedOnceAcrossInstances runs two gateways on one Redis
// with metering on: a job's executionTime is charged once however often,
// and through whichever instance, its status is polled; the daily budget
// of GPU-seconds then refuses new jobs with 429 "Limit Exceeded",
// Retry-After at the window's end and a RateLimit item, and admits again
// in the next window (the window moved by the budget's offset: no waiting
// for midnight).
func TestGPUTimeChargedOnceAcrossInstances(t *testing.T) {
	t.Parallel()
	r := testkit.StartRedis(t, testkit.RedisOptions{})
	sim := runpodsim.Start(t, runpodsim.Options{APIKey: runpodKey, Endpoints: []string{endpointID}, RunDelay: 1500 * time.Millisecond})
	env := map[string]string{"GPUGATE_USAGE_STORE": r.URL(0), "RUNPOD_METERING": "on", "RUNPOD_GPU_SECONDS_PER_DAY": "2"}
	gws := []*testkit.Gateway{startGateway(t, sim, env), startGateway(t, sim, env)}
	keyID, tok := meteredToken(t, gws[0], "alice")
	_, bobTok := meteredToken(t, gws[1], "bob")

	runJob := func(gw *testkit.Gateway) string {
		t.Helper()
		res := callAs(t, gw, tok, "POST", "/jobs/video/run", `{"input":{"prompt":"x"}}`)
		res.Want(t, 200, `"IN_QUEUE"`)
		id, _ := res.Object(t)["id"].(string)
		if !strings.Contains(res.Header.Get("Ratelimit"), `"budget_gpu_seconds";r=`) {
			t.Fatalf("run: RateLimit %q", res.Header.Get("Ratelimit"))
		}
		return id
	}
	// Polls alternate between the instances until the job completes, then
	// go on: every poll reads the same executionTime (1500 ms).
	pollDone := func(id string) {
		t.Helper()
		done := 0
		for i := 0; done < 6; i++ {
			res := callAs(t, gws[i%2], tok, "GET", "/jobs/video/status/"+id, "")
			res.Want(t, 200)
			if res.Object(t)["status"] == "COMPLETED" {
				done++
			} else {
				time.Sleep(50 * time.Millisecond)
			}
			if i > 400 {
				t.Fatalf("job %s never completed", id)
			}
		}
	}
	first := runJob(gws[0])
	// The job belongs to alice on both instances: bob gets 404.
	callAs(t, gws[1], bobTok, "GET", "/jobs/video/status/"+first, "").Want(t, 404, `{"message":"Not Found"}`)
	pollDone(first)

	var usage struct {
		Meters map[string]map[string][][2]float64 `json:"meters"`
	}
	adminJSON(t, gws[1], "GET", "/usage-plans/usage?plan=gpu&key="+keyID, "", &usage)
	days := usage.Meters["gpu_seconds"][keyID]
	if len(days) == 0 || days[len(days)-1][0] != 1.5 || days[len(days)-1][1] != 0.5 {
		t.Fatalf("GPU-seconds after six polls on two instances: %v, want [1.5 0.5] today", days)
	}
	var charged float64
	for _, gw := range gws {
		charged += gw.ScrapeMetrics().Sum("gpugate_usage_plan_metered_units_total", `plan="gpu"`, `meter="gpu_seconds"`)
	}
	if charged != 1.5 {
		t.Fatalf("gpugate_usage_plan_metered_units_total across the instances = %v, want 1.5", charged)
	}
	if logs := gws[0].Logs() + gws[1].Logs(); strings.Count(logs, `"metered_gpu_seconds":"1.5"`) != 1 {
		t.Fatalf("want exactly one access log line with metered_gpu_seconds 1.5")
	}

	// A second job fits the remaining 0.5 s at admission and overshoots it.
	pollDone(runJob(gws[1]))
	res := callAs(t, gws[0], tok, "POST", "/jobs/video/run", `{"input":{"prompt":"x"}}`)
	now := time.Now().UTC()
	toMidnight := int(now.Truncate(24*time.Hour).Add(24*time.Hour).Sub(now) / time.Second)
	res.Want(t, 429, `{"message":"Limit Exceeded"}`)
	ra, _ := strconv.Atoi(res.Header.Get("Retry-After"))
	if ra < toMidnight-5 || ra > toMidnight+5 {
		t.Fatalf("Retry-After %d, want about %d (the UTC day's end)", ra, toMidnight)
	}
	if got := res.Header.Get("Ratelimit"); !strings.HasPrefix(got, `"budget_gpu_seconds";r=0;t=`) {
		t.Fatalf("RateLimit %q", got)
	}
	if n := len(sim.RequestsTo("POST", "/v2/"+endpointID+"/run")); n != 2 {
		t.Fatalf("%d runs reached RunPod, want 2 (the refused one never does)", n)
	}

	// The next window: instances whose budget day starts a minute ago
	// (RUNPOD_BUDGET_DAY_STARTS) admit the same key again, on the same Redis.
	for _, gw := range gws {
		gw.Stop()
	}
	sinceMidnight := now.Sub(now.Truncate(24 * time.Hour))
	offset := sinceMidnight - time.Minute
	if sinceMidnight < 2*time.Minute {
		offset = 24*time.Hour - time.Minute
	}
	env["RUNPOD_BUDGET_DAY_STARTS"] = fmt.Sprintf("%ds", int(offset/time.Second))
	next := startGateway(t, sim, env)
	callAs(t, next, tok, "POST", "/jobs/video/run", `{"input":{"prompt":"x"}}`).Want(t, 200, `"IN_QUEUE"`)
}

// TestPodCapAcrossInstances: max_pods counts alice's pods on every
// instance; the third create is refused with 403 naming the cap, bob is
// not affected, and terminating a pod frees its slot.
func TestPodCapAcrossInstances(t *testing.T) {
	t.Parallel()
	r := testkit.StartRedis(t, testkit.RedisOptions{})
	sim := runpodsim.Start(t, runpodsim.Options{APIKey: runpodKey, Endpoints: []string{endpointID},
		ProvisionDelay: 50 * time.Millisecond, StartDelay: 50 * time.Millisecond})
	env := map[string]string{"GPUGATE_USAGE_STORE": r.URL(0), "RUNPOD_MAX_PODS": "2", "RUNPOD_MAX_GPUS": "3"}
	gws := []*testkit.Gateway{startGateway(t, sim, env), startGateway(t, sim, env)}
	alice, bob := token(t, "alice"), token(t, "bob")
	create := func(gw *testkit.Gateway, tok string, gpus int) testkit.Reply {
		return callAs(t, gw, tok, "POST", "/pods",
			fmt.Sprintf(`{"name":"p","image":"runpod/pytorch:2.4.0","gpu_type":"NVIDIA GeForce RTX 4090","gpu_count":%d}`, gpus))
	}
	podID := func(res testkit.Reply) string {
		var p struct{ Pod struct{ ID string } }
		res.JSON(t, &p)
		return p.Pod.ID
	}
	res := create(gws[0], alice, 1)
	res.Want(t, 200)
	first := podID(res)
	create(gws[1], alice, 4).Want(t, 403, "max_gpus") // 5 GPUs of 3
	create(gws[1], alice, 2).Want(t, 200)
	before := len(sim.RequestsTo("POST", "/v2/pods"))
	res = create(gws[0], alice, 1)
	res.Want(t, 403, "max_pods", "at most 2 pods at once per user")
	if n := len(sim.RequestsTo("POST", "/v2/pods")); n != before {
		t.Fatal("a create past the cap reached RunPod")
	}
	create(gws[0], bob, 1).Want(t, 200) // caps are per owner
	callAs(t, gws[1], alice, "DELETE", "/pods/"+first, "").Want(t, 204)
	create(gws[0], alice, 1).Want(t, 200)
}

// TestNoOracle: another user's pod and a pod that does not exist answer
// the same status, body and headers; so do another subject's job and a job
// that does not exist, on every job route.
func TestNoOracle(t *testing.T) {
	t.Parallel()
	s := startStack(t, fastPods, nil)
	var created struct{ Pod struct{ ID string } }
	s.call("alice", "POST", "/pods", createBody).JSON(t, &created)
	job := s.call("alice", "POST", "/jobs/video/run", `{"input":{}}`).Object(t)["id"].(string)
	same := func(a, b testkit.Reply, what string) {
		t.Helper()
		if a.Status != b.Status || !bytes.Equal(a.Body, b.Body) {
			t.Errorf("%s: %d %s vs %d %s", what, a.Status, a.Body, b.Status, b.Body)
		}
		for _, h := range []http.Header{a.Header, b.Header} {
			h.Del("Date")
			h.Del("X-Request-Id") // one per request
		}
		if fmt.Sprint(a.Header) != fmt.Sprint(b.Header) {
			t.Errorf("%s: headers differ:\n%v\n%v", what, a.Header, b.Header)
		}
	}
	for _, route := range []struct{ method, path string }{{"GET", "/pods/"}, {"POST", "/pods/%s/stop"}, {"DELETE", "/pods/"}} {
		path := func(id string) string {
			if strings.Contains(route.path, "%s") {
				return fmt.Sprintf(route.path, id)
			}
			return route.path + id
		}
		others := s.call("bob", route.method, path(created.Pod.ID), "")
		missing := s.call("bob", route.method, path("nosuchpod0001"), "")
		same(others, missing, route.method+" "+route.path)
		others.Want(t, 404, `{"message":"Not Found"}`)
	}
	for _, op := range []struct{ method, name string }{{"GET", "status"}, {"GET", "status-sync"}, {"GET", "stream"}, {"POST", "cancel"}, {"POST", "retry"}} {
		others := s.call("bob", op.method, "/jobs/video/"+op.name+"/"+job, "")
		missing := s.call("bob", op.method, "/jobs/video/"+op.name+"/nosuchjob-u1", "")
		same(others, missing, op.name)
		others.Want(t, 404, `{"message":"Not Found"}`)
	}
	if n := len(s.sim.RequestsTo("", "/v2/"+endpointID+"/cancel/")); n != 0 {
		t.Fatalf("bob's cancel reached RunPod %d times", n)
	}
	// Alice and the admin scope reach the job.
	s.call("alice", "GET", "/jobs/video/status/"+job, "").Want(t, 200, job)
	s.call(admin, "GET", "/jobs/video/status/"+job, "").Want(t, 200, job)
}
