package testkit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RedisCluster is a Redis Cluster on loopback: Primaries primaries, each
// with one replica, made with `redis-cli --cluster create`.
type RedisCluster struct {
	// Nodes are the servers, primaries first (their replicas follow in
	// the order redis-cli assigned them).
	Nodes []*Redis

	t testing.TB
}

// StartRedisCluster starts 2*primaries redis-server processes in cluster
// mode (node timeout 1 s, so a failover takes a few seconds), joins them
// into a cluster with one replica per primary and waits until every node
// reports cluster_state:ok.
func StartRedisCluster(t testing.TB, primaries int) *RedisCluster {
	t.Helper()
	cli := redisCLIPath(t)
	c := &RedisCluster{t: t}
	var addrs []string
	for range 2 * primaries {
		n := StartRedis(t, RedisOptions{Args: []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "1000", "--cluster-port", strconv.Itoa(FreePort(t)),
			"--appendonly", "no", "--cluster-replica-validity-factor", "0", "--repl-diskless-sync-delay", "0"}})
		c.Nodes = append(c.Nodes, n)
		addrs = append(addrs, n.Addr)
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.WaitHealthy()
	// Each replica must receive its primary's writes (see StartRedisSentinel):
	// "role" names a replica's primary.
	for _, n := range c.Nodes {
		role := strings.Fields(redisCLI(t, n, "role"))
		if len(role) < 3 || role[0] != "slave" {
			continue
		}
		primary := role[1] + ":" + role[2]
		i := slices.IndexFunc(c.Nodes, func(p *Redis) bool { return p.Addr == primary })
		if i < 0 {
			t.Fatalf("replica %s follows %s, which is not a node of the cluster", n.Addr, primary)
		}
		waitReplicating(t, c.Nodes[i], n, ownedKey(t, c.Nodes[i]))
	}
	return c
}

// waitReplicaSynced waits (up to 30 s) until replica n has loaded its
// primary's data and follows it (master_link_status:up): before that, a
// failover would promote an empty server.
func waitReplicaSynced(t testing.TB, n *Redis) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(redisCLI(t, n, "info", "replication"), "master_link_status:up") {
		if time.Now().After(deadline) {
			t.Fatalf("replica %s did not sync with its primary within 30 s", n.Addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// replicationProbe is the key waitReplicating writes on a primary
// (outside the gateway's gpugate:usage: prefix).
const replicationProbe = "gpugate-test:replication-probe"

// waitReplicating waits (up to 30 s) until replica follows primary and
// receives its writes: after key (one the primary serves) is written
// there, the replica's offset reaches the primary's. A replica whose link
// is up but which does not receive them within 5 s is pointed at the
// primary again: REPLICAOF NO ONE and back (a new full sync), or for a
// Cluster replica CLUSTER REPLICATE (a new link).
func waitReplicating(t testing.TB, primary, replica *Redis, key string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for attempt := 1; ; attempt++ {
		waitReplicaSynced(t, replica)
		redisCLI(t, primary, "set", key, fmt.Sprintf("attempt-%d", attempt))
		want := replOffset(t, primary, "master_repl_offset")
		for resync := time.Now().Add(5 * time.Second); time.Now().Before(resync); time.Sleep(20 * time.Millisecond) {
			if want > 0 && replOffset(t, replica, "slave_repl_offset") >= want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s did not receive its primary's writes within 30 s", replica.Addr)
		}
		t.Logf("replica %s: link up but the primary's write did not arrive within 5 s; syncing again", replica.Addr)
		if strings.Contains(redisCLI(t, replica, "info", "cluster"), "cluster_enabled:1") {
			id := strings.TrimSpace(redisCLI(t, primary, "cluster", "myid"))
			redisCLI(t, replica, "cluster", "replicate", id)
			continue
		}
		host, port, _ := strings.Cut(primary.Addr, ":")
		redisCLI(t, replica, "replicaof", "no", "one")
		redisCLI(t, replica, "replicaof", host, port)
	}
}

// replOffset reads a replication offset field of n's INFO replication
// (-1 when absent).
func replOffset(t testing.TB, n *Redis, field string) int64 {
	t.Helper()
	for _, line := range strings.Split(redisCLI(t, n, "info", "replication"), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			off, err := strconv.ParseInt(v, 10, 64)
			if err == nil {
				return off
			}
		}
	}
	return -1
}

// ownedKey is a probe key that primary n of a Redis Cluster serves (a
// key of another node's slot gets MOVED).
func ownedKey(t testing.TB, n *Redis) string {
	t.Helper()
	for i := range 1000 {
		key := fmt.Sprintf("%s:%d", replicationProbe, i)
		if strings.HasPrefix(strings.TrimSpace(redisCLI(t, n, "set", key, "probe")), "OK") {
			return key
		}
	}
	t.Fatalf("no probe key among 1000 is served by %s", n.Addr)
	return ""
}

// URL is the store URL naming every node as a seed.
func (c *RedisCluster) URL() string {
	var addrs []string
	for _, n := range c.Nodes {
		addrs = append(addrs, n.Addr)
	}
	return "redis+cluster://" + strings.Join(addrs, ",")
}

// Primary returns a node that is a primary now and owns slots.
func (c *RedisCluster) Primary() *Redis {
	c.t.Helper()
	for _, n := range c.Nodes {
		if n.cmd == nil {
			continue
		}
		if info := redisCLI(c.t, n, "role"); strings.HasPrefix(info, "master") {
			return n
		}
	}
	c.t.Fatal("no primary in the cluster")
	return nil
}

// WaitHealthy waits (up to 30 s) until every running node reports
// cluster_state:ok and every slot is served by a running primary.
func (c *RedisCluster) WaitHealthy() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok := true
		for _, n := range c.Nodes {
			if n.cmd == nil {
				continue
			}
			if !strings.Contains(redisCLI(c.t, n, "cluster", "info"), "cluster_state:ok") {
				ok = false
				break
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatal("the Redis Cluster did not become healthy within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// RedisSentinel is a primary, one replica and three sentinels on loopback
// watching the primary as MasterName.
type RedisSentinel struct {
	Primary, Replica *Redis
	Sentinels        []*Redis
	MasterName       string

	t testing.TB
}

// StartRedisSentinel starts the primary (with opts), a replica of it and
// three sentinels (quorum 2, down after 1 s), and waits until the
// sentinels know the replica. A failover then takes a few seconds.
func StartRedisSentinel(t testing.TB, opts RedisOptions) *RedisSentinel {
	t.Helper()
	redisCLIPath(t)
	s := &RedisSentinel{MasterName: "gpugate", t: t}
	opts.Args = append(append([]string(nil), opts.Args...), "--repl-diskless-sync-delay", "0")
	s.Primary = StartRedis(t, opts)
	// The replica's first sync then copies data: syncing from an empty
	// primary, redis-server 7.0 now and then left a replica "up" that never
	// received the primary's writes (slave_repl_offset stayed 0 while the
	// primary's grew), and a failover then promoted an empty server.
	redisCLI(t, s.Primary, "set", replicationProbe, "start")
	ropts := opts
	host, port, _ := strings.Cut(s.Primary.Addr, ":")
	ropts.Args = append(append([]string(nil), opts.Args...), "--replicaof", host, port)
	if opts.Password != "" {
		ropts.Args = append(ropts.Args, "--masterauth", opts.Password)
	}
	s.Replica = StartRedis(t, ropts)
	waitReplicating(t, s.Primary, s.Replica, replicationProbe)
	for range 3 {
		dir := t.TempDir()
		conf := filepath.Join(dir, "sentinel.conf")
		lines := fmt.Sprintf("sentinel monitor %s %s %s 2\nsentinel down-after-milliseconds %[1]s 1000\n"+
			"sentinel failover-timeout %[1]s 5000\nsentinel parallel-syncs %[1]s 1\n", s.MasterName, host, port)
		if opts.Password != "" {
			lines += fmt.Sprintf("sentinel auth-pass %s %s\n", s.MasterName, opts.Password)
		}
		if err := os.WriteFile(conf, []byte(lines), 0o600); err != nil {
			t.Fatal(err)
		}
		r := &Redis{t: t, Dir: dir, port: FreePort(t), config: []string{conf, "--sentinel"}}
		r.Addr = "127.0.0.1:" + strconv.Itoa(r.port)
		r.start(redisServerPath(t))
		t.Cleanup(r.Stop)
		s.Sentinels = append(s.Sentinels, r)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, sn := range s.Sentinels {
		for !strings.Contains(redisCLI(t, sn, "sentinel", "replicas", s.MasterName), s.Replica.Addr[strings.Index(s.Replica.Addr, ":")+1:]) {
			if time.Now().After(deadline) {
				t.Fatal("the sentinels did not discover the replica within 30 s")
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return s
}

// URL is the store URL: every sentinel, the master name and db.
func (s *RedisSentinel) URL(db int) string {
	var addrs []string
	for _, sn := range s.Sentinels {
		addrs = append(addrs, sn.Addr)
	}
	auth := ""
	if s.Primary.Password != "" {
		auth = ":" + s.Primary.Password + "@"
	}
	return fmt.Sprintf("redis+sentinel://%s%s/%s/%d", auth, strings.Join(addrs, ","), s.MasterName, db)
}

// PrimaryAddr asks the first running sentinel for the current primary.
func (s *RedisSentinel) PrimaryAddr() string {
	s.t.Helper()
	for _, sn := range s.Sentinels {
		if sn.cmd == nil {
			continue
		}
		out := strings.Fields(redisCLI(s.t, sn, "sentinel", "get-master-addr-by-name", s.MasterName))
		if len(out) == 2 {
			return out[0] + ":" + out[1]
		}
	}
	return ""
}

// redisCLIPath finds redis-cli like redisServerPath finds redis-server.
func redisCLIPath(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("redis-cli")
	if err != nil {
		RequireDependency(t, "redis-cli", err)
	}
	return path
}

// redisCLI runs one redis-cli command against n and returns its output
// ("" when the node does not answer).
func redisCLI(t testing.TB, n *Redis, args ...string) string {
	t.Helper()
	host, port, _ := strings.Cut(n.Addr, ":")
	base := []string{"-h", host, "-p", port}
	if n.Password != "" {
		base = append(base, "--no-auth-warning", "-a", n.Password)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, redisCLIPath(t), append(base, args...)...).Output()
	if err != nil {
		return ""
	}
	return string(out)
}

// PrimaryFor returns the running primary that serves key's slot now.
func (c *RedisCluster) PrimaryFor(key string) *Redis {
	c.t.Helper()
	seed := c.Primary()
	slot, err := strconv.Atoi(strings.TrimSpace(redisCLI(c.t, seed, "cluster", "keyslot", key)))
	if err != nil {
		c.t.Fatalf("cluster keyslot %s: %v", key, err)
	}
	for _, line := range strings.Split(redisCLI(c.t, seed, "cluster", "nodes"), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || !strings.Contains(f[2], "master") || strings.Contains(f[2], "fail") {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		for _, r := range f[8:] {
			lo, hi, found := strings.Cut(r, "-")
			if !found {
				hi = lo
			}
			l, err1 := strconv.Atoi(lo)
			h, err2 := strconv.Atoi(hi)
			if err1 == nil && err2 == nil && l <= slot && slot <= h {
				for _, n := range c.Nodes {
					if n.Addr == addr && n.cmd != nil {
						return n
					}
				}
			}
		}
	}
	c.t.Fatalf("no running primary serves slot %d", slot)
	return nil
}
