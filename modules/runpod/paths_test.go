package runpod

import (
	"strings"
	"testing"
)

// TestAPIModeRefusesPathEscapes: mode api used to append the client path to
// base_url's path as is, so these reached RunPod as /v2/../graphql with the
// operator's key.
func TestAPIModeRefusesPathEscapes(t *testing.T) {
	sim := startSim(t)
	h := provision(t, &Handler{Mode: ModeAPI}, sim)
	for _, path := range []string{
		"/../graphql", "/pods/%2e%2e/%2e%2e/graphql", "/pods/..%2f..%2fgraphql", "/pods/..%2F..%2Fgraphql",
		"/pods/%2E%2E/", "/./pods", "/pods/a%5c..%5c..%5cgraphql", "/pods/%00",
	} {
		for _, method := range []string{"GET", "DELETE"} {
			res := serve(t, h, "", method, path, "")
			if res.Code != 400 || !strings.HasPrefix(res.message(t), "Invalid request path") {
				t.Errorf("%s %s = %d %s, want 400 Invalid request path", method, path, res.Code, res.Body)
			}
		}
	}
	if reqs := sim.Requests(); len(reqs) != 0 {
		t.Fatalf("%d unsafe requests reached RunPod, first %s %s", len(reqs), reqs[0].Method, reqs[0].Path)
	}
	// Ordinary paths still pass, escapes kept.
	if res := serve(t, h, "", "GET", "/pods", ""); res.Code != 200 {
		t.Fatalf("GET /pods = %d %s", res.Code, res.Body)
	}
	serve(t, h, "", "GET", "/pods/a%20b/", "")
	reqs := sim.Requests()
	if len(reqs) != 2 || reqs[0].Path != "/v2/pods" || reqs[1].Path != "/v2/pods/a b/" {
		t.Fatalf("RunPod saw %+v", reqs)
	}
}

func TestServerlessRefusesUnsafePaths(t *testing.T) {
	sim := startSim(t)
	h := provision(t, &Handler{Mode: ModeServerless, Endpoints: map[string]string{"echo": "ep-abc123"}}, sim)
	for _, path := range []string{"/jobs/echo/status/..%2Fx", "/jobs/other/../echo/health", "/jobs/echo/%2e%2e/health"} {
		if res := serve(t, h, "", "GET", path, ""); res.Code != 400 {
			t.Errorf("GET %s = %d %s, want 400", path, res.Code, res.Body)
		}
	}
	if n := len(sim.Requests()); n != 0 {
		t.Fatalf("%d unsafe requests reached RunPod", n)
	}
	if res := serve(t, h, "", "GET", "/jobs/echo/health/", ""); res.Code != 200 {
		t.Fatalf("trailing slash = %d %s", res.Code, res.Body)
	}
	if r := sim.Requests(); len(r) != 1 || r[0].Path != "/v2/ep-abc123/health" {
		t.Fatalf("RunPod saw %+v", r)
	}
}
