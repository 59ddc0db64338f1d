package modal_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpugate/gpugate/modules/simulators/modalsim"
	"github.com/gpugate/gpugate/tests/testkit"
)

const appOrigin = "https://app.example.test"

// TestPreflightAnsweredAtTheGateway: a browser preflight needs no API key,
// never reaches Modal and costs no quota.
func TestPreflightAnsweredAtTheGateway(t *testing.T) {
	t.Parallel()
	d := deploy(t, modalsim.Options{}, map[string]string{"CORS_ORIGIN": appOrigin, "MULTITALK_DAILY_QUOTA": "2"})
	for i := 0; i < 5; i++ {
		r := d.send(t, "OPTIONS", "/api/v1/generate", "", "Origin", appOrigin,
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type,x-api-key")
		if r.Status != http.StatusNoContent {
			t.Fatalf("preflight: %d %s", r.Status, r.Text())
		}
		if r.Header.Get("Access-Control-Allow-Origin") != appOrigin ||
			!strings.Contains(r.Header.Get("Access-Control-Allow-Methods"), "POST") ||
			!strings.Contains(strings.ToLower(r.Header.Get("Access-Control-Allow-Headers")), "x-api-key") ||
			!strings.Contains(r.Header.Get("Vary"), "Origin") {
			t.Fatalf("preflight headers: %v", r.Header)
		}
	}
	// A foreign origin gets no CORS headers, so the browser stops there.
	r := d.send(t, "OPTIONS", "/api/v1/generate", "", "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("foreign origin allowed: %v", r.Header)
	}
	if n := len(d.sim.Requests()); n != 0 {
		t.Fatalf("preflights reached Modal: %v", d.sim.Paths())
	}
	// The quota (2 here) is untouched by the preflights.
	d.call(t, "GET", "/api/v1/jobs", "", "Origin", appOrigin).Want(t, http.StatusOK)
	d.call(t, "GET", "/api/v1/jobs", "", "Origin", appOrigin).Want(t, http.StatusOK)
}

// TestGatewayErrorsAreReadableByTheBrowser checks CORS headers on the
// gateway's own 403, 429 and 5xx, as a browser would need them.
func TestGatewayErrorsAreReadableByTheBrowser(t *testing.T) {
	t.Parallel()
	d := deploy(t, modalsim.Options{}, map[string]string{"CORS_ORIGIN": appOrigin, "MULTITALK_DAILY_QUOTA": "3",
		"MODAL_MAX_BODY": "1KB"})
	readable := func(r testkit.Reply, status int, message string) {
		t.Helper()
		r.Want(t, status, message)
		if r.Header.Get("Access-Control-Allow-Origin") != appOrigin || !strings.Contains(r.Header.Get("Vary"), "Origin") {
			t.Errorf("%d without CORS headers: %v", status, r.Header)
		}
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%d Content-Type %q", status, r.Header.Get("Content-Type"))
		}
	}
	readable(d.send(t, "GET", "/api/v1/jobs", "", "Origin", appOrigin), http.StatusForbidden, `{"message":"Forbidden"}`)
	readable(d.call(t, "POST", "/api/v1/generate", `{"prompt":"`+strings.Repeat("x", 2000)+`"}`, "Origin", appOrigin),
		http.StatusRequestEntityTooLarge, `{"message":"Request Too Long"}`)
	readable(d.call(t, "GET", "/api/v1/jobs", "", "Origin", appOrigin), http.StatusOK, `"jobs"`)
	d.call(t, "GET", "/api/v1/jobs", "", "Origin", appOrigin)
	r := d.call(t, "GET", "/api/v1/jobs", "", "Origin", appOrigin)
	readable(r, http.StatusTooManyRequests, `{"message":"Limit Exceeded"}`)
	if r.Header.Get("Retry-After") == "" || !strings.Contains(r.Header.Get("Access-Control-Expose-Headers"), "Retry-After") {
		t.Errorf("quota 429: Retry-After %q, exposed %q", r.Header.Get("Retry-After"), r.Header.Get("Access-Control-Expose-Headers"))
	}

	unreachable := deploy(t, modalsim.Options{}, map[string]string{"CORS_ORIGIN": appOrigin, "MODAL_URL": "https://localhost:1"})
	readable(unreachable.call(t, "GET", "/api/v1/jobs", "", "Origin", appOrigin), http.StatusBadGateway, `{"message":"Bad Gateway"}`)
}

// TestThrottle: the plan allows a burst of 100 at 50 req/s. Four clients
// sending as fast as they can are admitted for at least the burst, then get
// 429 Too Many Requests with Retry-After; the admitted count stays within
// burst + rate x elapsed, and throttled requests never reach Modal.
func TestThrottle(t *testing.T) {
	t.Parallel()
	d := deploy(t, modalsim.Options{}, nil)
	var mu sync.Mutex
	ok, throttled := 0, 0
	var bad []string
	client := d.gw.Client() // one client: kept-alive connections, no handshake per request
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 150; i++ {
				req, _ := http.NewRequest("GET", d.gw.URL+"/api/v1/jobs/none", nil)
				req.Header.Set("X-Api-Key", clientKey)
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				switch {
				case resp.StatusCode == http.StatusNotFound:
					ok++
				case resp.StatusCode == http.StatusTooManyRequests && string(body) == "{\"message\":\"Too Many Requests\"}\n" &&
					resp.Header.Get("Retry-After") != "":
					throttled++
				default:
					bad = append(bad, fmt.Sprintf("%d %s Retry-After=%q", resp.StatusCode, body, resp.Header.Get("Retry-After")))
				}
				done := throttled >= 20
				mu.Unlock()
				if done {
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d admitted, %d throttled in %v", ok, throttled, elapsed)
	if len(bad) > 0 {
		t.Fatalf("unexpected answers: %v", bad[:min(len(bad), 5)])
	}
	if limit := 100 + int(50*elapsed.Seconds()) + 4; ok < 100 || ok > limit || throttled == 0 {
		t.Fatalf("%d admitted, %d throttled in %v: want at least the burst (100), at most %d, and 429s after", ok, throttled, elapsed, limit)
	}
	if n := len(d.sim.Requests()); n != ok {
		t.Errorf("upstream received %d requests, want exactly the %d admitted", n, ok)
	}
}
