package runpod

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/gpugate/gpugate/modules/jwtauth"
	"github.com/gpugate/gpugate/tests/testkit"
)

// TestDevelopmentSecretRefused: runpod.Caddyfile (whole RunPod account
// behind it) does not start with the published development secret, and the
// error says why and how to make a secret.
func TestDevelopmentSecretRefused(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(testkit.Binary(t), "validate", "--config", testkit.Path(t, "caddyfiles/runpod.Caddyfile"), "--adapter", "gpugate")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_DATA_HOME="+t.TempDir(),
		"GPUGATE_JWT_SECRET="+jwtauth.DevelopmentSecret, "RUNPOD_API_KEY="+runpodKey, "GPUGATE_BIND=0.0.0.0",
		"GPUGATE_ADDR=https://localhost:"+strconv.Itoa(testkit.FreePort(t)), "GPUGATE_ADMIN="+testkit.FreeAddr(t))
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("runpod.Caddyfile validated with the development secret:\n%s", out)
	}
	for _, want := range []string{"jwt_auth secret", "published development secret", "beyond loopback", "openssl rand -base64 48"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), jwtauth.DevelopmentSecret) {
		t.Error("the error repeats the secret")
	}
}
