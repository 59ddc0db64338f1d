package redisconn

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"
	"github.com/redis/rueidis"
)

func TestParse(t *testing.T) {
	t.Setenv("TEST_REDIS_USER", "gateway")
	t.Setenv("TEST_REDIS_PASSWORD", "p@ss:w/rd{x}")
	cases := []struct {
		raw  string
		want Config
	}{
		{"redis://127.0.0.1:6379/2", Config{Addrs: []string{"127.0.0.1:6379"}, DB: 2}},
		{"redis://cache.local", Config{Addrs: []string{"cache.local:6379"}}},
		{"redis://:s%40cret@h:7000/0", Config{Addrs: []string{"h:7000"}, Password: "s@cret"}},
		{"rediss://{env.TEST_REDIS_USER}:{env.TEST_REDIS_PASSWORD}@master.example.cache.amazonaws.com:6379/0?ca_file=/etc/ssl/ca.pem",
			Config{Addrs: []string{"master.example.cache.amazonaws.com:6379"}, Username: "gateway", Password: "p@ss:w/rd{x}", TLS: true, CAFile: "/etc/ssl/ca.pem"}},
		{"rediss://:{env.TEST_REDIS_PASSWORD}@h:6380?server_name=redis.internal", Config{Addrs: []string{"h:6380"}, Password: "p@ss:w/rd{x}", TLS: true, ServerName: "redis.internal"}},
		{"redis+sentinel://s1,s2:26380,[::1]:26381/mymaster/3?sentinel_password=sp",
			Config{Mode: Sentinel, Addrs: []string{"s1:26379", "s2:26380", "[::1]:26381"}, MasterName: "mymaster", DB: 3, SentinelPassword: "sp"}},
		{"redis+cluster://n1:7000,n2:7001", Config{Mode: Cluster, Addrs: []string{"n1:7000", "n2:7001"}}},
		{"rediss+cluster://clustercfg.example.cache.amazonaws.com:6379", Config{Mode: Cluster, Addrs: []string{"clustercfg.example.cache.amazonaws.com:6379"}, TLS: true}},
		{"REDIS://h:1/0", Config{Addrs: []string{"h:1"}}},
	}
	for _, c := range cases {
		got, err := Parse(c.raw)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.raw, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", c.raw, got, c.want)
		}
	}
}

func TestCheckErrorsSayWhatToWrite(t *testing.T) {
	cases := map[string]string{
		"memcache://h":                      "unknown scheme",
		"redis://":                          "no host",
		"redis://a:1,b:2":                   "redis+cluster://",
		"redis://h:99999":                   "port",
		"redis://h/x":                       `database "x"`,
		"redis://h/0/1":                     "one database number",
		"redis+sentinel://s1:26379":         "<master name>",
		"redis+cluster://n1:7000/3":         "only database 0",
		"redis://h?ca_file=/x":              "rediss://",
		"rediss://h?tls=1":                  `unknown option "tls"; use ca_file`,
		"redis://h?sentinel_password=x":     "redis+sentinel://",
		"redis://:p%zzss@h":                 "not URL-encoded",
		"redis://:{env.UNCLOSED@h:6379/0":   "host",
		"redis://:hunter2@h:6379/0?bogus=1": "unknown option",
	}
	for raw, want := range cases {
		err := Check(raw)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check(%q) = %v, want an error containing %q", raw, err, want)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "p%zzss") {
			t.Errorf("Check(%q) leaks the password: %v", raw, err)
		}
	}
	if err := Check("rediss://{env.NOT_SET_ANYWHERE}:{env.NOT_SET_EITHER}@h:6379/0"); err != nil {
		t.Errorf("Check must not need the placeholders' values: %v", err)
	}
}

func TestStringHidesPasswords(t *testing.T) {
	c, err := Parse("rediss+sentinel://u:hunter2@s1:26379/m/1?sentinel_password=hunter3")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.String(); strings.Contains(got, "hunter") || got != "rediss+sentinel://u:REDACTED@s1:26379/m/1" {
		t.Fatalf("String() = %q", got)
	}
}

// ping connects with the URL and round-trips a key.
func ping(t *testing.T, raw string) error {
	t.Helper()
	c, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	client, err := c.NewClient()
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := StartupError(ctx, client); err != nil {
		return err
	}
	if err := client.Set(ctx, "{k}a", "v", time.Minute).Err(); err != nil {
		return err
	}
	return client.Get(ctx, "{k}a").Err()
}

// TestTLSWithCAFileAndACLUserFromPlaceholders: rediss:// with the test CA
// and an ACL user whose name and password come from {env.*} connects; the
// system roots (no ca_file) or another CA fail with a message that says
// to set ca_file, and a wrong password with one that names AUTH.
func TestTLSWithCAFileAndACLUserFromPlaceholders(t *testing.T) {
	t.Parallel()
	r := testkit.StartRedis(t, testkit.RedisOptions{TLS: true, User: "gateway", UserPassword: "acl:p@ss/word"})
	dir := t.TempDir()
	userFile, passFile := filepath.Join(dir, "user"), filepath.Join(dir, "password")
	_ = os.WriteFile(userFile, []byte("gateway"), 0o600)
	_ = os.WriteFile(passFile, []byte("acl:p@ss/word\n"), 0o600)
	auth := "{file." + userFile + "}:{file." + passFile + "}@"
	good := "rediss://" + auth + r.Addr + "/0?ca_file=" + r.CA.File
	if err := ping(t, good); err != nil {
		t.Fatalf("TLS with the right CA: %v", err)
	}
	other := testkit.NewTestCA(t)
	for name, raw := range map[string]string{
		"system roots": "rediss://" + auth + r.Addr + "/0",
		"another CA":   "rediss://" + auth + r.Addr + "/0?ca_file=" + other.File,
	} {
		err := ping(t, raw)
		if err == nil || !strings.Contains(err.Error(), "ca_file") {
			t.Errorf("%s: %v, want an error naming ca_file", name, err)
		}
	}
	err := ping(t, "rediss://gateway:wrong@"+r.Addr+"/0?ca_file="+r.CA.File)
	if err == nil || !strings.Contains(err.Error(), "AUTH") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong password: %v, want an AUTH error without the password", err)
	}
	err = ping(t, "redis://"+r.Addr+"/0")
	if err == nil {
		t.Error("plain redis:// against a TLS port must fail")
	}
	if _, err := (Config{TLS: true, CAFile: "/nonexistent/ca.pem"}).NewClient(); err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Errorf("missing CA file: %v", err)
	}
}

// TestStartupErrorIgnoresADownServer: an unreachable Redis is not a
// configuration error (the gateway starts and reconnects later).
func TestStartupErrorIgnoresADownServer(t *testing.T) {
	t.Parallel()
	c, _ := Parse("redis://" + testkit.FreeAddr(t) + "/0")
	client, _ := c.NewClient()
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := StartupError(ctx, client); err != nil {
		t.Fatalf("down server: %v, want nil", err)
	}
}

func TestSentinelAndCluster(t *testing.T) {
	t.Parallel()
	t.Run("sentinel", func(t *testing.T) {
		t.Parallel()
		s := testkit.StartRedisSentinel(t, testkit.RedisOptions{Password: "sentinel-pw"})
		if err := ping(t, s.URL(1)); err != nil {
			t.Fatalf("through the sentinels: %v", err)
		}
	})
	t.Run("cluster", func(t *testing.T) {
		t.Parallel()
		c := testkit.StartRedisCluster(t, 3)
		if err := ping(t, c.URL()); err != nil {
			t.Fatalf("cluster: %v", err)
		}
	})
}

// TestRueidisOptionReachesTheSameDeployment: the rueidis options of a
// TLS + ACL URL talk to the same server (a decision's client), a Sentinel
// URL's name the master set, the sentinels' password and TLS, and a single
// node gets a client even while it is down.
func TestRueidisOptionReachesTheSameDeployment(t *testing.T) {
	t.Parallel()
	r := testkit.StartRedis(t, testkit.RedisOptions{TLS: true, User: "gateway", UserPassword: "acl:p@ss/word"})
	c, err := Parse("rediss://gateway:acl:p@ss%2Fword@" + r.Addr + "/3?ca_file=" + r.CA.File)
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.RueidisOption()
	if err != nil || !o.ForceSingleClient || !o.DisableRetry || o.SelectDB != 3 || o.TLSConfig == nil || o.Username != "gateway" {
		t.Fatalf("single %v, no retry %v, db %d, TLS %v, user %q: %v", o.ForceSingleClient, o.DisableRetry, o.SelectDB, o.TLSConfig != nil, o.Username, err)
	}
	client, err := rueidis.NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if got, err := client.Do(context.Background(), client.B().Ping().Build()).ToString(); err != nil || got != "PONG" {
		t.Fatalf("PING through rueidis: %q %v", got, err)
	}
	sc := Config{Mode: Sentinel, Addrs: []string{"127.0.0.1:1", "127.0.0.1:2"}, MasterName: "mymaster", DB: 2,
		Password: "pw", SentinelPassword: "spw", TLS: true, CAFile: r.CA.File}
	so, err := sc.RueidisOption()
	if err != nil || so.ForceSingleClient || so.Sentinel.MasterSet != "mymaster" || so.Sentinel.Password != "spw" ||
		so.Password != "pw" || so.SelectDB != 2 || so.Sentinel.TLSConfig == nil || so.TLSConfig == nil ||
		len(so.InitAddress) != 2 || so.Sentinel.TopologyRefreshInterval <= 0 || so.Sentinel.Dialer.KeepAlive <= 0 {
		t.Errorf("Sentinel options: master set %q, db %d, sentinel TLS %v, addresses %v, refresh %s, keep-alive %s: %v",
			so.Sentinel.MasterSet, so.SelectDB, so.Sentinel.TLSConfig != nil, so.InitAddress, so.Sentinel.TopologyRefreshInterval,
			so.Sentinel.Dialer.KeepAlive, err)
	}
	down, err := (Config{Mode: Single, Addrs: []string{testkit.FreeAddr(t)}}).RueidisOption()
	if err != nil {
		t.Fatal(err)
	}
	if client, _ := rueidis.NewClient(down); client == nil {
		t.Error("no client for a single node that is down")
	} else {
		client.Close()
	}
}
