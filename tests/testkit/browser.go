package testkit

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// BrowserOptions tunes StartBrowser.
type BrowserOptions struct {
	// TrustSPKI are base64 SHA-256 hashes of public keys (SPKI) whose
	// certificates Chromium accepts although no root it knows signed them:
	// Gateway.CertificateSPKI, for a gateway on Caddy's local CA.
	TrustSPKI []string
	// Timeout bounds everything done in the browser (default 2 minutes).
	Timeout time.Duration
}

// chromiumNames are the browser binaries tried, Debian's first.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome"}

// Chromium returns the path of the headless browser (Debian's chromium
// package); it skips the test locally and fails it under CI when there is
// none.
func Chromium(t testing.TB) string {
	t.Helper()
	var err error
	for _, name := range chromiumNames {
		var path string
		if path, err = exec.LookPath(name); err == nil {
			return path
		}
	}
	RequireDependency(t, "chromium (apt-get install -y chromium)", err)
	return ""
}

// StartBrowser starts a headless Chromium with a fresh profile for one test
// and returns a chromedp context of a tab in it (run actions with
// chromedp.Run). The browser is closed when the test ends.
//
// The flags are those that work on a machine without a display or network:
// no sandbox (tests run as root), no GPU, no QUIC, and none of Chromium's own
// background connections (updates, sync, safe browsing), which would only
// be refused here.
func StartBrowser(t testing.TB, opts BrowserOptions) context.Context {
	t.Helper()
	path := Chromium(t)
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Minute
	}
	flags := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.WindowSize(1280, 800),
	}
	if len(opts.TrustSPKI) > 0 {
		flags = append(flags, chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(opts.TrustSPKI, ",")))
	}
	timeout, cancelTimeout := context.WithTimeout(context.Background(), opts.Timeout)
	alloc, cancelAlloc := chromedp.NewExecAllocator(timeout, flags...)
	ctx, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc() // kills the browser and waits for it
		cancelTimeout()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start %s: %v", path, err)
	}
	return ctx
}

// CertificateSPKI returns the base64 SHA-256 of the public key in the
// certificate the gateway serves (checked against its local CA), for
// BrowserOptions.TrustSPKI: the browser then accepts exactly this gateway's
// certificate, and no other untrusted one.
func (g *Gateway) CertificateSPKI() string {
	g.t.Helper()
	host := strings.TrimPrefix(g.URL, "https://")
	conn, err := tls.Dial("tcp", host, &tls.Config{RootCAs: g.rootCAs(), ServerName: "localhost", MinVersion: tls.VersionTLS12})
	if err != nil {
		g.t.Fatalf("TLS handshake with the gateway: %v", err)
	}
	defer conn.Close()
	return spki(conn.ConnectionState().PeerCertificates[0])
}

func spki(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}
