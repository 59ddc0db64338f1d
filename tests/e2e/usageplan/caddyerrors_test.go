package usageplan

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"
)

// TestCaddysErrorsAreGatewayJSON: with gateway.Caddyfile, a body over
// GPUGATE_MAX_BODY is a 413 JSON error that reaches no upstream and costs
// no quota (declared or streamed), and an upstream that is down is a 502
// JSON error, refunded, with an error log line naming the cause.
func TestCaddysErrorsAreGatewayJSON(t *testing.T) {
	t.Parallel()
	up := testkit.StartUpstream(t, nil) // reads bodies, as an API does
	g := startGatewayWith(t, startUpstream(t), map[string]string{"GPUGATE_MAX_BODY": "1MB", "GPUGATE_UPSTREAM": up.HostPort()})
	key := createKey(t, g, "acme", "basic")

	big := bytes.Repeat([]byte("x"), 2<<20)
	r := g.Call(http.MethodPost, "/api/generate", big, "X-Api-Key", key.Value, "Content-Type", "application/octet-stream")
	if r.Status != http.StatusRequestEntityTooLarge || strings.TrimSpace(string(r.Body)) != `{"message":"Request Too Long"}` ||
		r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-Request-Id") == "" {
		t.Fatalf("2 MB body = %d %v %s", r.Status, r.Header, r.Body)
	}
	if n := len(up.Requests()); n != 0 {
		t.Fatalf("the upstream received %d requests", n)
	}
	if got := usageToday(t, g, "basic", key.ID); got != [2]int64{0, 50} {
		t.Fatalf("usage after a 413 = %v, want [0 50]", got)
	}
	// The same body without a declared length is cut as it streams.
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/api/generate", io.MultiReader(bytes.NewReader(big)))
	req.Header.Set("X-Api-Key", key.Value)
	resp, err := g.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || strings.TrimSpace(string(body)) != `{"message":"Request Too Long"}` {
		t.Fatalf("2 MB streamed body = %d %s", resp.StatusCode, body)
	}
	if r := g.Call(http.MethodPost, "/api/generate", bytes.Repeat([]byte("y"), 512<<10), "X-Api-Key", key.Value); r.Status != http.StatusOK {
		t.Fatalf("512 KiB body = %d %s", r.Status, r.Body)
	}
	if reqs := up.Requests(); len(reqs) != 1 || len(reqs[0].Body) != 512<<10 {
		t.Fatalf("the upstream received %d complete requests, want only the 512 KiB one", len(reqs))
	}
}

// TestUpstreamDownIsGatewayJSON: reverse_proxy's 502 for an upstream that
// refuses connections is the gateway's JSON, not an empty body; the quota
// is refunded and the error log says why.
func TestUpstreamDownIsGatewayJSON(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	_ = ln.Close()
	u := startUpstream(t)
	g := startGatewayWith(t, u, map[string]string{"GPUGATE_UPSTREAM": dead})
	key := createKey(t, g, "acme", "basic")
	r := g.Call(http.MethodPost, "/api/generate", []byte(`{"prompt":"hi"}`), "X-Api-Key", key.Value)
	if r.Status != http.StatusBadGateway || strings.TrimSpace(string(r.Body)) != `{"message":"Bad Gateway"}` {
		t.Fatalf("upstream down = %d %q", r.Status, r.Body)
	}
	if got := usageToday(t, g, "basic", key.ID); got != [2]int64{0, 50} {
		t.Fatalf("usage after a refunded 502 = %v, want [0 50]", got)
	}
	testkit.Eventually(t, 5*time.Second, "an error log line for the 502", func() bool {
		for _, line := range strings.Split(g.Logs(), "\n") {
			if strings.Contains(line, `"msg":"handler error"`) && strings.Contains(line, `"status":502`) &&
				strings.Contains(line, "connection refused") && strings.Contains(line, r.Header.Get("X-Request-Id")) {
				return true
			}
		}
		return false
	})
}

// startGatewayWith runs gateway.Caddyfile with the test plan of startGateway
// and extra environment.
func startGatewayWith(t *testing.T, u *upstream, extra map[string]string) *testkit.Gateway {
	e := map[string]string{"GPUGATE_DATA": t.TempDir(), "GPUGATE_BASIC_RATE": "100", "GPUGATE_BASIC_BURST": "100",
		"GPUGATE_BASIC_QUOTA": "50"}
	for k, v := range extra {
		e[k] = v
	}
	return testkit.StartGateway(t, gatewayCaddyfile, testkit.GatewayOptions{Env: env(u, e)})
}
