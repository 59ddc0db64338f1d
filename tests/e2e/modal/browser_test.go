package modal_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gpugate/gpugate/tests/modalsim"
)

const appOrigin = "https://app.example.test"

// TestPreflightAnsweredAtTheGateway: a browser preflight needs no API key,
// never reaches Modal and costs no quota.
func TestPreflightAnsweredAtTheGateway(t *testing.T) {
	d := deploy(t, modalsim.Options{}, map[string]string{"CORS_ORIGIN": appOrigin, "MULTITALK_DAILY_QUOTA": "2"})
	for i := 0; i < 5; i++ {
		r := d.send(t, "OPTIONS", "/api/v1/generate", "", "Origin", appOrigin,
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type,x-api-key")
		if r.status != http.StatusNoContent {
			t.Fatalf("preflight: %d %s", r.status, r.body)
		}
		if r.header.Get("Access-Control-Allow-Origin") != appOrigin ||
			!strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "POST") ||
			!strings.Contains(strings.ToLower(r.header.Get("Access-Control-Allow-Headers")), "x-api-key") ||
			!strings.Contains(r.header.Get("Vary"), "Origin") {
			t.Fatalf("preflight headers: %v", r.header)
		}
	}
	// A foreign origin gets no CORS headers, so the browser stops there.
	r := d.send(t, "OPTIONS", "/api/v1/generate", "", "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("foreign origin allowed: %v", r.header)
	}
	if n := len(d.sim.Requests()); n != 0 {
		t.Fatalf("preflights reached Modal: %v", d.sim.Paths())
	}
	// The quota (2 here) is untouched by the preflights.
	d.call(t, "GET", "/api/v1/jobs", "", "Origin", appOrigin).want(t, http.StatusOK)
	d.call(t, "GET", "/api/v1/jobs", "", "Origin", appOrigin).want(t, http.StatusOK)
}

// TestGatewayErrorsAreReadableByTheBrowser checks CORS headers on the
// gateway's own 403, 429 and 5xx, as a browser would need them.
func TestGatewayErrorsAreReadableByTheBrowser(t *testing.T) {
	d := deploy(t, modalsim.Options{}, map[string]string{"CORS_ORIGIN": appOrigin, "MULTITALK_DAILY_QUOTA": "3",
		"MODAL_MAX_BODY": "1KB"})
	readable := func(r response, status int, message string) {
		t.Helper()
		r.want(t, status, message)
		if r.header.Get("Access-Control-Allow-Origin") != appOrigin || !strings.Contains(r.header.Get("Vary"), "Origin") {
			t.Errorf("%d without CORS headers: %v", status, r.header)
		}
		if r.header.Get("Content-Type") != "application/json" {
			t.Errorf("%d Content-Type %q", status, r.header.Get("Content-Type"))
		}
	}
	readable(d.send(t, "GET", "/api/v1/jobs", "", "Origin", appOrigin), http.StatusForbidden, `{"message":"Forbidden"}`)
	readable(d.call(t, "POST", "/api/v1/generate", `{"prompt":"`+strings.Repeat("x", 2000)+`"}`, "Origin", appOrigin),
		http.StatusRequestEntityTooLarge, `{"message":"Request Too Long"}`)
	readable(d.call(t, "GET", "/api/v1/jobs", "", "Origin", appOrigin), http.StatusOK, `"jobs"`)
	d.call(t, "GET", "/api/v1/jobs", "", "Origin", appOrigin)
	r := d.call(t, "GET", "/api/v1/jobs", "", "Origin", appOrigin)
	readable(r, http.StatusTooManyRequests, `{"message":"Limit Exceeded"}`)
	if r.header.Get("Retry-After") == "" || !strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "Retry-After") {
		t.Errorf("quota 429: Retry-After %q, exposed %q", r.header.Get("Retry-After"), r.header.Get("Access-Control-Expose-Headers"))
	}

	unreachable := deploy(t, modalsim.Options{}, map[string]string{"CORS_ORIGIN": appOrigin, "MODAL_URL": "https://localhost:1"})
	readable(unreachable.call(t, "GET", "/api/v1/jobs", "", "Origin", appOrigin), http.StatusBadGateway, `{"message":"Bad Gateway"}`)
}

// TestThrottle: the plan allows a burst of 100 at 50 req/s; a tight loop of
// 160 requests gets 429 Too Many Requests with Retry-After, and the
// throttled requests never reach Modal.
func TestThrottle(t *testing.T) {
	d := deploy(t, modalsim.Options{}, nil)
	ok, throttled := 0, 0
	for i := 0; i < 160; i++ {
		r := d.call(t, "GET", "/api/v1/jobs/none", "")
		switch r.status {
		case http.StatusNotFound:
			ok++
		case http.StatusTooManyRequests:
			throttled++
			if r.body != "{\"message\":\"Too Many Requests\"}\n" || r.header.Get("Retry-After") == "" {
				t.Fatalf("throttled: %q Retry-After %q", r.body, r.header.Get("Retry-After"))
			}
		default:
			t.Fatalf("request %d: %d %s", i, r.status, r.body)
		}
	}
	if ok < 100 || throttled == 0 {
		t.Fatalf("%d passed, %d throttled: want the burst of 100 to pass and the rest partly throttled", ok, throttled)
	}
	if n := len(d.sim.Requests()); n != ok {
		t.Errorf("upstream received %d requests, want exactly the %d admitted", n, ok)
	}
}
