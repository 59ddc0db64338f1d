package deploy

import (
	"bufio"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Secrets and settings every production Caddyfile needs to start.
const (
	jwtSecret = "deploy-test-jwt-secret-0123456789abcdef"
	apiKey    = "gpg_deploytestpartnerkey0123456789ab"
)

// productionCaddyfiles are the shipped files that examples/ deploys (the
// quickstart is for development and has its own tests).
var productionCaddyfiles = []string{"gateway", "cluster", "runpod", "modal"}

// baseEnv is the environment of a production Caddyfile: secrets, the
// embedded store under home, and redis for cluster.
func baseEnv(home, redisURL string) map[string]string {
	return map[string]string{
		"GPUGATE_DATA":       filepath.Join(home, "state"),
		"GPUGATE_REDIS_URL":  redisURL,
		"GPUGATE_JWT_SECRET": jwtSecret,
		"GPUGATE_API_KEY":    apiKey,
		"RUNPOD_API_KEY":     "deploy-test-runpod-key",
		"MULTITALK_API_KEY":  "deploy-test-multitalk-key",
		"MODAL_KEY":          "wk-deploy",
		"MODAL_SECRET":       "ws-deploy",
	}
}

// unprivileged is the user a test runs the gateway as: nobody when the
// tests run as root (a fresh home it owns), else the current user, who is
// unprivileged already.
type unprivileged struct {
	cred *syscall.Credential
	home string
}

func newUnprivileged(t *testing.T) unprivileged {
	t.Helper()
	// Not t.TempDir(): its parent is root's 0700 folder, which nobody
	// cannot enter.
	home, err := os.MkdirTemp("", "gpugate-unprivileged-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(home) })
	u := unprivileged{home: home}
	if os.Geteuid() != 0 {
		return u
	}
	const nobody = 65534
	if err := os.Chown(home, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	u.cred = &syscall.Credential{Uid: nobody, Gid: nobody, NoSetGroups: true}
	return u
}

// listeners returns the local addresses of the TCP sockets listening on
// port (from /proc/net/tcp and tcp6), e.g. "127.0.0.1" or "::".
func listeners(t *testing.T, port int) []string {
	t.Helper()
	var addrs []string
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 4 || fields[3] != "0A" { // 0A: LISTEN
				continue
			}
			hostHex, portHex, ok := strings.Cut(fields[1], ":")
			if !ok {
				continue
			}
			if p, err := strconv.ParseUint(portHex, 16, 16); err != nil || int(p) != port {
				continue
			}
			addrs = append(addrs, procIP(hostHex).String())
		}
		f.Close()
	}
	return addrs
}

// procIP decodes an address of /proc/net/tcp*: 32-bit words in host
// (little-endian) order.
func procIP(h string) net.IP {
	b, err := hex.DecodeString(h)
	if err != nil {
		return nil
	}
	for i := 0; i+4 <= len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	return net.IP(b)
}

// portOf is the port of a URL or host:port.
func portOf(t *testing.T, addr string) int {
	t.Helper()
	addr = strings.TrimPrefix(strings.TrimPrefix(addr, "https://"), "http://")
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// get GETs url with a plain client and returns status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// envValue finds KEY in a KEY=VALUE environment.
func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}
