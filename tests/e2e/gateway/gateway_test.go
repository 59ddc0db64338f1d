// Package gateway holds the end-to-end tests of cors, json_map and
// gateway_responses: they run the built gateway with
// testdata/gateway.Caddyfile in front of a recording upstream and check
// what a browser and the upstream see.
package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gpugate/gpugate/tests/testkit"
)

const (
	appOrigin = "https://app.example.com"
	jwtSecret = "e2e-gateway-secret-0123456789-abcdefghij"
)

// startUpstream is a job API that, like many apps, adds its own
// permissive CORS header.
func startUpstream(t *testing.T) *testkit.Upstream {
	return testkit.StartUpstream(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"job_id":"job-1","status":"pending"}`)
	})
}

type deployment struct {
	gw *testkit.Gateway
	up *testkit.Upstream
}

func deploy(t *testing.T) *deployment {
	up := startUpstream(t)
	gw := testkit.StartGateway(t, testkit.Path(t, "tests/e2e/gateway/testdata/gateway.Caddyfile"), testkit.GatewayOptions{
		Env: map[string]string{"E2E_UPSTREAM": strings.TrimPrefix(up.URL, "http://"), "E2E_JWT_SECRET": jwtSecret},
	})
	return &deployment{gw: gw, up: up}
}

func (d *deployment) send(t *testing.T, method, path, body string, headers ...string) testkit.Reply {
	t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	return d.gw.Call(method, path, b, headers...)
}

// browserReadable fails unless a browser on appOrigin may read r.
func browserReadable(t *testing.T, r testkit.Reply) {
	t.Helper()
	if v := r.Header.Values("Access-Control-Allow-Origin"); len(v) != 1 || v[0] != appOrigin {
		t.Errorf("%d: Access-Control-Allow-Origin %q, want exactly %s", r.Status, v, appOrigin)
	}
	if r.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("%d: no Access-Control-Allow-Credentials", r.Status)
	}
	if !strings.Contains(strings.Join(r.Header.Values("Vary"), ","), "Origin") {
		t.Errorf("%d: no Vary: Origin", r.Status)
	}
}

func TestBrowserPreflightNeedsNoTokenAndStaysAtTheGateway(t *testing.T) {
	t.Parallel()
	d := deploy(t)
	r := d.send(t, http.MethodOptions, "/secure/generate", "", "Origin", "https://lab.studio.example.com",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type")
	if r.Status != http.StatusNoContent {
		t.Fatalf("preflight status %d: %s", r.Status, r.Body)
	}
	want := map[string]string{
		"Access-Control-Allow-Origin":      "https://lab.studio.example.com",
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Methods":     "GET, POST, DELETE",
		"Access-Control-Allow-Headers":     "Content-Type, Authorization",
		"Access-Control-Max-Age":           "600",
	}
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	r = d.send(t, http.MethodOptions, "/api/generate", "", "Origin", "https://studio.example.com.evil.io",
		"Access-Control-Request-Method", "POST")
	if r.Status != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("foreign origin: %d %v", r.Status, r.Header)
	}
	if n := len(d.up.Requests()); n != 0 {
		t.Fatalf("%d preflights reached the upstream", n)
	}
}

func TestCORSRequestWithMultiTalkMapping(t *testing.T) {
	t.Parallel()
	d := deploy(t)
	r := d.send(t, http.MethodPost, "/api/generate",
		`{"prompt":"a cat","image_url":"s3://in/cat.png","audio_url":"s3://in/cat.wav","debug":true}`,
		"Origin", appOrigin, "Content-Type", "application/json", "X-Request-Id", "client-chosen")
	if r.Status != http.StatusOK {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	browserReadable(t, r)
	if r.Header.Get("Access-Control-Expose-Headers") != "X-Request-Id, Retry-After" {
		t.Errorf("Expose-Headers %q", r.Header.Get("Access-Control-Expose-Headers"))
	}
	if string(r.Body) != `{"id":"job-1","status":"pending"}` {
		t.Errorf("mapped testkit.Reply %s", r.Body)
	}
	reqs := d.up.Requests()
	if len(reqs) != 1 {
		t.Fatalf("upstream saw %d requests", len(reqs))
	}
	var got map[string]any
	if err := json.Unmarshal(reqs[0].Body, &got); err != nil {
		t.Fatalf("upstream body %q: %v", reqs[0].Body, err)
	}
	want := `{"audio_s3_urls":["s3://in/cat.wav"],"image_s3_url":"s3://in/cat.png","options":{"sample_steps":20},"prompt":"a cat"}`
	if string(reqs[0].Body) != want {
		t.Errorf("upstream got %s\nwant        %s", reqs[0].Body, want)
	}
	id := r.Header.Get("X-Request-Id")
	if id == "" || id == "client-chosen" || reqs[0].Header.Get("X-Request-Id") != id {
		t.Errorf("request id: testkit.Reply %q, upstream %q", id, reqs[0].Header.Get("X-Request-Id"))
	}
	if line := accessLogLine(t, d.gw, "/api/generate"); line["uuid"] != id {
		t.Errorf("access log uuid %v, testkit.Reply X-Request-Id %q", line["uuid"], id)
	}
	if reqs[0].Header.Get("Content-Length") != "" && reqs[0].Header.Get("Content-Length") != strconv.Itoa(len(reqs[0].Body)) {
		t.Errorf("Content-Length %s for %d bytes", reqs[0].Header.Get("Content-Length"), len(reqs[0].Body))
	}
}

func TestGatewayErrorsAreRestyledReadableAndLogged(t *testing.T) {
	t.Parallel()
	d := deploy(t)

	// 401 from jwt_auth: restyled body, request id in header, body and access log, CORS headers.
	r := d.send(t, http.MethodGet, "/secure/jobs", "", "Origin", appOrigin)
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	browserReadable(t, r)
	id := r.Header.Get("X-Request-Id")
	if n := len(r.Header.Values("X-Request-Id")); n != 1 {
		t.Errorf("%d X-Request-Id headers", n)
	}
	var body map[string]string
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("401 body is not JSON: %s", r.Body)
	}
	if body["error"] != "unauthorized" || body["request_id"] != id || id == "" || body["path"] != "/secure/jobs" || body["message"] == "" {
		t.Errorf("401 body %s (X-Request-Id %q)", r.Body, id)
	}
	if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Www-Authenticate") == "" {
		t.Errorf("401 headers %v", r.Header)
	}
	if line := accessLogLine(t, d.gw, "/secure/jobs"); line["uuid"] != id {
		t.Errorf("access log uuid %v, testkit.Reply X-Request-Id %q", line["uuid"], id)
	} else if hdrs, _ := line["resp_headers"].(map[string]any); hdrs == nil || !strings.Contains(jsonString(hdrs["X-Request-Id"]), id) {
		t.Errorf("access log resp_headers %v lack the request id", line["resp_headers"])
	}

	// 400 from json_map falls back to the DEFAULT_4XX style and keeps its own message.
	r = d.send(t, http.MethodPost, "/api/generate", `{"prompt":`, "Origin", appOrigin, "Content-Type", "application/json")
	browserReadable(t, r)
	if r.Status != http.StatusBadRequest {
		t.Fatalf("invalid JSON: %d %s", r.Status, r.Body)
	}
	body = nil
	_ = json.Unmarshal(r.Body, &body)
	if body["error"] != "bad_request" || body["message"] != "Invalid request body: invalid JSON: unexpected end of input" ||
		body["request_id"] != r.Header.Get("X-Request-Id") {
		t.Errorf("invalid JSON body %s", r.Body)
	}

	// 413 from json_map.
	r = d.send(t, http.MethodPost, "/api/generate", `{"prompt":"`+strings.Repeat("x", 5000)+`"}`,
		"Origin", appOrigin, "Content-Type", "application/json")
	browserReadable(t, r)
	if r.Status != http.StatusRequestEntityTooLarge || !bytes.Contains(r.Body, []byte(`"error":"bad_request"`)) {
		t.Errorf("too large: %d %s", r.Status, r.Body)
	}

	// A valid token passes; the mapping then applies behind jwt_auth too.
	token := testkit.SignHS256(t, jwtSecret, testkit.Claims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
	r = d.send(t, http.MethodPost, "/secure/generate", `{"prompt":"p","steps":30}`, "Origin", appOrigin,
		"Content-Type", "application/json", "Authorization", "Bearer "+token)
	if r.Status != http.StatusOK {
		t.Fatalf("with token: %d %s", r.Status, r.Body)
	}
	browserReadable(t, r)
	reqs := d.up.Requests()
	if len(reqs) != 1 || string(reqs[0].Body) != `{"options":{"sample_steps":30},"prompt":"p"}` {
		t.Fatalf("upstream saw %+v", reqs)
	}
	if reqs[0].Header.Get("Authorization") != "" {
		t.Error("the client's token reached the upstream")
	}
}

func TestCaddysOwnErrorsKeepCORSHeaders(t *testing.T) {
	t.Parallel()
	d := deploy(t)
	r := d.send(t, http.MethodGet, "/dead/jobs", "", "Origin", appOrigin)
	if r.Status != http.StatusBadGateway || strings.TrimSpace(string(r.Body)) != `{"message":"Bad Gateway"}` {
		t.Fatalf("status %d: %q, want the gateway's 502 JSON", r.Status, r.Body)
	}
	browserReadable(t, r)
}

// accessLogLine returns the JSON access-log entry for path, waiting
// briefly for it to be written.
func accessLogLine(t *testing.T, gw *testkit.Gateway, path string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, line := range strings.Split(gw.Logs(), "\n") {
			if !strings.Contains(line, `"http.log.access`) {
				continue
			}
			var entry map[string]any
			if json.Unmarshal([]byte(line), &entry) != nil {
				continue
			}
			if req, _ := entry["request"].(map[string]any); req != nil && req["uri"] == path {
				return entry
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no access-log line for %s in:\n%s", path, gw.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
