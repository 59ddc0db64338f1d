package deploy

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gpugate/gpugate/tests/testkit"
)

// TestProductionCaddyfilesStartUnprivileged starts every production
// Caddyfile as an unprivileged user (nobody, with a home of its own) on
// ports of 1024 and more (GPUGATE_HTTP_PORT, GPUGATE_HTTPS_PORT, the site's
// port, GPUGATE_OPS_PORT): it must start without a bind error, serve its
// health endpoints on the site and on the operations listener, and listen
// on loopback only, since its site is named localhost.
func TestProductionCaddyfilesStartUnprivileged(t *testing.T) {
	t.Parallel()
	redis := testkit.StartRedis(t, testkit.RedisOptions{})
	for _, name := range productionCaddyfiles {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			user := newUnprivileged(t)
			env := baseEnv(user.home, redis.URL(0))
			env["GPUGATE_HTTPS_PORT"] = "8443" // unused: the site names its port
			g := testkit.StartGateway(t, "caddyfiles/"+name+".Caddyfile", testkit.GatewayOptions{
				Home: user.home, Env: env, Credential: user.cred,
			})
			for _, bad := range []string{"permission denied", "bind:", "address already in use"} {
				if strings.Contains(g.Logs(), bad) {
					t.Fatalf("%s.Caddyfile as an unprivileged user logged %q:\n%s", name, bad, g.Logs())
				}
			}
			if user.cred != nil {
				// The files it wrote are nobody's: it did run as nobody.
				info, err := os.Stat(filepath.Join(user.home, "data", "caddy"))
				if err != nil {
					t.Fatal(err)
				}
				if uid := info.Sys().(*syscall.Stat_t).Uid; uid != user.cred.Uid {
					t.Errorf("Caddy's data dir belongs to uid %d, want %d", uid, user.cred.Uid)
				}
			}
			resp := g.Do("GET", "/healthz", nil)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("site /healthz = %d, want 200", resp.StatusCode)
			}
			if status, body := get(t, "http://"+g.OpsAddr+"/readyz"); status != 200 {
				t.Errorf("ops /readyz = %d %s, want 200", status, body)
			}
			httpPort := portOf(t, "127.0.0.1:"+envValue(g.Env(), "GPUGATE_HTTP_PORT"))
			for _, port := range []int{portOf(t, g.URL), httpPort, portOf(t, g.OpsAddr)} {
				addrs := listeners(t, port)
				if len(addrs) == 0 {
					t.Errorf("nothing listens on port %d", port)
				}
				for _, a := range addrs {
					if ip := net.ParseIP(a); ip == nil || !ip.IsLoopback() {
						t.Errorf("port %d listens on %s, want loopback only (the site is localhost)", port, a)
					}
				}
			}
		})
	}
}
