package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gpugate/gpugate/tests/testkit"
)

// TestAdminEndpointIsAUserOnlySocket runs gateway.Caddyfile with its admin
// endpoint on a unix socket (the default of the production Caddyfiles): the
// socket is the gateway user's alone (mode 0200), the CLI reaches it through
// GPUGATE_ADMIN without a flag, and another local user cannot.
func TestAdminEndpointIsAUserOnlySocket(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the CLI as another user")
	}
	t.Parallel()
	// A directory everybody may enter, so that only the socket's own mode
	// stands between another user and the admin endpoint.
	dir, err := os.MkdirTemp("", "gpugate-admin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "admin.sock")
	admin := "unix/" + sock
	home := t.TempDir()
	env := baseEnv(home, "")
	env["GPUGATE_ADMIN"] = admin
	env["GPUGATE_UPSTREAM"] = testkit.FreeAddr(t)
	g := testkit.StartGateway(t, "caddyfiles/gateway.Caddyfile", testkit.GatewayOptions{Env: env, Home: home})

	st, err := os.Stat(sock)
	if err != nil {
		t.Fatalf("no admin socket: %v\n%s", err, g.Logs())
	}
	if st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o200 {
		t.Errorf("admin socket mode %v, want a socket with 0200 (its user only)", st.Mode())
	}

	cli := func(cred *syscall.Credential, args ...string) (string, error) {
		cmd := exec.Command(testkit.Binary(t), args...)
		cmd.Env = append(os.Environ(), "GPUGATE_ADMIN="+admin, "HOME="+home)
		if cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := cli(nil, "usage-plans", "plans")
	if err != nil {
		t.Fatalf("usage-plans plans as the gateway's user: %v\n%s", err, out)
	}
	var plans any
	if json.Unmarshal([]byte(out), &plans) != nil || !strings.Contains(out, "basic") {
		t.Errorf("usage-plans plans printed %q, want the plans as JSON", out)
	}
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534, NoSetGroups: true}
	out, err = cli(nobody, "usage-plans", "keys", "create", "--name", "intruder", "--plan", "basic")
	if err == nil || !strings.Contains(out, "permission denied") {
		t.Errorf("another user reached the admin endpoint: %v\n%s", err, out)
	}
}
