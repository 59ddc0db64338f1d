package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BareBinary returns the path of a plain Caddy of the gateway's Caddy
// version, for load benchmarks that compare gpugate with a bare
// reverse_proxy. CADDY_BARE_BIN names it when set (xcaddy.sh bench sets
// it); otherwise bin/caddy-bare is built with `xcaddy.sh build-bare`.
func BareBinary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("CADDY_BARE_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("CADDY_BARE_BIN=%s: %v", bin, err)
		}
		return bin
	}
	root := RepoRoot(t)
	cmd := exec.Command(filepath.Join(root, "xcaddy.sh"), "build-bare")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xcaddy.sh build-bare: %v\n%s", err, out)
	}
	return filepath.Join(root, "bin", "caddy-bare")
}

// StartBareCaddy runs the bare Caddy with the given Caddyfile (a path
// relative to the repository root, or absolute), exactly as StartGateway
// runs gpugate: same GPUGATE_ADDR / GPUGATE_ADMIN variables, local CA,
// readiness wait and cleanup. The Caddyfile may use only standard
// directives.
func StartBareCaddy(t testing.TB, caddyfile string, opts GatewayOptions) *Gateway {
	t.Helper()
	if !filepath.IsAbs(caddyfile) {
		caddyfile = Path(t, caddyfile)
	}
	g := &Gateway{t: t, bin: BareBinary(t), config: caddyfile, Home: opts.Home}
	if g.Home == "" {
		g.Home = t.TempDir()
	}
	g.AdminAddr = FreeAddr(t)
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
	)
	for k, v := range opts.Env {
		g.env = append(g.env, k+"="+v)
	}
	g.Start()
	t.Cleanup(g.Stop)
	return g
}
