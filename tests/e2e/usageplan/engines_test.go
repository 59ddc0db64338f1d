package usageplan

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan"
	"github.com/gpugate/gpugate/tests/testkit"
)

// failoverBound is how far a failover may take admissions past the quota:
// Redis replicates asynchronously, so the decisions the old primary
// acknowledged in its last moments may be missing on the replica that
// takes over (README, "Redis Cluster and Sentinel").
const failoverBound = 10

// raceExact sends 256 requests from 32 workers across gws for a quota of
// 200 and wants exactly 200 admitted.
func raceExact(t *testing.T, key string, gws ...*testkit.Gateway) {
	t.Helper()
	if got := race(t, http.MethodGet, "/fast", key, 32, 8, gws...); got != (raceResult{200, 56, 0}) {
		t.Fatalf("quota 200 across %d gateways: %d admitted, %d limited, %d other; want 200/56/0", len(gws), got.ok, got.limited, got.other)
	}
}

// get sends one GET with the key and returns the status (0 on a transport
// error).
func get(t *testing.T, g *testkit.Gateway, path, key string) int {
	req, _ := http.NewRequest(http.MethodGet, g.URL+path, nil)
	req.Header.Set("X-Api-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// failoverUnderLoad loads a fresh key (quota 200, throttle 100/s) from
// two gateways, calls fail after about 60 admissions, and waits until the
// quota is used up: admissions may pass 200 by at most failoverBound, and
// service resumes by itself. It returns how long admissions stopped.
func failoverUnderLoad(t *testing.T, key string, fail func(), gws ...*testkit.Gateway) time.Duration {
	t.Helper()
	var admitted atomic.Int64
	var failed atomic.Bool
	var lastBefore, firstAfter atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var quotaSeen atomic.Int64
	// What the gateways answered after the failure, by status, for the
	// failure message.
	var afterMu sync.Mutex
	after := map[string]int{}
	seen := func(status int, body []byte) {
		if !failed.Load() {
			return
		}
		afterMu.Lock()
		defer afterMu.Unlock()
		what := http.StatusText(status)
		switch {
		case status == 0:
			what = "transport error: " + string(body)
		case status >= 400:
			what += " " + string(body)
		}
		if len(after) < 20 || after[what] > 0 {
			after[what]++
		}
	}
	for w := range 8 {
		g := gws[w%len(gws)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && quotaSeen.Load() < 20 {
				req, _ := http.NewRequest(http.MethodGet, g.URL+"/fast", nil)
				req.Header.Set("X-Api-Key", key)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					seen(0, []byte(err.Error()))
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				seen(resp.StatusCode, body)
				switch {
				case resp.StatusCode == http.StatusOK:
					admitted.Add(1)
					now := time.Now().UnixNano()
					if failed.Load() {
						firstAfter.CompareAndSwap(0, now)
					} else {
						lastBefore.Store(now)
					}
				case resp.StatusCode == http.StatusTooManyRequests && strings.Contains(string(body), "Limit Exceeded"):
					quotaSeen.Add(1)
				case resp.StatusCode == http.StatusTooManyRequests:
				default:
					time.Sleep(10 * time.Millisecond) // 503 while the primary is gone
				}
			}
		}()
	}
	for admitted.Load() < 60 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	fail()
	failed.Store(true)
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("the quota was not used up within a minute (%d admitted): service did not resume; answers after the failure: %v", admitted.Load(), after)
	}
	if firstAfter.Load() == 0 {
		t.Fatal("nothing was admitted after the failure")
	}
	if n := admitted.Load(); n < 200 || n > 200+failoverBound {
		t.Fatalf("%d admitted for a quota of 200 across the failover; want 200 to %d", n, 200+failoverBound)
	}
	gap := time.Duration(firstAfter.Load() - lastBefore.Load())
	t.Logf("%d admitted for a quota of 200; no admission for %s around the failover", admitted.Load(), gap.Round(time.Millisecond))
	return gap
}

func engineGateways(t *testing.T, storeURL string, n int) []*testkit.Gateway {
	t.Helper()
	var gws []*testkit.Gateway
	for range n {
		gws = append(gws, testkit.StartGateway(t, faultCaddyfile, testkit.GatewayOptions{PlainHTTP: true, Env: map[string]string{
			"GPUGATE_REDIS_URL": storeURL, "GPUGATE_QUOTA": "200", "GPUGATE_CONCURRENCY": "1000",
			"GPUGATE_RATE": "100", "GPUGATE_BURST": "10", "GPUGATE_UPSTREAM": "127.0.0.1:9",
		}}))
	}
	return gws
}

// TestRedisClusterExactAndFailover: two gateways on a 3-primary Redis
// Cluster (with replicas) share an exact quota; then the primary serving
// a key is killed mid-load, its replica is promoted, and service resumes
// by itself with admissions within failoverBound of the quota.
func TestRedisClusterExactAndFailover(t *testing.T) {
	t.Parallel()
	c := testkit.StartRedisCluster(t, 3)
	gws := engineGateways(t, c.URL(), 2)
	raceExact(t, createKey(t, gws[0], "race", "race").Value, gws...)
	key := createKey(t, gws[1], "failover", "load")
	victim := c.PrimaryFor("gpugate:usage:{" + key.ID + "}:quota:load:")
	failoverUnderLoad(t, key.Value, victim.Stop, gws...)
	c.WaitHealthy()
}

// TestRedisSentinelExactAndFailover: the same on a primary, a replica and
// three sentinels: the primary is killed mid-load and the sentinels
// promote the replica.
func TestRedisSentinelExactAndFailover(t *testing.T) {
	t.Parallel()
	s := testkit.StartRedisSentinel(t, testkit.RedisOptions{Password: "sentinel-pw"})
	gws := engineGateways(t, s.URL(0), 2)
	raceExact(t, createKey(t, gws[0], "race", "race").Value, gws...)
	key := createKey(t, gws[1], "failover", "load")
	var beforeKill []string // both nodes' replication state just before the kill
	kill := func() {
		for _, n := range []*testkit.Redis{s.Primary, s.Replica} {
			info, err := n.Info("replication")
			beforeKill = append(beforeKill, fmt.Sprintf("%s: %s %v", n.Addr, strings.Join(strings.Fields(info), " "), err))
		}
		s.Primary.Stop()
	}
	t.Cleanup(func() {
		// Runs before the servers stop (cleanups run last first). What
		// the sentinels did and whether the key's record is on the node
		// that serves now tell a failover that lost the record from one
		// that did not resume.
		if !t.Failed() {
			return
		}
		for i, sn := range s.Sentinels {
			host, port, _ := strings.Cut(sn.Addr, ":")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			out, err := exec.CommandContext(ctx, "redis-cli", "-h", host, "-p", port, "SENTINEL", "MASTER", s.MasterName).CombinedOutput()
			cancel()
			t.Logf("sentinel %d: %s %v", i, strings.Join(strings.Fields(string(out)), " "), err)
		}
		for _, b := range beforeKill {
			t.Logf("before the kill, %s", b)
		}
		record := "gpugate:usage:{keys}:hash:" + usageplan.HashKey(key.Value)
		exists, err := s.Replica.Do("EXISTS", record)
		t.Logf("former replica %s: EXISTS the key record: %s %v", s.Replica.Addr, exists, err)
		repl, err := s.Replica.Info("replication")
		t.Logf("former replica: %s %v", strings.Join(strings.Fields(repl), " "), err)
	})
	failoverUnderLoad(t, key.Value, kill, gws...)
	if addr := s.PrimaryAddr(); addr != s.Replica.Addr {
		t.Fatalf("the sentinels name %s as primary, want the promoted replica %s", addr, s.Replica.Addr)
	}
	for _, g := range gws {
		if strings.Contains(g.Logs(), "sentinel-pw") {
			t.Fatal("the Redis password appears in a gateway log")
		}
	}
}

// TestRedisTLSWithACLFromPlaceholders: rediss:// with the test CA as
// ca_file and an ACL user whose name and password come from {env.*}
// placeholders works end to end; a wrong CA makes the gateway fail at
// start with a message that says to set ca_file, and `gpugate validate`
// refuses a malformed store URL naming the directive.
func TestRedisTLSWithACLFromPlaceholders(t *testing.T) {
	t.Parallel()
	r := testkit.StartRedis(t, testkit.RedisOptions{TLS: true, User: "gateway", UserPassword: "tls:p@ss/w0rd"})
	storeURL := "rediss://{env.TEST_REDIS_USER}:{env.TEST_REDIS_PASSWORD}@" + r.Addr + "/0?ca_file=" + r.CA.File
	env := map[string]string{"GPUGATE_REDIS_URL": storeURL, "TEST_REDIS_USER": "gateway", "TEST_REDIS_PASSWORD": "tls:p@ss/w0rd",
		"GPUGATE_UPSTREAM": "127.0.0.1:9"}
	g := testkit.StartGateway(t, faultCaddyfile, testkit.GatewayOptions{PlainHTTP: true, Env: env})
	key := createKey(t, g, "tls", "race")
	if code := get(t, g, "/fast", key.Value); code != http.StatusOK {
		t.Fatalf("through TLS Redis: %d", code)
	}
	if strings.Contains(g.Logs(), "tls:p@ss/w0rd") {
		t.Fatal("the Redis password appears in the gateway log")
	}

	run := func(storeURL string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, testkit.Binary(t), args...)
		cmd.Env = append(cmd.Environ(), "GPUGATE_REDIS_URL="+storeURL, "TEST_REDIS_USER=gateway", "TEST_REDIS_PASSWORD=tls:p@ss/w0rd",
			"GPUGATE_ADMIN="+testkit.FreeAddr(t), "GPUGATE_ADDR=http://127.0.0.1:"+strings.Split(testkit.FreeAddr(t), ":")[1],
			"HOME="+t.TempDir(), "XDG_DATA_HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	other := testkit.NewTestCA(t)
	out, err := run(strings.Replace(storeURL, r.CA.File, other.File, 1), "run", "--config", testkit.Path(t, faultCaddyfile), "--adapter", "gpugate")
	if err == nil || !strings.Contains(out, "ca_file") || strings.Contains(out, "tls:p@ss/w0rd") {
		t.Fatalf("a gateway with the wrong CA: %v, output:\n%s\nwant a failed start naming ca_file, without the password", err, out)
	}
	out, err = run("redis://"+r.Addr+"/0?ca_file=/x.pem", "validate", "--config", testkit.Path(t, faultCaddyfile), "--adapter", "gpugate")
	if err == nil || !strings.Contains(out, "usage_plans: store: redis URL") || !strings.Contains(out, "rediss://") {
		t.Fatalf("validate with ca_file on redis://: %v\n%s", err, out)
	}
}
