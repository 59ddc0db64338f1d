// Package simulators runs `gpugate simulate runpod|modal`, the simulators
// on their own, the way a developer points a gateway Caddyfile or a client
// at them before having a cloud account.
package simulators

import (
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"
)

// simulator is a running `gpugate simulate` process.
type simulator struct {
	addr string
	out  *testkit.SyncBuffer
}

// simulate starts `gpugate simulate <args>` on a free loopback port with env
// and waits until it accepts connections; it is stopped with SIGINT (and
// must exit promptly) when the test ends.
func simulate(t *testing.T, env []string, args ...string) *simulator {
	t.Helper()
	s := &simulator{addr: testkit.FreeAddr(t), out: &testkit.SyncBuffer{}}
	cmd := exec.Command(testkit.Binary(t), append(append([]string{"simulate"}, args...), "--listen", s.addr)...)
	cmd.Env = append(cmd.Environ(), env...)
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("gpugate simulate did not stop on SIGINT within 10 s")
		}
	})
	testkit.Eventually(t, 30*time.Second, "gpugate simulate listening on "+s.addr, func() bool {
		select {
		case err := <-done:
			t.Fatalf("gpugate simulate exited (%v):\n%s", err, s.out)
		default:
		}
		c, err := net.DialTimeout("tcp", s.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return s
}

// get sends a GET with an optional bearer key and returns status and body.
func get(t *testing.T, url, bearer string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestSimulateRunPodBehindTheGateway serves the RunPod simulator with
// `gpugate simulate runpod` and runs caddyfiles/runpod.Caddyfile against it:
// the old test script's pod (RTX 3070) is created through the gateway and
// reaches RUNNING.
func TestSimulateRunPodBehindTheGateway(t *testing.T) {
	const key, jwtSecret = "sim-runpod-key", "simulate-e2e-jwt-secret-0123456789abcdef"
	sim := simulate(t, []string{"RUNPOD_API_KEY=" + key}, "runpod", "--provision-delay", "100ms", "--start-delay", "100ms", "--endpoint", "ep-cli")
	if !strings.Contains(sim.out.String(), "runpod simulator serving http://"+sim.addr+"/v2") {
		t.Errorf("simulate printed %q, want the URL it serves", sim.out)
	}
	if status, body := get(t, "http://"+sim.addr+"/v2/catalog/gpus", key); status != http.StatusOK || !strings.Contains(body, `"id":"NVIDIA GeForce RTX 3070"`) {
		t.Fatalf("catalog: %d %s", status, body)
	}
	if status, _ := get(t, "http://"+sim.addr+"/v2/pods", "wrong"); status != http.StatusUnauthorized {
		t.Fatalf("wrong key: %d, want 401", status)
	}
	if status, body := get(t, "http://"+sim.addr+"/v2/ep-cli/health", key); status != http.StatusOK || !strings.Contains(body, `"workers"`) {
		t.Fatalf("serverless health: %d %s", status, body)
	}

	gw := testkit.StartGateway(t, "caddyfiles/runpod.Caddyfile", testkit.GatewayOptions{Env: map[string]string{
		"GPUGATE_JWT_SECRET": jwtSecret,
		"RUNPOD_API_KEY":     key,
		"RUNPOD_BASE_URL":    "http://" + sim.addr + "/v2",
	}})
	auth := "Bearer " + testkit.SignHS256(t, jwtSecret, testkit.StandardClaims("alice", "https://auth.example.com/", "gpugate"))
	created := gw.Call(http.MethodPost, "/pods", []byte(`{"name":"old-script","image":"runpod/pytorch:2.4.0","gpu_type":"NVIDIA GeForce RTX 3070"}`),
		"Authorization", auth, "Content-Type", "application/json")
	created.Want(t, http.StatusOK, `"gpu":{"id":"NVIDIA GeForce RTX 3070","count":1}`)
	var pod struct {
		Pod struct {
			ID string `json:"id"`
		} `json:"pod"`
	}
	created.JSON(t, &pod)
	var last testkit.Reply
	testkit.Eventually(t, 10*time.Second, "pod "+pod.Pod.ID+" RUNNING", func() bool {
		last = gw.Call(http.MethodGet, "/pods/"+pod.Pod.ID, nil, "Authorization", auth)
		return strings.Contains(last.Text(), `"desiredStatus":"RUNNING"`)
	})
	last.Want(t, http.StatusOK, `"status":"RUNNING"`, `"runtime":{"uptime":`)
}

func TestSimulateModal(t *testing.T) {
	sim := simulate(t, []string{"MULTITALK_API_KEY=sim-mt-key"}, "modal", "--job-step", "50ms")
	base := "http://" + sim.addr + "/api/v1"
	if status, body := get(t, base+"/health", ""); status != http.StatusOK || !strings.Contains(body, `"status":"healthy"`) {
		t.Fatalf("health: %d %s", status, body)
	}
	if status, body := get(t, base+"/jobs", ""); status != http.StatusForbidden || body != `{"detail":"Not authenticated"}` {
		t.Fatalf("no bearer: %d %s", status, body)
	}
	if status, body := get(t, base+"/jobs", "sim-mt-key"); status != http.StatusOK || body != `{"jobs":[],"count":0}` {
		t.Fatalf("jobs: %d %s", status, body)
	}
}

func TestSimulateRefusesNonLoopbackAddresses(t *testing.T) {
	port := strconv.Itoa(testkit.FreePort(t))
	out, err := exec.Command(testkit.Binary(t), "simulate", "runpod", "--listen", "0.0.0.0:"+port).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "loopback addresses only") {
		t.Fatalf("simulate on 0.0.0.0: %v\n%s", err, out)
	}
}
