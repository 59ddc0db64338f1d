package runpod

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/gpugate/gpugate/modules/simulators/runpodsim"
)

func TestUpstreamFailuresMapToGatewayErrors(t *testing.T) {
	cases := []struct {
		name       string
		fault      runpodsim.Fault
		code       int
		message    string
		retryAfter string
	}{
		{"429 keeps Retry-After", runpodsim.Fault{Status: 429, RetryAfter: "7"}, 429, "Too Many Requests", "7"},
		{"500 is a bad gateway", runpodsim.Fault{Status: 500}, 502, "Bad Gateway", ""},
		{"503 is a bad gateway", runpodsim.Fault{Status: 503}, 502, "Bad Gateway", ""},
		{"reset is a bad gateway", runpodsim.Fault{Reset: true}, 502, "Bad Gateway", ""},
		{"slow is a timeout", runpodsim.Fault{Latency: 2 * time.Second}, 504, "Endpoint request timed out", ""},
		{"401 refuses the gateway's key", runpodsim.Fault{Status: 401}, 502, "RunPod refused the gateway's request (401 Unauthorized)", ""},
		{"402 refuses the account", runpodsim.Fault{Status: 402}, 502, "RunPod refused the gateway's request (402 Payment Required)", ""},
		{"403 refuses the key's scope", runpodsim.Fault{Status: 403}, 502, "RunPod refused the gateway's request (403 Forbidden)", ""},
	}
	modes := []struct {
		mode, path string
		endpoints  map[string]string
	}{
		{ModePods, "/pods", nil},
		{ModeAPI, "/pods", nil},
		{ModeServerless, "/jobs/echo/health", map[string]string{"echo": "ep-abc123"}},
	}
	for _, m := range modes {
		for _, c := range cases {
			t.Run(m.mode+"/"+c.name, func(t *testing.T) {
				sim := startSim(t)
				h := provision(t, &Handler{Mode: m.mode, Endpoints: m.endpoints, Timeout: caddy.Duration(time.Second)}, sim)
				sim.InjectFault(c.fault)
				res := serve(t, h, "", "GET", m.path, "")
				if res.Code != c.code || res.message(t) != c.message || res.Header.Get("Retry-After") != c.retryAfter {
					t.Fatalf("= %d %s Retry-After %q, want %d %q %q", res.Code, res.Body, res.Header.Get("Retry-After"), c.code, c.message, c.retryAfter)
				}
				if ct := res.Header.Get("Content-Type"); ct != "application/json" {
					t.Fatalf("Content-Type %q", ct)
				}
			})
		}
	}
}

func TestUnreachableUpstreamIs502(t *testing.T) {
	for _, mode := range []string{ModePods, ModeAPI} {
		t.Run(mode, func(t *testing.T) {
			sim := startSim(t)
			h := provision(t, &Handler{Mode: mode}, sim)
			sim.Close()
			res := serve(t, h, "", "GET", "/pods", "")
			if res.Code != 502 || res.message(t) != "Bad Gateway" {
				t.Fatalf("= %d %s", res.Code, res.Body)
			}
		})
	}
}

func TestCreateIsNeverRetried(t *testing.T) {
	sim := startSim(t)
	h := provision(t, &Handler{Mode: ModePods}, sim)
	sim.InjectFault(runpodsim.Fault{PathPrefix: "/v2/pods", Reset: true, Times: 1})
	if res := serve(t, h, "", "POST", "/pods", createBody); res.Code != 502 {
		t.Fatalf("create with reset = %d %s", res.Code, res.Body)
	}
	if n := len(sim.RequestsTo("POST", "/v2/pods")); n != 1 {
		t.Fatalf("RunPod received the create %d times, want 1", n)
	}
}

func TestProblemJSONKeepsMeaningfulStatus(t *testing.T) {
	sim := startSim(t)
	h := provision(t, &Handler{Mode: ModeAPI}, sim)
	res := serve(t, h, "", "POST", "/pods", `{"name":"a","imageName":"x"}`)
	if res.Code != 422 || !strings.Contains(res.message(t), `unknown field "imageName"`) || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("422 = %d %v %s", res.Code, res.Header, res.Body)
	}
	res = serve(t, h, "", "GET", "/pods/missing", "")
	if res.Code != 404 || res.message(t) != "resource not found" {
		t.Fatalf("404 = %d %s", res.Code, res.Body)
	}
}

func TestUpstreamErrorResponse(t *testing.T) {
	problem := http.Header{"Content-Type": {"application/problem+json"}}
	cases := []struct {
		status int
		body   string
		code   int
		msg    string
	}{
		{400, `{"title":"Bad Request","status":400,"detail":"no capacity"}`, 400, "no capacity"},
		{422, `{"title":"x","status":422,"detail":"failed","errors":["a","b"]}`, 422, "failed: a; b"},
		{409, `{"detail":"not now"}`, 409, "not now"},
		{401, `{"detail":"bad key sk-123"}`, 502, "RunPod refused the gateway's request (401 Unauthorized)"},
		{402, `{"detail":"balance"}`, 502, "RunPod refused the gateway's request (402 Payment Required)"},
		{504, ``, 504, "Endpoint request timed out"},
		{500, `{"detail":"stack trace"}`, 502, "Bad Gateway"},
	}
	h := provision(t, &Handler{Mode: ModePods}, startSim(t))
	for _, c := range cases {
		resp := h.upstreamError(c.status, problem, []byte(c.body))
		if resp.StatusCode() != c.code || resp.Text() != c.msg {
			t.Errorf("%d %s -> %d %q, want %d %q", c.status, c.body, resp.StatusCode(), resp.Text(), c.code, c.msg)
		}
	}
}
