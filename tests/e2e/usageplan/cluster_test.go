package usageplan

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"
)

const clusterCaddyfile = "caddyfiles/cluster.Caddyfile"

// startCluster runs two gateway instances of cluster.Caddyfile against one
// Redis. The basic plan: no practical throttle, quota 100 units per day.
func startCluster(t *testing.T, u *upstream, r *testkit.Redis) (a, b *testkit.Gateway) {
	e := env(u, map[string]string{
		"GPUGATE_REDIS_URL":         r.URL(0),
		"GPUGATE_BASIC_RATE":        "10000",
		"GPUGATE_BASIC_BURST":       "10000",
		"GPUGATE_BASIC_QUOTA":       "100",
		"GPUGATE_BASIC_CONCURRENCY": "1000",
	})
	a = testkit.StartGateway(t, clusterCaddyfile, testkit.GatewayOptions{Env: e})
	b = testkit.StartGateway(t, clusterCaddyfile, testkit.GatewayOptions{Env: e})
	return a, b
}

// TestClusterSharesExactCounts: a key created on instance A works on B, and
// 256 requests racing across both instances for a quota of 100 get exactly
// 100 admissions; both instances then report the same usage.
func TestClusterSharesExactCounts(t *testing.T) {
	u := startUpstream(t)
	r := testkit.StartRedis(t, testkit.RedisOptions{Password: "cluster-pw"})
	a, b := startCluster(t, u, r)
	key := createKey(t, a, "acme", "basic")

	if got := race(t, http.MethodPut, "/api/items/1", key.Value, 32, 8, a, b); got != (raceResult{100, 156, 0}) {
		t.Fatalf("two instances, quota 100: %d admitted, %d limited, %d other; want exactly 100/156/0", got.ok, got.limited, got.other)
	}
	if u.count() != 100 {
		t.Fatalf("upstream saw %d requests, want 100", u.count())
	}
	for _, g := range []*testkit.Gateway{a, b} {
		if got := usageToday(t, g, "basic", key.ID); got != [2]int64{100, 0} {
			t.Fatalf("usage on %s = %v, want [100 0]", g.URL, got)
		}
	}
	if got := a.Logs() + b.Logs(); strings.Contains(got, "cluster-pw") || strings.Contains(got, key.Value) {
		t.Fatal("the Redis password or the key value appears in a gateway log")
	}
}

// TestClusterRedisDownFailsClosedAndRecovers: with Redis gone, requests
// get 503 within the store timeout (on_store_error deny); once Redis is
// back (AOF: keys and counts kept), requests pass again without a restart.
func TestClusterRedisDownFailsClosedAndRecovers(t *testing.T) {
	u := startUpstream(t)
	opts := testkit.RedisOptions{AppendOnly: true}
	r := testkit.StartRedis(t, opts)
	a, _ := startCluster(t, u, r)
	key := createKey(t, a, "acme", "basic")
	for range 3 {
		if code, _, _ := call(t, a, http.MethodPut, "/api/items/1", key.Value); code != http.StatusOK {
			t.Fatalf("before the outage: %d", code)
		}
	}

	r.Stop()
	start := time.Now()
	code, h, body := call(t, a, http.MethodPut, "/api/items/1", key.Value)
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Fatalf("Redis down: %d %s, want 503 with Retry-After", code, body)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("the 503 took %s; the store timeout is 100ms", took)
	}

	r.Restart(opts)
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _, _ := call(t, a, http.MethodPut, "/api/items/1", key.Value)
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery after Redis came back: last status %d", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := usageToday(t, a, "basic", key.ID); got != [2]int64{4, 96} {
		t.Fatalf("usage after the Redis restart = %v, want [4 96] (counts kept)", got)
	}
}

// TestClusterConcurrencyCapIsShared: one slow request on each instance
// uses the key's cap of 2; a third on either instance is refused.
func TestClusterConcurrencyCapIsShared(t *testing.T) {
	u := startUpstream(t)
	r := testkit.StartRedis(t, testkit.RedisOptions{})
	e := env(u, map[string]string{"GPUGATE_REDIS_URL": r.URL(0), "GPUGATE_BASIC_CONCURRENCY": "2"})
	a := testkit.StartGateway(t, clusterCaddyfile, testkit.GatewayOptions{Env: e})
	b := testkit.StartGateway(t, clusterCaddyfile, testkit.GatewayOptions{Env: e})
	key := createKey(t, a, "acme", "basic")
	testConcurrencyCap(t, u, key.Value, a, b)
}

// TestClusterDisabledKeyRefusedEverywhereWithinASecond: a key that
// instance B has just admitted (and cached) is disabled, then deleted,
// through instance A: B refuses it within a second each time.
func TestClusterDisabledKeyRefusedEverywhereWithinASecond(t *testing.T) {
	t.Parallel()
	u := startUpstream(t)
	r := testkit.StartRedis(t, testkit.RedisOptions{})
	a, b := startCluster(t, u, r)
	for _, op := range []string{"disable", "delete"} {
		key := createKey(t, a, "acme-"+op, "basic")
		if code, _, _ := call(t, b, http.MethodGet, "/api/jobs/1", key.Value); code != http.StatusOK {
			t.Fatalf("%s: before: %d", op, code)
		}
		cli(t, a, nil, "keys", op, key.ID)
		changed := time.Now()
		for {
			code, _, _ := call(t, b, http.MethodGet, "/api/jobs/1", key.Value)
			if code == http.StatusForbidden {
				break
			}
			if took := time.Since(changed); took > time.Second {
				t.Fatalf("%s on A: B still answers %d after %s", op, code, took)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("%s on A: refused on B %s later", op, time.Since(changed).Round(time.Millisecond))
	}
}
