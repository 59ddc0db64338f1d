package deploy

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"
)

// TestReadinessFollowsTheStore runs the shipped cluster Caddyfile on a
// password-protected Redis: /readyz is 200 while Redis answers, 503 with
// the store check failed once it is gone (and 200 again when it is back),
// while /healthz stays 200; no report carries the store URL or password.
func TestReadinessFollowsTheStore(t *testing.T) {
	t.Parallel()
	const password = "deploy-redis-pw-0123"
	redis := testkit.StartRedis(t, testkit.RedisOptions{Password: password})
	g := testkit.StartGateway(t, "caddyfiles/cluster.Caddyfile", testkit.GatewayOptions{Env: baseEnv(t.TempDir(), redis.URL(0))})
	ready := func() (int, string) {
		resp := g.Do("GET", "/readyz", nil)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := ready(); status != 200 || !strings.Contains(body, `"name":"usage_plans.store","status":"ok"`) {
		t.Fatalf("/readyz with Redis up = %d %s", status, body)
	}
	redis.Stop()
	status, body := ready()
	if status != 503 || !strings.Contains(body, `"name":"usage_plans.store","status":"fail"`) {
		t.Fatalf("/readyz with Redis down = %d %s, want 503 with the store failed", status, body)
	}
	for _, leak := range []string{password, redis.Addr, "redis://"} {
		if strings.Contains(body, leak) {
			t.Errorf("the readiness report carries %q: %s", leak, body)
		}
	}
	resp := g.Do("GET", "/healthz", nil)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz with Redis down = %d, want 200 (liveness)", resp.StatusCode)
	}
	redis.Restart(testkit.RedisOptions{Password: password})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if status, _ := ready(); status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz stayed unavailable after Redis came back: %s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
