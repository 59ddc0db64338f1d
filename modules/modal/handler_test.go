package modal

import (
	"bufio"
	"encoding/json"
	"github.com/gpugate/gpugate/tests/testkit"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/gpugate/gpugate/modules/simulators/modalsim"
)

func TestInjectsGatewayCredentialsAndStripsTheClients(t *testing.T) {
	setSecrets(t)
	sim := modalsim.New(modalsim.Options{APIKey: testBearer, ProxyKey: testProxyKey, ProxySecret: testProxySecret}).Start(t)
	h := provision(t, &Handler{URL: sim.URL, Bearer: "{env.MODALTEST_BEARER}",
		ProxyAuthKey: "{env.MODALTEST_KEY}", ProxyAuthSecret: "{env.MODALTEST_SECRET}",
		StripHeaders: []string{"X-Client-Token"}, PathPrefix: "/api", UpstreamPrefix: "/api/v1"})

	body := `{"prompt":"a cat sings","image_s3_url":"s3://in/cat.png","audio_s3_urls":"s3://in/song.wav"}`
	req := request("POST", "https://gw.example/api/generate?trace=1", body,
		"Authorization", "Bearer client-jwt", "X-Api-Key", "client-api-key", "Cookie", "session=abc",
		"Modal-Key", "wk-client", "Modal-Secret", "ws-client", "X-Client-Token", "tok",
		"Proxy-Authorization", "Basic eA==", "Connection", "X-Hop", "X-Hop", "hop",
		"X-Forwarded-For", "6.6.6.6", "Content-Type", "application/json", "X-Request-Id", "req-1")
	rec := do(h, req)
	wantStatus(t, rec, http.StatusOK, `"status":"pending"`)

	got := sim.Received("/api/v1/generate")
	if len(got) != 1 {
		t.Fatalf("upstream received %v", sim.Paths())
	}
	r := got[0]
	if r.Query != "trace=1" || string(r.Body) != body {
		t.Errorf("query %q body %q: want them forwarded unchanged", r.Query, r.Body)
	}
	wantHeaders := map[string]string{
		"Authorization": "Bearer " + testBearer, "Modal-Key": testProxyKey, "Modal-Secret": testProxySecret,
		"X-Api-Key": "", "Cookie": "", "X-Client-Token": "", "Proxy-Authorization": "", "X-Hop": "",
		"X-Forwarded-For": "192.0.2.1", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "gw.example",
		"Content-Type": "application/json", "X-Request-Id": "req-1",
	}
	for name, want := range wantHeaders {
		if v := r.Header.Values(name); strings.Join(v, ",") != want {
			t.Errorf("upstream header %s = %q, want %q", name, v, want)
		}
	}
}

func TestUpstreamRejectingGatewayCredentialsIs502(t *testing.T) {
	setSecrets(t)
	for name, opts := range map[string]modalsim.Options{
		"bearer":     {APIKey: "another-key"},
		"proxy auth": {ProxyKey: "wk-other", ProxySecret: "ws-other"},
	} {
		t.Run(name, func(t *testing.T) {
			sim := modalsim.New(opts).Start(t)
			h := provision(t, &Handler{URL: sim.URL, Bearer: "{env.MODALTEST_BEARER}",
				ProxyAuthKey: "{env.MODALTEST_KEY}", ProxyAuthSecret: "{env.MODALTEST_SECRET}"})
			rec := do(h, request("GET", "/api/v1/jobs", ""))
			wantStatus(t, rec, http.StatusBadGateway, `{"message":"Bad Gateway"}`)
			if rec.Header().Get("WWW-Authenticate") != "" {
				t.Error("the upstream's WWW-Authenticate reached the client")
			}
		})
	}
}

func TestPathCannotLeaveTheUpstreamBase(t *testing.T) {
	sim := modalsim.New(modalsim.Options{}).Start(t)
	h := provision(t, &Handler{URL: sim.URL + "/api/v1", PathPrefix: "/api"})
	for _, target := range []string{
		"/api/../health", "/api/jobs/../../health", "/api/%2e%2e/health", "/api/%2E%2E/health",
		"/api/.%2e/health", "/api/..%2fhealth", "/api/jobs%2F..%2F..%2Fhealth", "/api/..%5chealth",
		"/api/a\\..\\health", "/api/./jobs", "/api/%2e/jobs", "/api/jobs%00", "/api/%252e%252e/health/%",
	} {
		req := request("GET", "/", "")
		u, err := url.ParseRequestURI(target) // as net/http parses a request line: no dot resolution
		if err != nil {
			continue // not even a parsable URL: net/http rejects it before any handler
		}
		req.URL, req.RequestURI = u, target
		rec := do(h, req)
		if rec.Code != http.StatusBadRequest && rec.Code != http.StatusNotFound {
			t.Errorf("%s: got %d %s, want 400", target, rec.Code, rec.Body)
		}
	}
	if got := sim.Requests(); len(got) != 0 {
		t.Fatalf("escape attempts reached the upstream: %v", sim.Paths())
	}

	// Absolute-form request targets and scheme-relative paths stay on the
	// configured host.
	req := httptest.NewRequest("GET", "http://evil.example/api/jobs?limit=1", nil)
	wantStatus(t, do(h, req), http.StatusOK, `"jobs"`)
	req = request("GET", "/", "")
	req.URL.Path = "//evil.example/api/jobs"
	wantStatus(t, do(h, req), http.StatusBadRequest, `"Invalid request path`)
	paths := sim.Paths()
	if len(paths) != 1 || paths[0] != "GET /api/v1/jobs?limit=1" {
		t.Fatalf("upstream received %v, want only GET /api/v1/jobs?limit=1", paths)
	}
	if host := sim.Requests()[0].Host; !strings.HasPrefix(sim.URL, "http://"+host) {
		t.Errorf("upstream Host = %q, want the configured one", host)
	}
}

func TestPathOutsidePrefixIs404(t *testing.T) {
	sim := modalsim.New(modalsim.Options{}).Start(t)
	h := provision(t, &Handler{URL: sim.URL, PathPrefix: "/api", UpstreamPrefix: "/api/v1"})
	for _, target := range []string{"/health", "/apis/jobs", "/"} {
		wantStatus(t, do(h, request("GET", target, "")), http.StatusNotFound, `{"message":"Not Found"}`)
	}
	// Escaped characters that are not separators reach the upstream as sent.
	do(h, request("GET", "/api/jobs/a%20b%3Fc", ""))
	if paths := sim.Paths(); len(paths) != 1 || paths[0] != "GET /api/v1/jobs/a%20b%3Fc" {
		t.Fatalf("upstream received %v", paths)
	}
}

func TestFollowsLongCallRedirects(t *testing.T) {
	sim := modalsim.New(modalsim.Options{CallLimit: 50 * time.Millisecond}).Start(t)
	h := provision(t, &Handler{URL: sim.URL, PathPrefix: "/api", UpstreamPrefix: "/api/v1"})
	rec := do(h, request("POST", "/api/slow?duration=220ms", `{"x":1}`, "Content-Type", "application/json"))
	wantStatus(t, rec, http.StatusOK, `"slept":"220ms"`)
	if !strings.Contains(rec.Body.String(), `"method":"POST"`) {
		t.Errorf("the function saw %s, want the original POST", rec.Body)
	}
	reqs := sim.Requests()
	if len(reqs) < 3 {
		t.Fatalf("upstream received %v, want the POST and at least two polls", sim.Paths())
	}
	for _, r := range reqs[1:] {
		if r.Method != "GET" || !strings.Contains(r.Query, "__modal_function_call_id=fc-") || !strings.Contains(r.Query, "duration=220ms") {
			t.Errorf("poll %s %s?%s, want GET with the function call id", r.Method, r.Path, r.Query)
		}
	}
}

func TestPassesLongCallRedirectsBackThroughTheGateway(t *testing.T) {
	sim := modalsim.New(modalsim.Options{CallLimit: 30 * time.Millisecond}).Start(t)
	h := provision(t, &Handler{URL: sim.URL, PathPrefix: "/api", UpstreamPrefix: "/api/v1", Redirects: RedirectsPass})
	rec := do(h, request("GET", "/api/slow?duration=150ms", ""))
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("got %d, want 303", rec.Code)
	}
	loc := rec.Header().Get("Location")
	if !strings.HasPrefix(loc, "/api/slow?") || !strings.Contains(loc, "__modal_function_call_id=fc-") {
		t.Fatalf("Location %q, want the gateway path /api/slow with the call id", loc)
	}
	// The client follows it through the gateway until the result is there.
	for i := 0; rec.Code == http.StatusSeeOther && i < 20; i++ {
		rec = do(h, request("GET", rec.Header().Get("Location"), ""))
	}
	wantStatus(t, rec, http.StatusOK, `"slept":"150ms"`)
}

func TestRedirectOffTheEndpointIsNotFollowed(t *testing.T) {
	var hits atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "https://elsewhere.example/steal", http.StatusSeeOther)
	}))
	t.Cleanup(up.Close)
	h := provision(t, &Handler{URL: up.URL})
	rec := do(h, request("GET", "/x", ""))
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "https://elsewhere.example/steal" || hits.Load() != 1 {
		t.Fatalf("got %d Location %q after %d upstream calls", rec.Code, rec.Header().Get("Location"), hits.Load())
	}
}

func TestTimeoutIs504(t *testing.T) {
	sim := modalsim.New(modalsim.Options{}).Start(t)
	h := provision(t, &Handler{URL: sim.URL, Timeout: caddy.Duration(80 * time.Millisecond)})
	rec := do(h, request("GET", "/api/v1/slow?duration=1s", ""))
	wantStatus(t, rec, http.StatusGatewayTimeout, `{"message":"Endpoint request timed out"}`)
}

func TestFollowBudgetIs504(t *testing.T) {
	sim := modalsim.New(modalsim.Options{CallLimit: 30 * time.Millisecond}).Start(t)
	h := provision(t, &Handler{URL: sim.URL, FollowFor: caddy.Duration(200 * time.Millisecond)})
	start := time.Now()
	rec := do(h, request("GET", "/api/v1/slow?duration=3s", ""))
	wantStatus(t, rec, http.StatusGatewayTimeout, `{"message":"Endpoint request timed out"}`)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v, want about the 200ms budget", took)
	}
}

func TestUnreachableIs502(t *testing.T) {
	up := httptest.NewServer(http.NotFoundHandler())
	url := up.URL
	up.Close()
	h := provision(t, &Handler{URL: url})
	wantStatus(t, do(h, request("GET", "/x", "")), http.StatusBadGateway, `{"message":"Bad Gateway"}`)
}

func TestBodyLimitIs413(t *testing.T) {
	sim := modalsim.New(modalsim.Options{}).Start(t)
	h := provision(t, &Handler{URL: sim.URL, MaxBody: 1024})

	// Declared too large: refused before the upstream is contacted.
	rec := do(h, request("POST", "/api/v1/slow?duration=0s", strings.Repeat("x", 2048)))
	wantStatus(t, rec, http.StatusRequestEntityTooLarge, `{"message":"Request Too Long"}`)
	if n := len(sim.Requests()); n != 0 {
		t.Fatalf("upstream received %d requests, want none", n)
	}
	// Chunked (unknown length): cut off while streaming.
	req := request("POST", "/api/v1/slow?duration=0s", "")
	req.Body = io.NopCloser(strings.NewReader(strings.Repeat("x", 4096)))
	req.ContentLength = -1
	wantStatus(t, do(h, req), http.StatusRequestEntityTooLarge, `{"message":"Request Too Long"}`)
	// At the limit: passes.
	wantStatus(t, do(h, request("POST", "/api/v1/slow?duration=0s", strings.Repeat("x", 1024))), http.StatusOK, `"body_bytes":1024`)
}

func TestStreamsResponsesUnbuffered(t *testing.T) {
	sim := modalsim.New(modalsim.Options{}).Start(t)
	gw := serveOverHTTP(t, provision(t, &Handler{URL: sim.URL}))
	resp, err := http.Get(gw + "/api/v1/stream?events=2&interval=3s")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	start := time.Now()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "event: progress\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("first event took %v: the response was buffered", took)
	}
}

func TestTLSUpstreamGetsHostAndSNI(t *testing.T) {
	sim := modalsim.New(modalsim.Options{}).StartTLS(t)
	t.Setenv("MODALTEST_CA", sim.CAFile)
	h := provision(t, &Handler{URL: sim.URL, TLSCA: "{env.MODALTEST_CA}"})
	wantStatus(t, do(h, request("GET", "/api/v1/health", "")), http.StatusOK, `"healthy"`)
	r := sim.Requests()[0]
	if r.ServerName != "localhost" || !strings.HasPrefix(r.Host, "localhost:") {
		t.Fatalf("SNI %q Host %q, want localhost", r.ServerName, r.Host)
	}

	// Without the CA the upstream is not trusted: 502, nothing sent.
	untrusting := provision(t, &Handler{URL: sim.URL})
	wantStatus(t, do(untrusting, request("GET", "/api/v1/health", "")), http.StatusBadGateway, "Bad Gateway")
	if n := len(sim.Requests()); n != 1 {
		t.Fatalf("upstream received %d requests, want 1", n)
	}
}

func TestMultiTalkJobThroughTheHandler(t *testing.T) {
	setSecrets(t)
	sim := modalsim.New(modalsim.Options{APIKey: testBearer, JobStep: 20 * time.Millisecond}).Start(t)
	h := provision(t, &Handler{URL: sim.URL, Bearer: "{env.MODALTEST_BEARER}", PathPrefix: "/api", UpstreamPrefix: "/api/v1"})
	rec := do(h, request("POST", "/api/generate", `{"prompt":"p","image_s3_url":"s3://b/i.png","audio_s3_urls":["s3://b/a.wav"]}`))
	wantStatus(t, rec, http.StatusOK, `"job_id"`)
	var job struct {
		JobID string `json:"job_id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &job); err != nil || job.JobID == "" {
		t.Fatalf("generate answered %s (%v)", rec.Body, err)
	}
	testkit.Eventually(t, 5*time.Second, "the job to complete", func() bool {
		return strings.Contains(do(h, request("GET", "/api/jobs/"+job.JobID, "")).Body.String(), `"status":"completed"`)
	})
	wantStatus(t, do(h, request("POST", "/api/generate", `{"prompt":""}`)), http.StatusUnprocessableEntity, `"detail"`)
}
