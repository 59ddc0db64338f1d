package loopback

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gpugate/gpugate/tests/testkit"
)

// fakeTB collects the cleanups Serve registers, so the test can run them
// (and check for leaks) before it ends.
type fakeTB struct {
	*testing.T
	cleanups []func()
}

func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }

func TestServeAndCloseLeaveNothingRunning(t *testing.T) {
	leaks := testkit.SnapshotGoroutines()
	tb := &fakeTB{T: t}
	s := Serve(tb, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }), nil)
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Fatalf("URL %q", s.URL)
	}
	client := &http.Client{Transport: &http.Transport{}}
	resp, err := client.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" {
		t.Fatalf("body %q", body)
	}
	client.CloseIdleConnections()
	for _, fn := range tb.cleanups {
		fn()
	}
	s.Close() // again: a no-op
	if _, err := client.Get(s.URL); err == nil {
		t.Fatal("the listener still accepts after Close")
	}
	leaks.NoLeaks(t)
}

// fatalTB records a Fatalf instead of stopping the test.
type fatalTB struct {
	*testing.T
	fatal string
}

func (f *fatalTB) Fatalf(format string, args ...any) { f.fatal = fmt.Sprintf(format, args...) }

func TestServeTLSNeedsACertificate(t *testing.T) {
	tb := &fatalTB{T: t}
	if s := Serve(tb, http.NotFoundHandler(), &tls.Config{MinVersion: tls.VersionTLS12}); s != nil || !strings.Contains(tb.fatal, "no certificate") {
		t.Fatalf("Serve with a TLS config without certificate: %v, %q", s, tb.fatal)
	}
}
