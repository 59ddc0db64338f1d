package modal_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gpugate/gpugate/modules/simulators/modalsim"
	"github.com/gpugate/gpugate/tests/testkit"
)

// browserPage is the front end the test serves: its script calls the gateway
// named in the page's query (?gateway=...&key=...) with fetch, as a browser
// app of the MultiTalk API does, and hands back what the page could read.
const browserPage = `<!doctype html>
<meta charset="utf-8">
<title>gpugate browser check</title>
<script>
const params = new URLSearchParams(location.search);
const gateway = params.get("gateway");
const apiKey = params.get("key");

// call fetches gateway+path and returns what the page can read: status, body
// and the headers the gateway exposes, or the error when fetch rejects.
async function call(path, init) {
	try {
		const r = await fetch(gateway + path, init || {});
		return {fetched: true, status: r.status, body: await r.text(), error: "",
			retryAfter: r.headers.get("Retry-After") || "", requestId: r.headers.get("X-Request-Id") || ""};
	} catch (e) {
		return {fetched: false, status: 0, body: "", error: String(e), retryAfter: "", requestId: ""};
	}
}

function withKey(init) {
	init = init || {};
	init.headers = Object.assign({"X-Api-Key": apiKey}, init.headers || {});
	return init;
}

function generate() {
	return call("/api/v1/generate", withKey({method: "POST", headers: {"Content-Type": "application/json"},
		body: JSON.stringify({prompt: "a browser asks", image_url: "s3://in/face.png", audio_url: "s3://in/voice.wav"})}));
}

// generateAndRead submits a job in the old API Gateway shape and reads it
// until it is completed.
async function generateAndRead() {
	const submitted = await generate();
	if (!submitted.fetched || submitted.status !== 200) {
		return [submitted];
	}
	const id = JSON.parse(submitted.body).job_id;
	let job = null;
	for (let i = 0; i < 200; i++) {
		job = await call("/api/v1/jobs/" + encodeURIComponent(id), withKey());
		if (!job.fetched || job.status !== 200 || JSON.parse(job.body).status === "completed") {
			break;
		}
		await new Promise(resolve => setTimeout(resolve, 50));
	}
	return [submitted, job];
}

// listJobs lists the jobs n times in a row (to spend a quota).
async function listJobs(n) {
	const out = [];
	for (let i = 0; i < n; i++) {
		out.push(await call("/api/v1/jobs", withKey()));
	}
	return out;
}
</script>
<p>gpugate browser check</p>
`

// fetched is what the page's call() returns.
type fetched struct {
	Fetched    bool   `json:"fetched"`
	Status     int    `json:"status"`
	Body       string `json:"body"`
	Error      string `json:"error"`
	RetryAfter string `json:"retryAfter"`
	RequestID  string `json:"requestId"`
}

// inPage opens the page at pageURL for gateway g in the browser tab and
// evaluates script there, a promise of the page's results.
func inPage(t *testing.T, tab context.Context, pageURL string, g *testkit.Gateway, script string) []fetched {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, time.Minute)
	defer cancel()
	target := pageURL + "/?" + url.Values{"gateway": {g.URL}, "key": {clientKey}}.Encode()
	if err := chromedp.Do(ctx, chromedp.Navigate(target)); err != nil {
		t.Fatalf("open %s: %v", target, err)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[[]fetched](script, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s on %s: %v", script, pageURL, err)
	}
	return out
}

// TestRealBrowser drives Debian's headless Chromium against modal.Caddyfile
// and the MultiTalk simulator: a page from the allowed origin submits a job
// with X-Api-Key through fetch and reads it until completed; the same page
// from another origin is stopped by the browser (fetch rejects, nothing
// reaches Modal); the gateway's 403 and 429 are readable by the allowed
// page, X-Request-Id and Retry-After included (CORS on errors).
//
// TLS: the gateways' certificates come from Caddy's local CA, which Chromium
// does not trust. Rather than --ignore-certificate-errors (any certificate
// for any origin) or installing the CA into an NSS database under a made-up
// HOME (certutil, one more package), Chromium gets
// --ignore-certificate-errors-spki-list with the hash of exactly the public
// key each gateway serves, read over a TLS connection verified against that
// gateway's local CA: those certificates are accepted, no other.
func TestRealBrowser(t *testing.T) {
	testkit.Chromium(t) // skips early (fails under CI) without a browser

	// One page server, two origins: http://localhost:<port> is the allowed
	// front end, http://127.0.0.1:<port> another site.
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(browserPage))
	}))
	t.Cleanup(page.Close)
	foreign := page.URL
	allowed := strings.Replace(page.URL, "http://127.0.0.1:", "http://localhost:", 1)

	d := deploy(t, modalsim.Options{JobStep: 100 * time.Millisecond}, map[string]string{"CORS_ORIGIN": allowed})
	limited := deploy(t, modalsim.Options{}, map[string]string{"CORS_ORIGIN": allowed, "MULTITALK_DAILY_QUOTA": "2"})
	tab := testkit.StartBrowser(t, testkit.BrowserOptions{TrustSPKI: []string{d.gw.CertificateSPKI(), limited.gw.CertificateSPKI()}})

	t.Run("the allowed origin submits a job and reads it", func(t *testing.T) {
		got := inPage(t, tab, allowed, d.gw, "generateAndRead()")
		if len(got) != 2 || got[0].Status != http.StatusOK || !strings.Contains(got[0].Body, `"status":"pending"`) {
			t.Fatalf("generate from %s: %+v", allowed, got)
		}
		job := got[1]
		if !job.Fetched || job.Status != http.StatusOK || !strings.Contains(job.Body, `"status":"completed"`) ||
			!strings.Contains(job.Body, `"s3_output":"s3://`) || job.RequestID == "" {
			t.Fatalf("the page read the job as %+v", job)
		}
		generates := d.sim.Received("/api/v1/generate")
		if len(generates) != 1 {
			t.Fatalf("Modal received %d generate calls, want 1: %v", len(generates), d.sim.Paths())
		}
		var body map[string]any
		if err := json.Unmarshal(generates[0].Body, &body); err != nil || body["image_s3_url"] != "s3://in/face.png" {
			t.Errorf("Modal got %s, want the mapped MultiTalk shape", generates[0].Body)
		}
		if h := generates[0].Header; h.Get("X-Api-Key") != "" || h.Get("Authorization") != "Bearer "+multitalkKey {
			t.Errorf("Modal got the browser's key or lacks the gateway's: %v", generates[0].Header)
		}
	})

	t.Run("another origin is blocked by the browser", func(t *testing.T) {
		before := len(d.sim.Requests())
		got := inPage(t, tab, foreign, d.gw, "Promise.all([generate()])")
		if len(got) != 1 || got[0].Fetched || !strings.Contains(got[0].Error, "Failed to fetch") {
			t.Fatalf("fetch from %s: %+v, want it rejected", foreign, got)
		}
		if after := len(d.sim.Requests()); after != before {
			t.Errorf("a request from the foreign origin reached Modal: %v", d.sim.Paths()[before:])
		}
	})

	t.Run("a 403 is readable", func(t *testing.T) {
		got := inPage(t, tab, allowed, d.gw, `Promise.all([call("/api/v1/jobs")])`) // no key
		if len(got) != 1 || !got[0].Fetched || got[0].Status != http.StatusForbidden ||
			got[0].Body != "{\"message\":\"Forbidden\"}\n" || got[0].RequestID == "" {
			t.Fatalf("the page read %+v, want 403 {\"message\":\"Forbidden\"} with X-Request-Id", got)
		}
	})

	t.Run("a 429 is readable", func(t *testing.T) {
		got := inPage(t, tab, allowed, limited.gw, "listJobs(3)")
		if len(got) != 3 || got[0].Status != http.StatusOK || got[1].Status != http.StatusOK {
			t.Fatalf("the first two calls of a quota of 2: %+v", got)
		}
		if last := got[2]; !last.Fetched || last.Status != http.StatusTooManyRequests ||
			last.Body != "{\"message\":\"Limit Exceeded\"}\n" || last.RetryAfter == "" || last.RequestID == "" {
			t.Fatalf("the page read %+v, want 429 {\"message\":\"Limit Exceeded\"} with Retry-After and X-Request-Id", last)
		}
	})
}
