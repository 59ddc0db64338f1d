package runpodsim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// call sends one request with the bearer key and decodes a JSON answer.
func call(t *testing.T, sim *Sim, key, method, path, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, sim.URL+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var v map[string]any
	_ = json.Unmarshal(raw, &v)
	return resp.StatusCode, resp.Header, v
}

func TestPodLifecycle(t *testing.T) {
	sim := Start(t, Options{APIKey: "k", ProvisionDelay: 30 * time.Millisecond, StartDelay: 30 * time.Millisecond})
	code, _, pod := call(t, sim, "k", "POST", "/v2/pods", `{"name":"a","image":"img","gpu":{"id":"NVIDIA GeForce RTX 4090"}}`)
	if code != 201 || pod["status"] != Provisioning {
		t.Fatalf("create = %d %v", code, pod)
	}
	id := pod["id"].(string)
	if code, _, _ := call(t, sim, "k", "POST", "/v2/pods/"+id+"/action", `{"action":"start"}`); code != 409 {
		t.Fatalf("start while provisioning = %d, want 409", code)
	}
	time.Sleep(80 * time.Millisecond)
	if _, _, got := call(t, sim, "k", "GET", "/v2/pods/"+id, ""); got["status"] != Running || got["runtime"] == nil {
		t.Fatalf("after delays: %v", got)
	}
	if code, _, got := call(t, sim, "k", "POST", "/v2/pods/"+id+"/action", `{"action":"stop"}`); code != 200 || got["status"] != Exited {
		t.Fatalf("stop = %d %v", code, got)
	}
	if code, _, _ := call(t, sim, "k", "DELETE", "/v2/pods/"+id, ""); code != 204 {
		t.Fatalf("delete = %d", code)
	}
	if _, _, list := call(t, sim, "k", "GET", "/v2/pods", ""); len(list["pods"].([]any)) != 0 {
		t.Fatalf("list after delete: %v", list)
	}
}

// TestPodShape checks the v2 Pod fields the old simulator got wrong: every
// catalog GPU id is accepted, mounts and globalNetworking are objects, and a
// running pod reports runtime.uptime.
func TestPodShape(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	sim := Start(t, Options{APIKey: "k", ProvisionDelay: time.Second, StartDelay: time.Second, NoCapacity: []string{"NVIDIA B200"},
		Now: func() time.Time { return now }})
	code, _, pod := call(t, sim, "k", "POST", "/v2/pods", `{"name":"old-script","image":"runpod/pytorch:2.4.0","gpu":{"id":"NVIDIA GeForce RTX 3070"},`+
		`"ports":["8888/http","22/tcp"],"mounts":{"persistent":{"size":50,"path":"/workspace"}},"globalNetworking":{"enabled":true}}`)
	if code != 201 {
		t.Fatalf("create with RTX 3070 = %d %v", code, pod)
	}
	id := pod["id"].(string)
	if m := pod["mounts"].(map[string]any); m["persistent"].(map[string]any)["size"] != 50.0 {
		t.Errorf("mounts = %v", pod["mounts"])
	}
	if gn := pod["globalNetworking"].(map[string]any); gn["enabled"] != true || gn["internalDns"] != id+".runpod.internal" {
		t.Errorf("globalNetworking = %v", pod["globalNetworking"])
	}
	if pod["runtime"] != nil {
		t.Errorf("runtime while PROVISIONING = %v, want null", pod["runtime"])
	}
	now = now.Add(2*time.Second + 42*time.Second)
	_, _, running := call(t, sim, "k", "GET", "/v2/pods/"+id, "")
	rt, _ := running["runtime"].(map[string]any)
	if running["status"] != Running || rt["uptime"] != 42.0 || len(rt["gpus"].([]any)) != 1 || len(rt["ports"].([]any)) != 2 {
		t.Fatalf("running pod = %v", running)
	}
	_, _, plain := call(t, sim, "k", "POST", "/v2/pods", `{"name":"p","image":"i","gpu":{"id":"NVIDIA RTX A4000","count":2},"globalNetworking":false}`)
	if m, gn := plain["mounts"].(map[string]any), plain["globalNetworking"].(map[string]any); len(m) != 0 || gn["enabled"] != false || plain["cost"] != 0.5 {
		t.Errorf("pod without volumes = %v", plain)
	}

	var catalog []GPUType
	req, _ := http.NewRequest("GET", sim.URL+"/v2/catalog/gpus", nil)
	req.Header.Set("Authorization", "Bearer k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&catalog)
	resp.Body.Close()
	if len(catalog) < 30 {
		t.Fatalf("catalog has %d GPU types", len(catalog))
	}
	for _, g := range catalog {
		body := `{"name":"n","image":"i","gpu":{"id":"` + g.ID + `"}}`
		if code, _, got := call(t, sim, "k", "POST", "/v2/pods", body); code != 201 && g.ID != "NVIDIA B200" {
			t.Errorf("create with catalog id %q = %d %v", g.ID, code, got)
		}
	}
	for body, want := range map[string]string{
		`{"name":"n","image":"i","gpu":{"id":"NVIDIA GeForce GTX 1080"}}`:                                  `unknown GPU type \"NVIDIA GeForce GTX 1080\"`,
		`{"name":"n","image":"i","gpu":{"id":"NVIDIA B200"}}`:                                              `no capacity for GPU type \"NVIDIA B200\"`,
		`{"name":"n","image":"i","gpu":{"id":"NVIDIA L4"},"mounts":[]}`:                                    "cannot unmarshal array",
		`{"name":"n","image":"i","gpu":{"id":"NVIDIA L4"},"mounts":{"persistent":{"size":0,"path":"/w"}}}`: "mounts.persistent",
		`{"name":"n","image":"i","gpu":{"id":"NVIDIA L4"},"globalNetworking":"yes"}`:                       "globalNetworking",
	} {
		code, _, p := call(t, sim, "k", "POST", "/v2/pods", body)
		if got, _ := json.Marshal(p); code/100 != 4 || !strings.Contains(string(got), want) {
			t.Errorf("%s = %d %s, want 4xx with %s", body, code, got, want)
		}
	}
}

func TestErrorsAuthAndRateLimit(t *testing.T) {
	sim := Start(t, Options{APIKey: "k", RateLimitPerMinute: 3})
	if code, h, _ := call(t, sim, "wrong", "GET", "/v2/pods", ""); code != 401 || h.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("wrong key = %d %v", code, h)
	}
	code, _, p := call(t, sim, "k", "POST", "/v2/pods", `{"name":"a","imageName":"x","gpuTypeIds":["y"]}`)
	if code != 422 || !strings.Contains(p["errors"].([]any)[0].(string), "imageName") {
		t.Fatalf("v1 fields = %d %v", code, p)
	}
	_, h, _ := call(t, sim, "k", "GET", "/v2/pods", "")
	if h.Get("RateLimit-Policy") != `"minute";q=3;w=60` || !strings.HasPrefix(h.Get("RateLimit"), `"minute";r=1;`) {
		t.Fatalf("rate headers %v", h)
	}
	call(t, sim, "k", "GET", "/v2/pods", "")
	if code, h, _ := call(t, sim, "k", "GET", "/v2/pods", ""); code != 429 || h.Get("Retry-After") == "" {
		t.Fatalf("over limit = %d %v", code, h)
	}
	if n := len(sim.Requests()); n != 5 {
		t.Fatalf("recorded %d requests, want 5", n)
	}
}

func TestServerlessJob(t *testing.T) {
	sim := Start(t, Options{APIKey: "k", Endpoints: []string{"ep1"}, QueueDelay: 10 * time.Millisecond, RunDelay: 30 * time.Millisecond})
	code, _, run := call(t, sim, "k", "POST", "/v2/ep1/run", `{"input":{"prompt":"hi"}}`)
	if code != 200 || run["status"] != InQueue {
		t.Fatalf("run = %d %v", code, run)
	}
	_, _, sync := call(t, sim, "k", "POST", "/v2/ep1/runsync?wait=5000", `{"input":{"n":1}}`)
	if sync["status"] != Completed || sync["output"] == nil {
		t.Fatalf("runsync = %v", sync)
	}
	_, _, st := call(t, sim, "k", "GET", "/v2/ep1/status/"+run["id"].(string), "")
	if st["status"] != Completed {
		t.Fatalf("status = %v", st)
	}
	if code, _, _ := call(t, sim, "k", "GET", "/v2/nope/health", ""); code != 404 {
		t.Fatalf("unknown endpoint = %d", code)
	}
}

func TestFaults(t *testing.T) {
	sim := Start(t, Options{APIKey: "k"})
	sim.InjectFault(Fault{PathPrefix: "/v2/pods", Status: 503, Times: 1})
	if code, h, _ := call(t, sim, "k", "GET", "/v2/pods", ""); code != 503 || h.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("injected 503 = %d", code)
	}
	if code, _, _ := call(t, sim, "k", "GET", "/v2/pods", ""); code != 200 {
		t.Fatalf("fault with Times 1 hit twice: %d", code)
	}
	sim.InjectFault(Fault{Reset: true})
	req, _ := http.NewRequest("GET", sim.URL+"/v2/pods", nil)
	if resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("reset fault: want a connection error")
	}
	sim.ClearFaults()
	sim.InjectFault(Fault{Latency: 100 * time.Millisecond, Times: 1})
	start := time.Now()
	if code, _, _ := call(t, sim, "k", "GET", "/v2/pods", ""); code != 200 || time.Since(start) < 100*time.Millisecond {
		t.Fatalf("latency fault: %d after %v", code, time.Since(start))
	}
}

func TestServerlessStreamAndRetry(t *testing.T) {
	sim := Start(t, Options{APIKey: "k", Endpoints: []string{"ep1"}, RunDelay: 60 * time.Millisecond, StreamChunks: 3})
	_, _, run := call(t, sim, "k", "POST", "/v2/ep1/run", `{"input":{"fail":true}}`)
	id := run["id"].(string)
	req, _ := http.NewRequest("GET", sim.URL+"/v2/ep1/stream/"+id, nil)
	req.Header.Set("Authorization", "Bearer k")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Count(string(body), "data: {\"output\"") != 3 || !strings.Contains(string(body), `"status":"FAILED"`) {
		t.Fatalf("SSE stream = %s", body)
	}
	if code, _, got := call(t, sim, "k", "POST", "/v2/ep1/retry/"+id, ""); code != 200 || got["status"] != InQueue {
		t.Fatalf("retry of FAILED = %d %v", code, got)
	}
	_, _, health := call(t, sim, "k", "GET", "/v2/ep1/health", "")
	if jobs := health["jobs"].(map[string]any); jobs["retried"] != 1.0 {
		t.Fatalf("health = %v", health)
	}
	if code, _, _ := call(t, sim, "k", "GET", "/v2/ep1/run", ""); code != 405 {
		t.Fatalf("GET run = %d, want 405", code)
	}
}

func TestRecorderIsBounded(t *testing.T) {
	sim := Start(t, Options{APIKey: "k", RecordLimit: 3, RecordBodyLimit: 8})
	for i := range 5 {
		call(t, sim, "k", "POST", "/v2/pods/p"+string(rune('0'+i))+"/action", strings.Repeat("x", 100))
	}
	reqs := sim.Requests()
	if len(reqs) != 3 || reqs[0].Path != "/v2/pods/p2/action" || reqs[2].Path != "/v2/pods/p4/action" {
		t.Fatalf("kept %d requests: %+v", len(reqs), reqs)
	}
	for _, r := range reqs {
		if string(r.Body) != "xxxxxxxx" || !r.BodyTruncated || cap(r.Body) > 64 {
			t.Fatalf("body %q (cap %d) truncated=%v", r.Body, cap(r.Body), r.BodyTruncated)
		}
	}
	if d := sim.DroppedRequests(); d != 2 {
		t.Fatalf("dropped %d, want 2", d)
	}
	call(t, sim, "k", "GET", "/v2/pods", "")
	if r := sim.Requests(); len(r) != 3 || r[2].Path != "/v2/pods" || r[2].BodyTruncated {
		t.Fatalf("after wrap: %+v", r)
	}
	sim.ResetRequests()
	if len(sim.Requests()) != 0 || sim.DroppedRequests() != 0 {
		t.Fatal("reset kept requests")
	}

	none := Start(t, Options{APIKey: "k", RecordLimit: -1})
	call(t, none, "k", "GET", "/v2/pods", "")
	if len(none.Requests()) != 0 || none.DroppedRequests() != 1 {
		t.Fatal("RecordLimit -1 recorded a request")
	}
	if d := New(Options{}).requests; d.limit != DefaultRecordLimit || d.bodyLimit != DefaultRecordBodyLimit {
		t.Fatalf("defaults %d %d", d.limit, d.bodyLimit)
	}
}
