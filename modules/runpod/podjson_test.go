package runpod

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestAppendPresented(t *testing.T) {
	h := &Handler{}
	cases := []struct{ raw, want string }{
		{`{"id":"a","status":"RUNNING"}`, `{"id":"a","status":"RUNNING","desiredStatus":"RUNNING"}`},
		{` {"id":"a","status":"STARTING"}` + "\n", `{"id":"a","status":"STARTING","desiredStatus":"CREATED"}`},
		{`{}`, `{"desiredStatus":""}`},
		{`{"id":"a","status":"we\"ird"}`, `{"desiredStatus":"we\"ird","id":"a","status":"we\"ird"}`},
		{`{"id":"a","status":"ERROR","desiredStatus":"X"}`, `{"desiredStatus":"EXITED","id":"a","status":"ERROR"}`},
	}
	for _, c := range cases {
		f, _ := parsePod([]byte(c.raw))
		got := string(h.appendPresented(nil, []byte(c.raw), f, ""))
		if got != c.want || !json.Valid([]byte(got)) {
			t.Errorf("%s -> %s, want %s", c.raw, got, c.want)
		}
	}
	named := &Handler{OwnerTag: OwnerTagName, OwnerClaim: "sub"}
	raw := []byte(`{"id":"a","name":"alice/trainer","status":"EXITED"}`)
	f, _ := parsePod(raw)
	if got := string(named.appendPresented(nil, raw, f, "alice")); got != `{"desiredStatus":"EXITED","id":"a","name":"trainer","status":"EXITED"}` {
		t.Errorf("name tag: %s", got)
	}
}

// v2ListBody is a RunPod v2 list answer with n pods of realistic size.
func v2ListBody(n int, owner string) []byte {
	var pods []string
	for i := range n {
		pods = append(pods, fmt.Sprintf(`{"id":"pod%04d","name":"trainer-%d","status":"RUNNING","actions":["stop","restart","terminate"],`+
			`"image":"runpod/pytorch:2.4.0","args":"","disk":20,"mounts":{"persistent":{"size":50,"path":"/workspace"}},"ports":["8888/http"],`+
			`"env":{"GPUGATE_OWNER":%q,"HF_HOME":"/workspace"},"registry":null,"cloud":"SECURE","dataCenterId":"EU-RO-1","cudaVersion":"12.4",`+
			`"ssh":null,"template":null,"cost":0.69,"locked":false,"runtime":{"uptime":42,"cpu":{"util":0},"memory":{"util":0},`+
			`"gpus":[{"util":0,"memoryUtil":0}],"ports":[{"ip":"100.65.0.2","private":8888,"public":8888,"type":"http"}]},`+
			`"createdAt":"2026-11-22T10:00:00Z","startedAt":"2026-11-22T10:00:30Z","globalNetworking":{"enabled":false},`+
			`"gpu":{"id":"NVIDIA GeForce RTX 4090","count":1}}`, i, i, owner))
	}
	return []byte(`{"pods":[` + strings.Join(pods, ",") + `]}`)
}

func TestTranslateList(t *testing.T) {
	h := &Handler{OwnerClaim: "sub", OwnerTag: OwnerTagEnv}
	out, _, err := h.translateList(v2ListBody(3, "alice"), "alice")
	var pods []map[string]any
	if err != nil || json.Unmarshal(out, &pods) != nil || len(pods) != 3 || pods[2]["desiredStatus"] != "RUNNING" || pods[0]["gpu"] == nil {
		t.Fatalf("translateList = %s, %v", out, err)
	}
	if out, _, _ := h.translateList(v2ListBody(3, "alice"), "bob"); string(out) != "[]\n" {
		t.Fatalf("bob sees %s", out)
	}
}

func BenchmarkTranslateList(b *testing.B) {
	body := v2ListBody(20, "alice")
	h := &Handler{OwnerClaim: "sub", OwnerTag: OwnerTagEnv}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := h.translateList(body, "alice"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildCreate(b *testing.B) {
	h := &Handler{AllowImages: []string{"runpod/*"}, OwnerClaim: "sub", OwnerTag: OwnerTagEnv}
	body := []byte(`{"name":"trainer","image":"runpod/pytorch:2.4.0","gpu_type":"NVIDIA GeForce RTX 4090","env":{"A":"b"},"ports":["8888/http"]}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.buildCreate(body, "alice"); err != nil {
			b.Fatal(err)
		}
	}
}
