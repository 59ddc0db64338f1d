package testkit

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Gateway is a running gpugate process for one test.
//
// The Caddyfiles in caddyfiles/ read their listen addresses from the
// environment, and Gateway sets them to free loopback ports:
//
//	GPUGATE_ADMIN           admin endpoint (127.0.0.1:<port>)
//	GPUGATE_ADDR            the gateway's site address (https://localhost:<port>)
//	GPUGATE_HTTP_PORT       Caddy's HTTP port (the redirect listener), not 80
//	GPUGATE_OPS_PORT        the operations listener (/metrics, /healthz, /readyz)
//	GPUGATE_SHUTDOWN_DELAY  0s, so that stopping a gateway takes no 15 s
//
// Extra variables (upstream URLs, secrets) come from GatewayOptions.Env.
type Gateway struct {
	// URL is the gateway's base URL, e.g. https://localhost:43123.
	URL string
	// AdminAddr is the admin endpoint's host:port.
	AdminAddr string
	// Home is the process's HOME / XDG data dir (Caddy storage, local CA).
	Home string
	// OpsAddr is the operations listener's host:port (GPUGATE_OPS_PORT on
	// loopback), e.g. for OpsAddr + "/metrics".
	OpsAddr string

	t      testing.TB
	bin    string   // the binary behind Command and Reload
	launch []string // argv that starts the server; nil: bin run --config <config>
	config string
	env    []string
	cmd    *exec.Cmd
	// credential, when set, is the user the process runs as.
	credential *syscall.Credential
	logs       *SyncBuffer
	done       chan struct{}
	// client is the one HTTP client of the gateway, made once it serves
	// (its CA exists then), kept across restarts.
	clientMu sync.Mutex
	client   *http.Client
}

// GatewayOptions tunes StartGateway.
type GatewayOptions struct {
	// Env adds KEY=VALUE variables to the process environment.
	Env map[string]string
	// PlainHTTP serves the site over http:// instead of TLS.
	PlainHTTP bool
	// Home reuses a data directory (to test restarts); empty means a new one.
	Home string
	// Credential, when set, runs the process as that user and group (the
	// test must run as root; Home must be theirs).
	Credential *syscall.Credential
}

// StartGateway builds (if needed) and runs the gateway binary with the given
// Caddyfile (a path relative to the repository root, or absolute), waits
// until it serves, and stops it when the test ends.
func StartGateway(t testing.TB, caddyfile string, opts GatewayOptions) *Gateway {
	t.Helper()
	return startProcess(t, Binary(t), caddyfile, opts)
}

// StartRunScript runs the gateway the way README's first command does,
// `./xcaddy.sh run <caddyfile>`, with the same environment StartGateway
// sets. The script builds only when sources changed, then execs the binary.
func StartRunScript(t testing.TB, caddyfile string, opts GatewayOptions) *Gateway {
	t.Helper()
	// Build (or wait for a concurrent build) first, outside the readiness
	// timeout; the script's own up-to-date check is then instant.
	script := Path(t, "xcaddy.sh")
	if out, err := exec.Command(script, "build").CombinedOutput(); err != nil {
		t.Fatalf("xcaddy.sh build: %v\n%s", err, out)
	}
	// The gateway gets a HOME of its own; the script's Go commands keep the
	// developer's Go configuration (GOFLAGS from the go env file, the module
	// and build caches), as when a developer runs it, so the build above is
	// the one the script finds up to date.
	opts.Env = withGoEnv(t, opts.Env)
	return startProcess(t, Path(t, "bin/gpugate"), caddyfile, opts, script, "run", caddyfile)
}

// withGoEnv adds this process's Go configuration to env.
func withGoEnv(t testing.TB, env map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, name := range []string{"GOENV", "GOFLAGS", "GOPATH", "GOMODCACHE", "GOCACHE", "GOTOOLCHAIN"} {
		v, err := exec.Command("go", "env", name).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", name, err)
		}
		out[name] = strings.TrimSpace(string(v))
	}
	for k, v := range env {
		out[k] = v
	}
	return out
}

// startProcess runs bin with caddyfile under a fresh (or the given) home,
// free loopback ports in GPUGATE_ADDR / GPUGATE_ADMIN and opts.Env, waits
// until it serves, and stops it when the test ends.
// launch, when given, is the argv that starts the server instead.
func startProcess(t testing.TB, bin, caddyfile string, opts GatewayOptions, launch ...string) *Gateway {
	t.Helper()
	if !filepath.IsAbs(caddyfile) {
		caddyfile = Path(t, caddyfile)
	}
	g := &Gateway{t: t, bin: bin, config: caddyfile, Home: opts.Home, launch: launch, credential: opts.Credential}
	if g.Home == "" {
		g.Home = t.TempDir()
	}
	g.AdminAddr = FreeAddr(t)
	g.OpsAddr = FreeAddr(t)
	port := FreePort(t)
	if opts.PlainHTTP {
		g.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
	} else {
		g.URL = fmt.Sprintf("https://localhost:%d", port)
	}
	g.env = append(os.Environ(),
		"HOME="+g.Home,
		"XDG_DATA_HOME="+filepath.Join(g.Home, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(g.Home, "config"),
		"GPUGATE_ADMIN="+g.AdminAddr,
		"GPUGATE_ADDR="+g.URL,
		"GPUGATE_HTTP_PORT="+strconv.Itoa(FreePort(t)),
		"GPUGATE_OPS_PORT="+strings.TrimPrefix(g.OpsAddr, "127.0.0.1:"),
		"GPUGATE_SHUTDOWN_DELAY=0s",
	)
	for k, v := range opts.Env {
		g.env = append(g.env, k+"="+v)
	}
	g.Start()
	t.Cleanup(g.Stop)
	return g
}

// Start starts the process (again, after Stop or Kill) and waits until the
// site answers.
func (g *Gateway) Start() {
	g.t.Helper()
	g.logs = &SyncBuffer{}
	g.clientMu.Lock()
	if g.client != nil {
		g.client.CloseIdleConnections() // they went to the process that stopped
	}
	g.clientMu.Unlock()
	argv := g.launch
	if argv == nil {
		argv = []string{g.bin, "run", "--config", g.config, "--adapter", "gpugate"}
	}
	g.cmd = exec.Command(argv[0], argv[1:]...)
	g.cmd.Env = g.env
	g.cmd.Dir = g.Home
	if g.credential != nil {
		g.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: g.credential}
	}
	g.cmd.Stdout = g.logs
	g.cmd.Stderr = g.logs
	if err := g.cmd.Start(); err != nil {
		g.t.Fatalf("start gateway: %v", err)
	}
	g.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(g.cmd, g.done)
	g.waitReady()
}

// waitReady waits until the site port accepts connections (and, for TLS,
// completes a handshake with a certificate from the local CA).
func (g *Gateway) waitReady() {
	g.t.Helper()
	host := strings.TrimPrefix(strings.TrimPrefix(g.URL, "https://"), "http://")
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-g.done:
			g.t.Fatalf("gateway exited during startup:\n%s", g.logs.String())
		default:
		}
		c, err := net.DialTimeout("tcp", host, 200*time.Millisecond)
		if err == nil {
			c.Close()
			if !strings.HasPrefix(g.URL, "https://") {
				return
			}
			if resp, err := g.newClient().Get(g.URL + "/"); err == nil {
				resp.Body.Close()
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.t.Fatalf("gateway did not become ready at %s:\n%s", g.URL, g.logs.String())
}

// Client returns the gateway's HTTP client: it trusts the gateway's local
// CA (Caddy's internal issuer), follows no redirects, and keeps its
// connections, like a real client does; one per gateway.
func (g *Gateway) Client() *http.Client {
	g.clientMu.Lock()
	defer g.clientMu.Unlock()
	if g.client == nil {
		g.client = g.newClient()
	}
	return g.client
}

func (g *Gateway) newClient() *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: g.rootCAs()}, ForceAttemptHTTP2: true}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// RootCAPath is the PEM file of the gateway's local CA root, for clients
// outside Go (curl --cacert, Python's ssl.create_default_context).
func (g *Gateway) RootCAPath() string {
	return filepath.Join(g.Home, "data", "caddy", "pki", "authorities", "local", "root.crt")
}

func (g *Gateway) rootCAs() *x509.CertPool {
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(g.RootCAPath())
	if err != nil {
		// Not on disk: the Caddy storage is elsewhere (Redis).
		pem, err = adminRootPEM(g.AdminAddr)
	}
	if err == nil {
		pool.AppendCertsFromPEM(pem)
	}
	return pool
}

// Do sends a request to the gateway: method, path (joined to URL), optional
// body and headers (alternating name, value).
func (g *Gateway) Do(method, path string, body []byte, headers ...string) *http.Response {
	g.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	var req *http.Request
	var err error
	if rd != nil {
		req, err = http.NewRequest(method, g.URL+path, rd)
	} else {
		req, err = http.NewRequest(method, g.URL+path, nil)
	}
	if err != nil {
		g.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := g.Client().Do(req)
	if err != nil {
		g.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// Reload applies a (possibly different) Caddyfile through `gpugate reload`.
func (g *Gateway) Reload(caddyfile string) {
	g.t.Helper()
	if !filepath.IsAbs(caddyfile) {
		caddyfile = Path(g.t, caddyfile)
	}
	cmd := exec.Command(g.bin, "reload", "--config", caddyfile, "--adapter", "gpugate",
		"--address", g.AdminAddr, "--force")
	cmd.Env = g.env
	if out, err := cmd.CombinedOutput(); err != nil {
		g.t.Fatalf("reload: %v\n%s\ngateway log:\n%s", err, out, g.logs.String())
	}
	g.config = caddyfile
}

// Command runs the gateway binary with args (e.g. a CLI subcommand) in the
// gateway's environment and returns its combined output.
func (g *Gateway) Command(args ...string) (string, error) { return g.CommandInput("", args...) }

// CommandInput is Command with stdin (a secret piped to the CLI).
func (g *Gateway) CommandInput(stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, g.bin, args...)
	cmd.Env = g.env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Stop stops the process gracefully (SIGINT) and waits for it; safe to call
// more than once.
func (g *Gateway) Stop() { g.signal(syscall.SIGINT) }

// Kill stops the process with SIGKILL, as a crash would.
func (g *Gateway) Kill() { g.signal(syscall.SIGKILL) }

func (g *Gateway) signal(sig syscall.Signal) {
	if g.cmd == nil || g.cmd.Process == nil {
		return
	}
	_ = g.cmd.Process.Signal(sig)
	select {
	case <-g.done:
	case <-time.After(15 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.done
	}
	g.cmd = nil
}

// Logs returns everything the process printed so far.
func (g *Gateway) Logs() string { return g.logs.String() }

// SyncBuffer collects a process's output: a bytes.Buffer safe for
// concurrent writes and reads.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Env returns the process environment (KEY=VALUE), e.g. to read the ports
// the gateway was given.
func (g *Gateway) Env() []string { return append([]string(nil), g.env...) }
