package testkit

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
)

// reserved holds the lock files of the ports this test process handed
// out, open until the process exits.
var reserved struct {
	sync.Mutex
	files []*os.File
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago and
// that no other test process on the machine was handed.
//
// Caddy listens with SO_REUSEPORT, so two gateways given the same port
// (two test packages run at once, each asking the kernel for a free port)
// both start, and the kernel hands a connection to either: a test then
// sees another test's gateway. Each port handed out is therefore locked
// (flock on a file per port under the temp dir) until this process exits;
// a port locked by another process is skipped.
func FreePort(t testing.TB) int {
	t.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("gpugate-test-ports-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("free port: %v", err)
	}
	for range 100 {
		port, err := kernelFreePort()
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		if lockPort(dir, port) {
			return port
		}
	}
	t.Fatalf("free port: 100 ports in a row were locked by other test processes (%s)", dir)
	return 0
}

// kernelFreePort asks the kernel for a free loopback port.
func kernelFreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lockPort takes the port's lock file for the life of the process; false
// when another process (or an earlier call here) holds it.
func lockPort(dir string, port int) bool {
	f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("%d.lock", port)), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return false
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return false
	}
	reserved.Lock()
	reserved.files = append(reserved.files, f)
	reserved.Unlock()
	return true
}

// FreeAddr returns "127.0.0.1:<free port>".
func FreeAddr(t testing.TB) string {
	return "127.0.0.1:" + strconv.Itoa(FreePort(t))
}

// UnderCI reports whether the tests run under CI, where a missing
// dependency is a failure rather than a skip.
func UnderCI() bool {
	v := os.Getenv("CI")
	return v == "true" || v == "1"
}

// RequireDependency skips (locally) or fails (under CI) a test that cannot
// run because what is missing.
func RequireDependency(t testing.TB, what string, err error) {
	t.Helper()
	if UnderCI() {
		t.Fatalf("dependency %s unavailable under CI: %v", what, err)
	}
	t.Skipf("dependency %s unavailable: %v (install it; under CI=true this fails)", what, err)
}
