// Package build checks the gateway binary itself: the Caddy version it was
// built with, the modules it carries, and that every Caddyfile shipped in
// caddyfiles/ adapts and validates with it.
package build

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpugate/gpugate/tests/testkit"
)

func TestVersionIsPinnedCaddy(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(testkit.Binary(t), "version").CombinedOutput()
	if err != nil {
		t.Fatalf("gpugate version: %v\n%s", err, out)
	}
	// gpugate/<version>+<commit>, then Caddy's version.
	fields := strings.Fields(string(out))
	if len(fields) < 2 || !strings.HasPrefix(fields[0], "gpugate/") || !strings.Contains(fields[0], "+") || fields[1] != "v2.11.9" {
		t.Fatalf("gpugate version = %q, want gpugate/<version>+<commit> v2.11.9 ...", out)
	}
}

func TestListModulesShowsGpugateAndStandardModules(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(testkit.Binary(t), "list-modules").CombinedOutput()
	if err != nil {
		t.Fatalf("gpugate list-modules: %v\n%s", err, out)
	}
	for _, id := range []string{
		"http.handlers.gpugate_jwt_auth",
		"http.handlers.gpugate_usage_plan",
		"gpugate_usage_plans",
		"admin.api.gpugate_usage_plans",
		"admin.api.gpugate_console",
		"http.handlers.gpugate_runpod",
		"http.handlers.gpugate_modal",
		"http.handlers.gpugate_cors",
		"http.handlers.gpugate_json_map",
		"gpugate_gateway_responses",
		// Caddy's standard modules stay in the build.
		"http.handlers.reverse_proxy",
		"http.handlers.file_server",
		"tls.issuance.acme",
	} {
		if !containsLine(string(out), id) {
			t.Errorf("list-modules lacks %s", id)
		}
	}
}

// TestShippedCaddyfilesValidate adapts and provisions every Caddyfile in
// caddyfiles/ (caddy adapt --validate) with the environment an operator
// would set, so a shipped config can never be broken.
func TestShippedCaddyfilesValidate(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(testkit.Path(t, "caddyfiles/*.Caddyfile"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Caddyfiles found: %v", err)
	}
	redis := testkit.StartRedis(t, testkit.RedisOptions{})
	home := t.TempDir()
	env := []string{
		"HOME=" + home,
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"GPUGATE_REDIS_URL=" + redis.URL(0),
		"GPUGATE_DATA=" + filepath.Join(home, "state"),
		"GPUGATE_JWT_SECRET=validate-test-secret-0123456789abcdef",
		"RUNPOD_API_KEY=validate-test-runpod-key",
		"MULTITALK_API_KEY=validate-test-multitalk-key",
		"MODAL_KEY=wk-validate",
		"MODAL_SECRET=ws-validate",
		"GPUGATE_API_KEY=validate-test-api-key",
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			cmd := exec.Command(testkit.Binary(t), "adapt", "--config", file, "--adapter", "gpugate", "--validate")
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("adapt --validate %s: %v\n%s", filepath.Base(file), err, out)
			}
		})
	}
}

func containsLine(out, want string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) == want {
			return true
		}
	}
	return false
}

// TestReadmeCaddyfileAdapts adapts the Caddyfile example in README.md, so
// the front page never shows a config the gateway rejects.
func TestReadmeCaddyfileAdapts(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(testkit.Path(t, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```caddyfile\n")
	if !ok {
		t.Fatal("README.md has no ```caddyfile block")
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("README.md's caddyfile block is not closed")
	}
	file := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(file, []byte(block), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testkit.Binary(t), "adapt", "--config", file, "--adapter", "gpugate")
	cmd.Env = append(cmd.Environ(), "HOME="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("README's Caddyfile does not adapt: %v\n%s", err, out)
	}
}
