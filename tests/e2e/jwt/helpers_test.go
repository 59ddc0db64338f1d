package jwt

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/gpugate/gpugate/tests/testkit"
)

// writeDevDefault writes the development secret that `./xcaddy.sh run`
// gives the quickstart (read from the script itself, so the two cannot
// drift) and returns the file's path.
func writeDevDefault(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(testkit.Path(t, "xcaddy.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`export GPUGATE_JWT_SECRET=(\S+)`).FindSubmatch(src)
	if m == nil {
		t.Fatal("xcaddy.sh has no `export GPUGATE_JWT_SECRET=<default>` line")
	}
	path := filepath.Join(t.TempDir(), "dev-secret")
	if err := os.WriteFile(path, m[1], 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
