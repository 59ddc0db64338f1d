package runpod

import (
	"encoding/json"
	"strings"
	"testing"
)

const createBody = `{"name":"trainer","image":"runpod/pytorch:2.4.0","gpu_type":"NVIDIA GeForce RTX 4090"}`

func TestPodsLifecycleTranslatedToV2(t *testing.T) {
	sim := startSim(t)
	h := provision(t, &Handler{Mode: ModePods}, sim)

	res := serve(t, h, "", "POST", "/pods", createBody)
	if res.Code != 200 {
		t.Fatalf("create = %d %s", res.Code, res.Body)
	}
	var created struct {
		Pod map[string]any `json:"pod"`
	}
	res.json(t, &created)
	id, _ := created.Pod["id"].(string)
	if id == "" || created.Pod["status"] != "PROVISIONING" || created.Pod["desiredStatus"] != "CREATED" {
		t.Fatalf("created pod = %v", created.Pod)
	}
	// The v2 body: gpu_type -> gpu.id with count 1, image kept.
	posts := sim.RequestsTo("POST", "/v2/pods")
	var sent map[string]any
	_ = json.Unmarshal(posts[0].Body, &sent)
	if gpu, _ := sent["gpu"].(map[string]any); gpu["id"] != "NVIDIA GeForce RTX 4090" || gpu["count"] != 1.0 || sent["image"] != "runpod/pytorch:2.4.0" {
		t.Fatalf("v2 create body = %s", posts[0].Body)
	}

	running := waitStatus(t, h, "", id, "RUNNING")
	if running["status"] != "RUNNING" || running["runtime"] == nil || running["gpu"] == nil {
		t.Fatalf("running pod keeps v2 fields: %v", running)
	}
	var list []map[string]any
	serve(t, h, "", "GET", "/pods", "").json(t, &list)
	if len(list) != 1 || list[0]["id"] != id || list[0]["desiredStatus"] != "RUNNING" {
		t.Fatalf("list = %v", list)
	}

	res = serve(t, h, "", "POST", "/pods/"+id+"/stop", "")
	var stopped struct {
		Pod map[string]any `json:"pod"`
	}
	res.json(t, &stopped)
	if res.Code != 200 || stopped.Pod["status"] != "EXITED" || stopped.Pod["desiredStatus"] != "EXITED" {
		t.Fatalf("stop = %d %s", res.Code, res.Body)
	}
	if acts := sim.RequestsTo("POST", "/v2/pods/"+id+"/action"); len(acts) != 1 || string(acts[0].Body) != `{"action":"stop"}` {
		t.Fatalf("stop reached RunPod as %v", acts)
	}
	if res := serve(t, h, "", "POST", "/pods/"+id+"/stop", ""); res.Code != 409 || !strings.Contains(res.message(t), "not allowed") {
		t.Fatalf("second stop = %d %s, want 409 with RunPod's reason", res.Code, res.Body)
	}
	if res := serve(t, h, "", "DELETE", "/pods/"+id, ""); res.Code != 204 || res.Body != "" {
		t.Fatalf("delete = %d %q", res.Code, res.Body)
	}
	// A missing pod answers like another user's: the gateway's 404, not RunPod's detail.
	if res := serve(t, h, "", "GET", "/pods/"+id, ""); res.Code != 404 || res.message(t) != "Not Found" {
		t.Fatalf("get after delete = %d %s", res.Code, res.Body)
	}
	if got := serve(t, h, "", "GET", "/pods", ""); got.Body != "[]\n" {
		t.Fatalf("list after delete = %s", got.Body)
	}
}

func TestPodsRoutingRejectsWithoutUpstreamCall(t *testing.T) {
	sim := startSim(t)
	h := provision(t, &Handler{Mode: ModePods}, sim)
	cases := []struct {
		method, path string
		code         int
		allow        string
	}{
		{"GET", "/nodes", 404, ""},
		{"GET", "/pods/a/b/c", 404, ""},
		{"POST", "/pods/abc/explode", 404, ""},
		{"GET", "/pods/..%2F..%2Fcatalog", 404, ""},
		{"PUT", "/pods", 405, "GET, POST"},
		{"PATCH", "/pods/abc", 405, "GET, DELETE"},
		{"GET", "/pods/abc/stop", 405, "POST"},
	}
	for _, c := range cases {
		res := serve(t, h, "", c.method, c.path, "")
		if res.Code != c.code || res.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s = %d Allow %q, want %d %q", c.method, c.path, res.Code, res.Header.Get("Allow"), c.code, c.allow)
		}
	}
	if n := len(sim.Requests()); n != 0 {
		t.Fatalf("%d requests reached RunPod, want 0", n)
	}
}

func TestCreateValidation(t *testing.T) {
	sim := startSim(t)
	h := provision(t, &Handler{Mode: ModePods, AllowImages: []string{"runpod/*"},
		AllowGPUTypes: []string{"NVIDIA GeForce RTX 4090"}}, sim)
	cases := []struct{ body, want string }{
		{`not json`, "must be a JSON object"},
		{`[1]`, "must be a JSON object"},
		{`{"image":"runpod/x","gpu_type":"NVIDIA GeForce RTX 4090"}`, `field "name" is required`},
		{`{"name":"a","gpu_type":"NVIDIA GeForce RTX 4090"}`, `field "image" is required`},
		{`{"name":"a","image":"runpod/x"}`, `field "gpu_type" is required`},
		{`{"name":"a","image":"runpod/x","gpu_type":"NVIDIA GeForce RTX 4090","imageName":"x"}`, `unknown field "imageName"`},
		{`{"name":"a","image":"runpod/x","gpu_type":"NVIDIA GeForce RTX 4090","gpu_count":0}`, `field "gpu_count" must be between 1 and 8`},
		{`{"name":"a","image":"runpod/x","gpu_type":"NVIDIA GeForce RTX 4090","gpu_count":"2"}`, `field "gpu_count" must be an integer`},
		{`{"name":"a","image":"runpod/x","gpu_type":"NVIDIA GeForce RTX 4090","cloud":"cheap"}`, `field "cloud"`},
		{`{"name":"a","image":"runpod/x","gpu_type":"NVIDIA GeForce RTX 4090","ports":["80/udp"]}`, `field "ports"`},
		{`{"name":"a","image":"runpod/x","gpu_type":"NVIDIA GeForce RTX 4090","env":{"1BAD":"x"}}`, `field "env"`},
		{`{"name":"a","image":"runpod/x","gpu_type":"NVIDIA GeForce RTX 4090","env":{"A":1}}`, `field "env" must be an object of string values`},
		{`{"name":"a","image":"evil/miner","gpu_type":"NVIDIA GeForce RTX 4090"}`, `field "image": "evil/miner" is not allowed`},
		{`{"name":"a","image":"runpod/x","gpu_type":"NVIDIA H100 80GB HBM3"}`, `field "gpu_type": "NVIDIA H100 80GB HBM3" is not allowed`},
	}
	for _, c := range cases {
		res := serve(t, h, "", "POST", "/pods", c.body)
		if res.Code != 400 || !strings.Contains(res.message(t), c.want) {
			t.Errorf("body %s: %d %s, want 400 containing %q", c.body, res.Code, res.Body, c.want)
		}
	}
	if n := len(sim.Requests()); n != 0 {
		t.Fatalf("invalid bodies cost %d upstream calls, want 0", n)
	}
	big := `{"name":"` + strings.Repeat("a", maxCreateBody) + `"}`
	if res := serve(t, h, "", "POST", "/pods", big); res.Code != 413 {
		t.Fatalf("oversized body = %d", res.Code)
	}
}

func TestCreateDefaultsAndOptionalFields(t *testing.T) {
	sim := startSim(t)
	h := provision(t, &Handler{Mode: ModePods, Defaults: &CreateDefaults{Image: "runpod/base:1", GPUType: "NVIDIA RTX A6000",
		GPUCount: 2, Cloud: "COMMUNITY", Disk: 50}}, sim)
	res := serve(t, h, "", "POST", "/pods", `{"name":"d","env":{"HF_TOKEN":"x"},"ports":["8888/http","22/tcp"],"dataCenterIds":["EU-RO-1"],"disk":80}`)
	if res.Code != 200 {
		t.Fatalf("create = %d %s", res.Code, res.Body)
	}
	var sent map[string]any
	_ = json.Unmarshal(sim.RequestsTo("POST", "/v2/pods")[0].Body, &sent)
	want := `{"cloud":"COMMUNITY","dataCenterIds":["EU-RO-1"],"disk":80,"env":{"HF_TOKEN":"x"},"gpu":{"count":2,"id":"NVIDIA RTX A6000"},"image":"runpod/base:1","name":"d","ports":["8888/http","22/tcp"]}`
	if got, _ := json.Marshal(sent); string(got) != want {
		t.Fatalf("v2 body\n got %s\nwant %s", got, want)
	}
}
