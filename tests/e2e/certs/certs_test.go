package certs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gpugate/gpugate/tests/testkit"
)

// newSetup starts Redis, the challenge router and the ACME CA of one test.
func newSetup(t *testing.T, lockTTL time.Duration) *gatewaySetup {
	t.Helper()
	router := startRouter(t)
	return &gatewaySetup{
		redis:   testkit.StartRedis(t, testkit.RedisOptions{Password: "certs-e2e-pw"}),
		ca:      startCA(t, router),
		router:  router,
		lockTTL: lockTTL,
	}
}

// Two instances started at once get one certificate between them (one
// account, one order, one issuance) and serve the same one, kept in
// Redis; a third started later serves it too without asking the CA.
func TestInstancesShareOneCertificate(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 30*time.Second)
	roots := s.ca.Roots(t)
	a, b := s.newInstance(t, "a"), s.newInstance(t, "b")
	// The CA's validation goes to the instance that did not ask for the
	// certificate: it answers from the challenge data in Redis. (The router
	// waits until both instances run, so it can read their logs.)
	s.router.setPrefer(func() string {
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if a.logsIfRunning() == "" || b.logsIfRunning() == "" {
				continue
			}
			for _, in := range []*instance{a, b} {
				if _, asked := in.logTime("obtaining certificate"); !asked {
					return in.httpAddr
				}
			}
		}
		return ""
	})
	s.startAll(t, a, b)

	certA := a.servedCertificate(t, roots, time.Minute)
	certB := b.servedCertificate(t, roots, time.Minute)
	if certA.SerialNumber.Cmp(certB.SerialNumber) != 0 {
		t.Fatalf("a serves serial %x, b serves %x: two certificates", certA.SerialNumber, certB.SerialNumber)
	}
	for _, c := range []struct {
		what, suffix string
		status, want int
	}{
		{"accounts registered", "/new-account", 201, 1},
		{"orders created", "/new-order", 0, 1},
		{"certificates issued (finalize 200)", "/finalize", 200, 1},
	} {
		if got := s.ca.acmeRequests(c.suffix, c.status); got != c.want {
			t.Errorf("CA: %s = %d, want %d\nCA log:\n%s", c.what, got, c.want, s.ca.Logs())
		}
	}
	obtainers := 0
	for _, in := range []*instance{a, b} {
		if _, ok := in.logTime("obtaining certificate"); ok {
			obtainers++
		}
		if got := in.get(t, roots); got != "200 served by "+in.name {
			t.Errorf("GET on %s = %q", in.name, got)
		}
		// Nothing of the certificate went to the instance's own disk.
		if _, err := os.Stat(filepath.Join(in.Home, "data", "caddy", "certificates")); !os.IsNotExist(err) {
			t.Errorf("%s has a certificates folder on disk (stat: %v)", in.name, err)
		}
	}
	if obtainers != 1 {
		t.Errorf("%d instances obtained a certificate, want 1", obtainers)
	}
	if !a.servedDistributed() && !b.servedDistributed() {
		t.Errorf("no instance answered the other's HTTP-01 validation from the shared storage\na:\n%s\nb:\n%s", a.Logs(), b.Logs())
	}
	wantStoredCertificate(t, s.redis)
	t.Logf("one certificate, serial %x; validations answered per instance: %v", certA.SerialNumber, s.router.validations())

	// A third instance, started later, loads the certificate from Redis.
	caRequests := s.ca.acmeRequests("", 0)
	c := s.newInstance(t, "c")
	s.start(t, c)
	certC := c.servedCertificate(t, roots, 30*time.Second)
	if certC.SerialNumber.Cmp(certA.SerialNumber) != 0 {
		t.Fatalf("c serves serial %x, want the shared %x", certC.SerialNumber, certA.SerialNumber)
	}
	if got := c.get(t, roots); got != "200 served by c" {
		t.Errorf("GET on c = %q", got)
	}
	if got := s.ca.acmeRequests("", 0) - caRequests; got != 0 {
		t.Errorf("the CA got %d ACME requests after c started, want none\nCA log:\n%s", got, s.ca.Logs())
	}
	if _, ok := c.logTime("obtaining certificate"); ok {
		t.Errorf("c obtained a certificate:\n%s", c.Logs())
	}
}

// An instance killed (SIGKILL) while it holds the issuance lock, in the
// middle of the ACME exchange, blocks the others only until the lock
// expires; then one of them obtains the certificate.
func TestKilledLockHolderDoesNotBlockPastExpiry(t *testing.T) {
	t.Parallel()
	const lockTTL = 3 * time.Second
	s := newSetup(t, lockTTL)
	roots := s.ca.Roots(t)
	a, b := s.newInstance(t, "a"), s.newInstance(t, "b")
	// a's HTTP-01 validation is held at the router: a holds the lock and
	// waits for the CA, which waits for the router.
	arrived, release := s.router.holdNext()
	s.start(t, a)
	select {
	case <-arrived:
	case <-time.After(time.Minute):
		t.Fatalf("a never got to the HTTP-01 validation:\n%s", a.Logs())
	}
	rdb := redisClient(t, s.redis)
	lockKey := "{gpugate:certs}:lock:issue_cert_" + domain
	if pttl := rdb.PTTL(context.Background(), lockKey).Val(); pttl <= 0 || pttl > lockTTL {
		t.Fatalf("mid-issue, lock %s has PTTL %v, want in (0, %v]", lockKey, pttl, lockTTL)
	}
	s.start(t, b)
	b.waitLog(t, "acquiring lock", 30*time.Second) // b waits for a's lock
	a.Kill()
	killed := time.Now()
	close(release)
	left := rdb.PTTL(context.Background(), lockKey).Val()
	if left <= 0 {
		t.Fatal("the lock vanished at the kill: it must expire, the dead holder cannot release it")
	}

	cert := b.servedCertificate(t, roots, time.Minute)
	acquired := b.waitLog(t, "lock acquired", time.Second)
	// b polls the lock every second: it gets it within a poll of the
	// expiry, and not before.
	waited := acquired.Sub(killed)
	if waited < left-200*time.Millisecond || waited > left+2*time.Second {
		t.Fatalf("b acquired the lock %v after the kill; the lock had %v left, want between that and a poll (1s) later", waited, left)
	}
	t.Logf("b acquired the lock %v after a was killed (the lock had %v of its %v TTL left); serial %x",
		waited.Round(time.Millisecond), left, lockTTL, cert.SerialNumber)
	if got := s.ca.acmeRequests("/finalize", 200); got != 1 {
		t.Errorf("CA issued %d certificates, want 1 (b's)", got)
	}
	if got := b.get(t, roots); got != "200 served by b" {
		t.Errorf("GET on b = %q", got)
	}
}

func redisClient(t *testing.T, r *testkit.Redis) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(r.URL(0))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// wantStoredKey checks that the Redis storage holds key.
func wantStoredKey(t *testing.T, r *testkit.Redis, key string) {
	t.Helper()
	ok, err := redisClient(t, r).HExists(context.Background(), "{gpugate:certs}:data", key).Result()
	if err != nil || !ok {
		t.Fatalf("the Redis storage lacks %s (%v)", key, err)
	}
}

// wantStoredCertificate checks that Redis holds the domain's certificate
// and private key, under the storage's keys.
func wantStoredCertificate(t *testing.T, r *testkit.Redis) {
	t.Helper()
	rdb := redisClient(t, r)
	keys, err := rdb.ZRange(context.Background(), "{gpugate:certs}:index", 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	var crt, key bool
	for _, k := range keys {
		crt = crt || strings.HasSuffix(k, "/"+domain+"/"+domain+".crt")
		key = key || strings.HasSuffix(k, "/"+domain+"/"+domain+".key")
	}
	if !crt || !key {
		t.Fatalf("Redis storage keys %q lack the certificate or key of %s", keys, domain)
	}
}

// The shipped cluster.Caddyfile keeps its certificates in the Redis of the
// usage plans: a second instance serves the first one's certificate for
// localhost (from the local CA, itself shared) without issuing its own.
func TestClusterCaddyfileSharesCertificates(t *testing.T) {
	t.Parallel()
	r := testkit.StartRedis(t, testkit.RedisOptions{Password: "cluster-pw"})
	env := map[string]string{
		"GPUGATE_REDIS_URL":  r.URL(0),
		"GPUGATE_JWT_SECRET": "cluster-certs-test-secret-0123456789abcdef",
		"GPUGATE_API_KEY":    "gpg_clustercertstestpartnerkey0123456789",
	}
	a := testkit.StartGateway(t, "caddyfiles/cluster.Caddyfile", testkit.GatewayOptions{Env: env})
	b := testkit.StartGateway(t, "caddyfiles/cluster.Caddyfile", testkit.GatewayOptions{Env: env})
	serials := make([]string, 0, 2)
	for _, g := range []*testkit.Gateway{a, b} {
		resp := g.Do("GET", "/", nil) // verified against the (shared) local CA
		resp.Body.Close()
		if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
			t.Fatalf("%s: no TLS", g.URL)
		}
		serials = append(serials, resp.TLS.PeerCertificates[0].SerialNumber.String())
	}
	if serials[0] != serials[1] {
		t.Fatalf("the instances serve serials %s and %s, want one shared certificate", serials[0], serials[1])
	}
	if strings.Contains(b.Logs(), `"msg":"obtaining certificate"`) {
		t.Errorf("the second instance obtained its own certificate:\n%s", b.Logs())
	}
	wantStoredKey(t, r, "pki/authorities/local/root.crt")
}
