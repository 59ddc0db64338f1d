package testkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// RepoRoot returns the repository root (the folder holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testkit: cannot locate source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Path returns the absolute path of a repository file, e.g.
// Path(t, "caddyfiles/quickstart.Caddyfile").
func Path(t testing.TB, rel string) string {
	return filepath.Join(RepoRoot(t), filepath.FromSlash(rel))
}

// Binary returns the path of the built gpugate binary. GPUGATE_BIN names it
// when set (xcaddy.sh test sets it after building); otherwise the binary is
// built with xcaddy.sh build, which holds a file lock so test packages
// running in parallel build it once.
func Binary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("GPUGATE_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("GPUGATE_BIN=%s: %v", bin, err)
		}
		return bin
	}
	root := RepoRoot(t)
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(root, "xcaddy.sh"), "build")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xcaddy.sh build: %v\n%s", err, out)
	}
	return filepath.Join(root, "bin", "gpugate")
}
