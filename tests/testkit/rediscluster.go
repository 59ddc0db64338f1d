package testkit

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RedisCluster is a real Redis Cluster of three masters (no replicas) on
// loopback ports, started for one test.
type RedisCluster struct {
	// Addrs are the masters' host:port, for a cluster client's seed list.
	Addrs []string
}

// StartRedisCluster starts three redis-server processes in cluster mode,
// joins them with `redis-cli --cluster create` (the 16384 slots spread over
// the three), waits until every node reports cluster_state:ok, and stops
// them when the test ends.
func StartRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	server, err := exec.LookPath("redis-server")
	if err != nil {
		RequireDependency(t, "redis-server", err)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		RequireDependency(t, "redis-cli", err)
	}
	c := &RedisCluster{}
	for range 3 {
		port, bus := FreePort(t), FreePort(t)
		dir := t.TempDir()
		cmd := exec.Command(server, "--port", strconv.Itoa(port), "--cluster-port", strconv.Itoa(bus),
			"--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no",
			"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-node-timeout", "2000", "--protected-mode", "no", "--loglevel", "warning")
		cmd.Dir = dir
		if err := cmd.Start(); err != nil {
			t.Fatalf("start redis-server (cluster): %v", err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		addr := "127.0.0.1:" + strconv.Itoa(port)
		c.Addrs = append(c.Addrs, addr)
		waitRedisCLI(t, cli, addr, "PING", "PONG")
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, addr := range c.Addrs {
		waitRedisCLI(t, cli, addr, "CLUSTER INFO", "cluster_state:ok")
	}
	return c
}

// waitRedisCLI runs a redis-cli command against addr until its output
// contains want (10 s at most).
func waitRedisCLI(t testing.TB, cli, addr, command, want string) {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	var out []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		args := append([]string{"-h", host, "-p", port}, strings.Fields(command)...)
		out, _ = exec.Command(cli, args...).CombinedOutput()
		if strings.Contains(string(out), want) {
			return
		}
	}
	t.Fatalf("redis %s: %q never answered %q (last: %s)", addr, command, want, out)
}
