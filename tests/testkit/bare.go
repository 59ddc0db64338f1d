package testkit

import (
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
// directives; it is adapted by Caddy's own Caddyfile adapter (the bare
// binary has no gpugate adapter).
func StartBareCaddy(t testing.TB, caddyfile string, opts GatewayOptions) *Gateway {
	t.Helper()
	bin := BareBinary(t)
	if !filepath.IsAbs(caddyfile) {
		caddyfile = Path(t, caddyfile)
	}
	return startProcess(t, bin, caddyfile, opts, bin, "run", "--config", caddyfile, "--adapter", "caddyfile")
}
