package testkit

import (
	"net"
	"os"
	"strconv"
	"testing"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
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
