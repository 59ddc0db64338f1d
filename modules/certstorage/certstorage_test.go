package certstorage

import (
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
)

// provision provisions a module the way Caddy does (Provision, then
// Validate) and returns its storage; Cleanup runs when the test ends.
func provision(t *testing.T, r *RedisStorage) certmagic.Storage {
	t.Helper()
	ctx := adapttest.Context(t)
	if err := r.Provision(ctx); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	t.Cleanup(func() { _ = r.Cleanup() })
	if err := r.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	s, err := r.CertMagicStorage()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The URL comes from {env.*}; two configs of the same URL (before and
// after a reload) share one client, which outlives the first Cleanup; the
// storage's name in logs never shows the URL.
func TestModuleProvisionFromEnvAndPool(t *testing.T) {
	r, _ := sharedRedis(t)
	t.Setenv("CERTS_TEST_REDIS_URL", r.URL(0))
	first := &RedisStorage{URL: "{env.CERTS_TEST_REDIS_URL}", LockTTL: caddy.Duration(5 * time.Second)}
	s1 := provision(t, first)
	must(t, s1.Store(ctx(), "certificates/a/a.crt", []byte("CERT")))

	second := &RedisStorage{URL: "{env.CERTS_TEST_REDIS_URL}"}
	s2 := provision(t, second)
	if s1.(*redisStorage).rdb != s2.(*redisStorage).rdb {
		t.Error("two configs of one URL got two clients")
	}
	must(t, first.Cleanup())
	got, err := s2.Load(ctx(), "certificates/a/a.crt")
	must(t, err)
	if string(got) != "CERT" {
		t.Fatalf("Load = %q", got)
	}
	if name := s2.(interface{ String() string }).String(); name != "gpugate_redis:gpugate:certs" || strings.Contains(name, r.Password) {
		t.Errorf("String() = %q, want the prefix only", name)
	}
	if ttl := s1.(*redisStorage).lockTTL; ttl != 5*time.Second {
		t.Errorf("lock TTL = %v, want the configured 5s", ttl)
	}
	if ttl := s2.(*redisStorage).lockTTL; ttl != DefaultLockTTL {
		t.Errorf("lock TTL = %v, want the default %v", ttl, DefaultLockTTL)
	}
}

// A lock taken before a reload is released after it: the lock table is
// pooled with the client.
func TestModuleLockSurvivesReload(t *testing.T) {
	r, _ := sharedRedis(t)
	t.Setenv("CERTS_TEST_REDIS_URL", r.URL(0))
	old := &RedisStorage{URL: "{env.CERTS_TEST_REDIS_URL}"}
	s1 := provision(t, old)
	must(t, s1.Lock(ctx(), "issue_cert_a"))
	s2 := provision(t, &RedisStorage{URL: "{env.CERTS_TEST_REDIS_URL}"})
	must(t, old.Cleanup())
	must(t, s2.Unlock(ctx(), "issue_cert_a"))
}

// Provision, storage calls, a lock and Cleanup leave no goroutine behind:
// the last Cleanup closes the client and stops lock renewals (releasing
// the locks still held).
func TestModuleLeavesNoGoroutines(t *testing.T) {
	r, rdb := sharedRedis(t)
	defer testkit.SnapshotGoroutines().NoLeaks(t)
	m := &RedisStorage{URL: r.URL(0)[:len("redis://")] + ":{env.CERTS_TEST_REDIS_PW}@" + r.Addr + "/0"}
	t.Setenv("CERTS_TEST_REDIS_PW", r.Password)
	ctx := adapttest.Context(t)
	must(t, m.Provision(ctx))
	s, err := m.CertMagicStorage()
	must(t, err)
	must(t, s.Store(ctx, "k", []byte("v")))
	must(t, s.Lock(ctx, "held_at_shutdown"))
	must(t, m.Cleanup())
	must(t, m.Cleanup()) // twice is fine
	if n := rdb.Exists(ctx, newKeyspace(DefaultPrefix).lock("held_at_shutdown")).Val(); n != 0 {
		t.Error("the last Cleanup left this process's lock in Redis")
	}
}

func TestModuleProvisionErrors(t *testing.T) {
	cases := []struct {
		name string
		m    RedisStorage
		want string
	}{
		{"no url", RedisStorage{}, "no url; write url {env.REDIS_URL}"},
		{"unset variable", RedisStorage{URL: "{env.CERTS_TEST_UNSET_VARIABLE}"}, "check the variable it names"},
		{"literal password", RedisStorage{URL: "redis://:hunter2@127.0.0.1:6379/0"}, "literal password"},
		{"bad scheme", RedisStorage{URL: "http://127.0.0.1:6379"}, `unknown scheme "http"`},
		{"prefix with braces", RedisStorage{URL: "redis://127.0.0.1:6379/0", Prefix: "{x}"}, "prefix"},
		{"short lock ttl", RedisStorage{URL: "redis://127.0.0.1:6379/0", LockTTL: caddy.Duration(time.Millisecond)}, "at least lock_ttl 1s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := c.m
			err := m.Provision(adapttest.Context(t))
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "gpugate_redis") {
				t.Fatalf("Provision = %v, want an error naming gpugate_redis and containing %q", err, c.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error shows the password: %v", err)
			}
			must(t, m.Cleanup()) // safe after a failed Provision
		})
	}
}
