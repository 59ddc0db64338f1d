package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"
)

const (
	domain           = "gpugate.test"
	caCaddyfile      = "tests/e2e/certs/testdata/acme-ca.Caddyfile"
	gatewayCaddyfile = "tests/e2e/certs/testdata/gateway.Caddyfile"
)

// acmeCA is the ACME CA process.
type acmeCA struct {
	*testkit.Gateway
}

// startCA runs acme_server with its validation requests going through
// the router (HTTP_PROXY).
func startCA(t *testing.T, router *challengeRouter) *acmeCA {
	t.Helper()
	g := testkit.StartGateway(t, caCaddyfile, testkit.GatewayOptions{Env: map[string]string{
		"HTTP_PROXY": router.URL, "http_proxy": router.URL,
		"NO_PROXY": "", "no_proxy": "",
	}})
	return &acmeCA{g}
}

// Directory is the ACME directory URL.
func (ca *acmeCA) Directory() string { return ca.URL + "/acme/local/directory" }

// Roots is the pool of the CA's root certificate.
func (ca *acmeCA) Roots(t *testing.T) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(ca.RootCAPath())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no root certificate in", ca.RootCAPath())
	}
	return pool
}

// acmeRequests counts the CA's access-log entries of ACME requests whose
// URI ends in suffix (e.g. "/finalize", "/new-order") and that it answered
// with status (0: any).
func (ca *acmeCA) acmeRequests(suffix string, status int) int {
	n := 0
	for _, line := range strings.Split(ca.Logs(), "\n") {
		var entry struct {
			Logger  string `json:"logger"`
			Status  int    `json:"status"`
			Request struct {
				URI string `json:"uri"`
			} `json:"request"`
		}
		if json.Unmarshal([]byte(line), &entry) != nil || !strings.HasPrefix(entry.Logger, "http.log.access") {
			continue
		}
		if strings.HasPrefix(entry.Request.URI, "/acme/") && strings.HasSuffix(entry.Request.URI, suffix) &&
			(status == 0 || entry.Status == status) {
			n++
		}
	}
	return n
}

// challengeRouter stands in for DNS and a load balancer on port 80: it is
// the CA's HTTP proxy and forwards each validation request to the first
// gateway that answers, starting with the next one in turn.
type challengeRouter struct {
	URL string

	mu       sync.Mutex
	backends []string // host:port of each gateway's HTTP port
	next     int
	served   map[string]int // validations answered, by backend
	hold     chan struct{}  // while set, the next validation waits on it
	arrived  chan struct{}  // signalled when a validation is held
	// prefer, when set, names the backend to try first.
	prefer func() string
}

func startRouter(t *testing.T) *challengeRouter {
	r := &challengeRouter{served: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// add routes to a gateway's HTTP port.
func (r *challengeRouter) add(addr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.backends = append(r.backends, addr)
}

// setPrefer makes the router try first the backend prefer names (if any).
func (r *challengeRouter) setPrefer(prefer func() string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.prefer = prefer
}

// holdNext makes the next validation request wait until release is
// closed; arrived is closed when it does.
func (r *challengeRouter) holdNext() (arrived <-chan struct{}, release chan<- struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hold, r.arrived = make(chan struct{}), make(chan struct{})
	return r.arrived, r.hold
}

// validations returns how many validation requests each backend answered.
func (r *challengeRouter) validations() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.served))
	for k, v := range r.served {
		out[k] = v
	}
	return out
}

func (r *challengeRouter) serve(w http.ResponseWriter, req *http.Request) {
	if req.URL.Host == "" || hostOnly(req.URL.Host) != domain || !strings.HasPrefix(req.URL.Path, "/.well-known/acme-challenge/") {
		http.Error(w, "the challenge router forwards only http-01 validations of "+domain, http.StatusForbidden)
		return
	}
	r.mu.Lock()
	hold, arrived := r.hold, r.arrived
	r.hold, r.arrived = nil, nil
	backends := append([]string(nil), r.backends...)
	start := r.next
	r.next++
	prefer := r.prefer
	r.mu.Unlock()
	if prefer != nil {
		if first := prefer(); first != "" {
			backends = append([]string{first}, backends...)
			start = 0
		}
	}
	if hold != nil {
		close(arrived)
		select {
		case <-hold:
		case <-req.Context().Done():
		}
		http.Error(w, "held validation released", http.StatusServiceUnavailable)
		return
	}
	for i := range backends {
		backend := backends[(start+i)%len(backends)]
		if c, err := net.DialTimeout("tcp", backend, time.Second); err != nil {
			continue // a dead instance; the load balancer skips it
		} else {
			c.Close()
		}
		proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: backend})
		req.Host = domain
		proxy.ServeHTTP(w, req)
		r.mu.Lock()
		r.served[backend]++
		r.mu.Unlock()
		return
	}
	http.Error(w, "no gateway up", http.StatusBadGateway)
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// instance is one gateway process and its ports.
type instance struct {
	*testkit.Gateway // set by start
	name             string
	httpAddr         string
	httpsAddr        string

	mu      sync.Mutex
	running *testkit.Gateway // Gateway, for the router's goroutines
}

// logsIfRunning returns the instance's log, or "" before it started.
func (in *instance) logsIfRunning() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.running == nil {
		return ""
	}
	return in.running.Logs()
}

// gatewaySetup is what every instance of one test shares.
type gatewaySetup struct {
	redis   *testkit.Redis
	ca      *acmeCA
	router  *challengeRouter
	lockTTL time.Duration
}

// newInstance reserves ports for an instance and routes to it; start runs it.
func (s *gatewaySetup) newInstance(t *testing.T, name string) *instance {
	t.Helper()
	in := &instance{name: name, httpAddr: testkit.FreeAddr(t), httpsAddr: testkit.FreeAddr(t)}
	s.router.add(in.httpAddr)
	return in
}

func (s *gatewaySetup) start(t *testing.T, in *instance) {
	t.Helper()
	_, httpPort, _ := net.SplitHostPort(in.httpAddr)
	_, httpsPort, _ := net.SplitHostPort(in.httpsAddr)
	in.Gateway = testkit.StartGateway(t, gatewayCaddyfile, testkit.GatewayOptions{PlainHTTP: true, Env: map[string]string{
		"GPUGATE_REDIS_URL":  s.redis.URL(0),
		"CERTS_DOMAIN":       domain,
		"CERTS_HTTP_PORT":    httpPort,
		"CERTS_HTTPS_PORT":   httpsPort,
		"CERTS_ACME_CA":      s.ca.Directory(),
		"CERTS_ACME_CA_ROOT": s.ca.RootCAPath(),
		"CERTS_LOCK_TTL":     s.lockTTL.String(),
		"CERTS_INSTANCE":     in.name,
	}})
	in.mu.Lock()
	in.running = in.Gateway
	in.mu.Unlock()
}

// startAll starts the instances at once (each process launched from its
// own goroutine) and waits until all of them serve.
func (s *gatewaySetup) startAll(t *testing.T, ins ...*instance) {
	t.Helper()
	var wg sync.WaitGroup
	for _, in := range ins {
		wg.Go(func() { s.start(t, in) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

// servedCertificate waits until the instance serves a certificate for the
// domain that verifies against the CA's root, and returns it.
func (in *instance) servedCertificate(t *testing.T, roots *x509.CertPool, within time.Duration) *x509.Certificate {
	t.Helper()
	var lastErr error
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		cert, err := handshake(in.httpsAddr, roots)
		if err == nil {
			return cert
		}
		lastErr = err
	}
	t.Fatalf("%s never served a valid certificate for %s within %v: %v\ngateway log:\n%s", in.name, domain, within, lastErr, in.Logs())
	return nil
}

// handshake connects to addr with SNI gpugate.test and returns the leaf.
func handshake(addr string, roots *x509.CertPool) (*x509.Certificate, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	d := tls.Dialer{Config: &tls.Config{ServerName: domain, RootCAs: roots}}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.(*tls.Conn).ConnectionState().PeerCertificates[0], nil
}

// get fetches https://gpugate.test/ from the instance.
func (in *instance) get(t *testing.T, roots *x509.CertPool) string {
	t.Helper()
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, in.httpsAddr)
		},
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + domain + "/")
	if err != nil {
		t.Fatalf("GET https://%s/ on %s: %v", domain, in.name, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = fmt.Fprint(&b, resp.StatusCode, " ")
	buf := make([]byte, 512)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	return b.String()
}

// logTime returns the time of the instance's first log line about the
// domain whose msg is msg (Caddy logs ts as seconds since the epoch).
func (in *instance) logTime(msg string) (time.Time, bool) {
	for _, line := range strings.Split(in.logsIfRunning(), "\n") {
		var entry struct {
			TS         float64 `json:"ts"`
			Msg        string  `json:"msg"`
			Identifier string  `json:"identifier"`
		}
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == msg && entry.Identifier == domain {
			sec := int64(entry.TS)
			return time.Unix(sec, int64((entry.TS-float64(sec))*1e9)), true
		}
	}
	return time.Time{}, false
}

// servedDistributed reports whether the instance answered an HTTP-01
// validation from challenge data another instance put in the storage.
func (in *instance) servedDistributed() bool {
	for _, line := range strings.Split(in.Logs(), "\n") {
		var entry struct {
			Msg         string `json:"msg"`
			Identifier  string `json:"identifier"`
			Distributed bool   `json:"distributed"`
		}
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "served key authentication" &&
			entry.Identifier == domain && entry.Distributed {
			return true
		}
	}
	return false
}

// waitLog waits until the instance logged msg about the domain.
func (in *instance) waitLog(t *testing.T, msg string, within time.Duration) time.Time {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if at, ok := in.logTime(msg); ok {
			return at
		}
	}
	t.Fatalf("%s never logged %q for %s:\n%s", in.name, msg, domain, in.Logs())
	return time.Time{}
}
