package jwt

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/gpugate/gpugate/tests/testkit"
)

// writeDevDefault writes the development secret that quickstart.Caddyfile
// falls back to (read from the file itself, so the two cannot drift) and
// returns the file's path.
func writeDevDefault(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(testkit.Path(t, "caddyfiles/quickstart.Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`secret \{\$GPUGATE_JWT_SECRET:([^}]+)\}`).FindSubmatch(src)
	if m == nil {
		t.Fatal("quickstart.Caddyfile has no `secret {$GPUGATE_JWT_SECRET:<default>}` line")
	}
	path := filepath.Join(t.TempDir(), "dev-secret")
	if err := os.WriteFile(path, m[1], 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
