package runpod

import (
	"strings"
	"testing"

	"github.com/gpugate/gpugate/modules/simulators/runpodsim"
)

// clientCredentials are headers a client may send; none may reach RunPod.
var clientCredentials = []string{
	"Authorization", "Bearer client-jwt-token",
	"X-Api-Key", "client-api-key",
	"Cookie", "session=client-cookie",
	"Proxy-Authorization", "Basic Y2xpZW50",
	"X-Forwarded-For", "203.0.113.9",
}

// assertOnlyGatewayKey fails unless every recorded request carried exactly
// the gateway's key and nothing of the client's credentials.
func assertOnlyGatewayKey(t *testing.T, reqs []runpodsim.Request) {
	t.Helper()
	if len(reqs) == 0 {
		t.Fatal("no request reached the simulator")
	}
	for _, r := range reqs {
		if got := r.Header.Values("Authorization"); len(got) != 1 || got[0] != "Bearer "+simKey {
			t.Errorf("%s %s: Authorization %q, want only the gateway key", r.Method, r.Path, got)
		}
		for name, vals := range r.Header {
			for _, v := range vals {
				if strings.Contains(v, "client-") || strings.Contains(v, "Y2xpZW50") || strings.Contains(v, "203.0.113.9") {
					t.Errorf("%s %s: client credential reached RunPod in %s: %q", r.Method, r.Path, name, v)
				}
			}
		}
	}
}

func TestClientCredentialsNeverReachRunPod(t *testing.T) {
	t.Run("pods", func(t *testing.T) {
		sim := startSim(t)
		h := provision(t, &Handler{Mode: ModePods}, sim)
		serve(t, h, "", "GET", "/pods", "", clientCredentials...)
		serve(t, h, "", "POST", "/pods", createBody, clientCredentials...)
		assertOnlyGatewayKey(t, sim.Requests())
	})
	t.Run("api", func(t *testing.T) {
		sim := startSim(t)
		h := provision(t, &Handler{Mode: ModeAPI}, sim)
		if res := serve(t, h, "", "GET", "/pods", "", clientCredentials...); res.Code != 200 {
			t.Fatalf("api list = %d %s", res.Code, res.Body)
		}
		assertOnlyGatewayKey(t, sim.Requests())
	})
	t.Run("serverless", func(t *testing.T) {
		sim := startSim(t)
		h := provision(t, &Handler{Mode: ModeServerless, Endpoints: map[string]string{"echo": "ep-abc123"}}, sim)
		if res := serve(t, h, "", "POST", "/jobs/echo/run", `{"input":{}}`, clientCredentials...); res.Code != 200 {
			t.Fatalf("run = %d %s", res.Code, res.Body)
		}
		assertOnlyGatewayKey(t, sim.Requests())
	})
}

func TestKeyNeverReachesClient(t *testing.T) {
	sim := startSim(t)
	h := provision(t, &Handler{Mode: ModeAPI}, sim)
	for _, path := range []string{"/pods", "/pods/missing", "/catalog/gpus"} {
		res := serve(t, h, "", "GET", path, "")
		if strings.Contains(res.Body, simKey) || strings.Contains(strings.Join(flatten(res.Header), " "), simKey) {
			t.Fatalf("GET %s leaked the RunPod key: %v %s", path, res.Header, res.Body)
		}
	}
}

func flatten(h map[string][]string) []string {
	var out []string
	for k, vs := range h {
		out = append(out, k+": "+strings.Join(vs, ","))
	}
	return out
}

func TestOwnershipIsolation(t *testing.T) {
	for _, tag := range []string{OwnerTagEnv, OwnerTagName} {
		t.Run(tag, func(t *testing.T) {
			sim := startSim(t)
			h := provision(t, &Handler{Mode: ModePods, OwnerClaim: "sub", OwnerTag: tag}, sim)
			var alice, bob struct {
				Pod map[string]any `json:"pod"`
			}
			serve(t, h, "alice", "POST", "/pods", createBody).json(t, &alice)
			serve(t, h, "bob", "POST", "/pods", createBody).json(t, &bob)
			aliceID := alice.Pod["id"].(string)
			if alice.Pod["name"] != "trainer" {
				t.Fatalf("client sees name %v, want trainer", alice.Pod["name"])
			}
			var list []map[string]any
			serve(t, h, "bob", "GET", "/pods", "").json(t, &list)
			if len(list) != 1 || list[0]["id"] != bob.Pod["id"] {
				t.Fatalf("bob's list = %v, want only his pod", list)
			}
			for _, c := range []struct{ method, path string }{
				{"GET", "/pods/" + aliceID}, {"POST", "/pods/" + aliceID + "/stop"}, {"DELETE", "/pods/" + aliceID},
			} {
				if res := serve(t, h, "bob", c.method, c.path, ""); res.Code != 404 {
					t.Errorf("bob %s %s = %d, want 404", c.method, c.path, res.Code)
				}
			}
			if n := len(sim.RequestsTo("POST", "/v2/pods/"+aliceID+"/action")) + len(sim.RequestsTo("DELETE", "/v2/pods/")); n != 0 {
				t.Fatalf("bob's attempts reached RunPod %d times", n)
			}
			if res := serve(t, h, "alice", "DELETE", "/pods/"+aliceID, ""); res.Code != 204 {
				t.Fatalf("alice delete = %d %s", res.Code, res.Body)
			}
			if res := serve(t, h, "", "GET", "/pods", ""); res.Code != 401 {
				t.Fatalf("no subject = %d, want 401", res.Code)
			}
		})
	}
}

func TestOwnerEnvCannotBeForged(t *testing.T) {
	sim := startSim(t)
	h := provision(t, &Handler{Mode: ModePods, OwnerClaim: "sub", OwnerTag: OwnerTagEnv}, sim)
	res := serve(t, h, "mallory", "POST", "/pods", `{"name":"x","image":"i","gpu_type":"NVIDIA GeForce RTX 4090","env":{"GPUGATE_OWNER":"alice"}}`)
	if res.Code != 400 || !strings.Contains(res.message(t), "GPUGATE_OWNER is set by the gateway") {
		t.Fatalf("forged owner = %d %s", res.Code, res.Body)
	}
}

func TestUpstreamSeesItsOwnHost(t *testing.T) {
	sim := startSim(t)
	h := provision(t, &Handler{Mode: ModeAPI}, sim)
	serve(t, h, "", "GET", "/pods", "", "Host", "gateway.example.com")
	h2 := provision(t, &Handler{Mode: ModePods}, sim)
	serve(t, h2, "", "GET", "/pods", "")
	want := strings.TrimPrefix(sim.URL, "http://")
	reqs := sim.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	for _, r := range reqs {
		if r.Host != want {
			t.Errorf("%s %s: RunPod saw Host %q, want %q", r.Method, r.Path, r.Host, want)
		}
	}
}
