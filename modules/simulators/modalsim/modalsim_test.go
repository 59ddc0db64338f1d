package modalsim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fakeClock is a settable clock for job progress.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func call(t *testing.T, srv *Server, method, path, body string, headers ...string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

const validJob = `{"prompt":"a cat sings","image_s3_url":"s3://in/cat.png","audio_s3_urls":"s3://in/a.wav","options":{"sample_steps":30}}`

func TestJobLifecycle(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	srv := New(Options{APIKey: "k", JobStep: time.Second, Now: clock.now}).Start(t)
	auth := []string{"Authorization", "Bearer k"}

	status, _, body := call(t, srv, "POST", "/api/v1/generate", validJob, auth...)
	var created map[string]any
	_ = json.Unmarshal([]byte(body), &created)
	if status != 200 || created["status"] != "pending" || created["job_id"] == "" || created["created_at"] == nil {
		t.Fatalf("generate: %d %s", status, body)
	}
	id := created["job_id"].(string)
	for _, step := range []struct {
		advance  time.Duration
		status   string
		progress float64
	}{{0, "pending", 0}, {time.Second, "processing", 25}, {2 * time.Second, "processing", 75}, {time.Second, "completed", 100}} {
		clock.t = clock.t.Add(step.advance)
		_, _, body := call(t, srv, "GET", "/api/v1/jobs/"+id, "", auth...)
		var job Job
		_ = json.Unmarshal([]byte(body), &job)
		if job.Status != step.status || float64(job.Progress) != step.progress {
			t.Fatalf("after %v: %s", step.advance, body)
		}
	}
	_, _, body = call(t, srv, "GET", "/api/v1/jobs/"+id, "", auth...)
	if !strings.Contains(body, `"result":{"duration":5,"frames":81,"processing_time":3,"s3_output":"s3://multitalk-outputs/outputs/`+id+`.mp4","success":true}`) ||
		!strings.Contains(body, `"metadata":{}`) || !strings.Contains(body, `"error":null`) {
		t.Errorf("completed job: %s", body)
	}
	if status, _, body := call(t, srv, "GET", "/api/v1/jobs/"+id+"/download?expiration=60", "", auth...); status != 200 ||
		!strings.Contains(body, `"download_url":"https://multitalk-outputs.s3.amazonaws.com/outputs/`+id+`.mp4?X-Amz-Expires=60"`) ||
		!strings.Contains(body, `"s3_uri":"s3://multitalk-outputs/outputs/`+id+`.mp4"`) {
		t.Errorf("download: %d %s", status, body)
	}
	if status, _, body := call(t, srv, "DELETE", "/api/v1/jobs/"+id, "", auth...); status != 400 ||
		body != `{"detail":{"error":"Job cannot be cancelled","detail":"Job is already completed","request_id":null}}` {
		t.Errorf("cancel a completed job: %d %s", status, body)
	}
	wantList := `{"jobs":[{"job_id":"` + id + `","status":"completed","created_at":"2026-11-22T12:00:00.000000Z","updated_at":"2026-11-22T12:00:04.000000Z"}],"count":1}`
	if status, _, body := call(t, srv, "GET", "/api/v1/jobs?limit=5", "", auth...); status != 200 || body != wantList {
		t.Errorf("list: %d %s\nwant %s", status, body, wantList)
	}
	if status, _, body := call(t, srv, "GET", "/api/v1/jobs?limit=x", "", auth...); status != 422 || !strings.Contains(body, `"loc":["query","limit"]`) {
		t.Errorf("list with a bad limit: %d %s", status, body)
	}
	_, _, body = call(t, srv, "POST", "/api/v1/generate", validJob, auth...)
	_ = json.Unmarshal([]byte(body), &created)
	if status, _, body := call(t, srv, "DELETE", "/api/v1/jobs/"+created["job_id"].(string), "", auth...); status != 200 || !strings.Contains(body, `"cancelled"`) {
		t.Errorf("cancel: %d %s", status, body)
	}
	if status, _, body := call(t, srv, "GET", "/api/v1/jobs/nope", "", auth...); status != 404 ||
		body != `{"detail":{"error":"Job not found","detail":"No job with ID nope","request_id":"nope"}}` {
		t.Errorf("unknown job: %d %s", status, body)
	}
}

func TestGenerateValidation(t *testing.T) {
	srv := New(Options{}).Start(t)
	for body, want := range map[string]string{
		`not json`: `"type":"json_invalid"`,
		`{}`:       `"loc":["body","prompt"],"msg":"Field required"`,
		`{"prompt":"p","image_s3_url":"https://x/i.png","audio_s3_urls":"s3://b/a.wav"}`:                                                   `Invalid S3 URL format: https://x/i.png`,
		`{"prompt":"p","image_s3_url":"s3://b/i.png","audio_s3_urls":["s3://b/1","s3://b/2","s3://b/3","s3://b/4","s3://b/5","s3://b/6"]}`: `Maximum 5 audio files allowed`,
		`{"prompt":"p","image_s3_url":"s3://b/i.png","audio_s3_urls":["s3://b/a.wav","b/a.wav"]}`:                                          `Invalid S3 URL format: b/a.wav`,
		`{"prompt":"p","image_s3_url":"s3://b/i.png","audio_s3_urls":"s3://b/a","options":{"sample_steps":60}}`:                            `"loc":["body","options","sample_steps"]`,
		`{"prompt":"p","image_s3_url":"s3://b/i.png","audio_s3_urls":"s3://b/a","options":{"resolution":"4k"}}`:                            `Input should be '480p' or '720p'`,
	} {
		status, _, got := call(t, srv, "POST", "/api/v1/generate", body)
		if status != 422 || !strings.Contains(got, `{"detail":[`) || !strings.Contains(got, want) {
			t.Errorf("%s: %d %s, want 422 with %s", body, status, got, want)
		}
	}
}

func TestAuth(t *testing.T) {
	srv := New(Options{APIKey: "k", ProxyKey: "wk-1", ProxySecret: "ws-1"}).Start(t)
	proxy := []string{"Modal-Key", "wk-1", "Modal-Secret", "ws-1"}
	status, h, body := call(t, srv, "GET", "/api/v1/health", "")
	if status != 401 || body != "modal-http: missing credentials for proxy authorization" || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Errorf("no proxy auth: %d %q %q", status, h.Get("Content-Type"), body)
	}
	if status, _, body := call(t, srv, "GET", "/api/v1/health", "", "Modal-Key", "wk-1", "Modal-Secret", "wrong"); status != 401 || !strings.Contains(body, "invalid credentials") {
		t.Errorf("wrong proxy secret: %d %s", status, body)
	}
	if status, _, body := call(t, srv, "GET", "/api/v1/health", "", proxy...); status != 200 || !strings.Contains(body, `{"status":"healthy","version":"v1","timestamp":"`) {
		t.Errorf("health needs no bearer: %d %s", status, body)
	}
	if status, _, _ := call(t, srv, "GET", "/health", "", proxy...); status != 404 {
		t.Errorf("/health outside /api/v1: %d, want 404", status)
	}
	// FastAPI's HTTPBearer: 403 without a bearer token; the app: 401 for a wrong key.
	for _, c := range []struct {
		header, detail string
		status         int
	}{
		{"", `{"detail":"Not authenticated"}`, 403},
		{"Basic dXNlcjpwdw==", `{"detail":"Invalid authentication credentials"}`, 403},
		{"Bearer wrong", `{"detail":"Invalid API key"}`, 401},
	} {
		headers := proxy
		if c.header != "" {
			headers = append(append([]string(nil), proxy...), "Authorization", c.header)
		}
		if status, _, body := call(t, srv, "GET", "/api/v1/jobs", "", headers...); status != c.status || body != c.detail {
			t.Errorf("Authorization %q: %d %s, want %d %s", c.header, status, body, c.status, c.detail)
		}
	}
	if status, _, _ := call(t, srv, "GET", "/api/v1/jobs", "", append(proxy, "Authorization", "Bearer k")...); status != 200 {
		t.Errorf("bearer: %d", status)
	}
	if n := len(srv.Requests()); n != 8 {
		t.Errorf("recorded %d requests, want every one (8)", n)
	}
}

func TestLongCallRedirects(t *testing.T) {
	srv := New(Options{CallLimit: 50 * time.Millisecond}).Start(t)
	status, h, _ := call(t, srv, "POST", "/api/v1/slow?duration=180ms", "{}")
	loc := h.Get("Location")
	if status != 303 || !strings.HasPrefix(loc, srv.URL+"/api/v1/slow?") || !strings.Contains(loc, "__modal_function_call_id=fc-") {
		t.Fatalf("slow call: %d Location %q", status, loc)
	}
	path := strings.TrimPrefix(loc, srv.URL)
	polls := 0
	for status == 303 {
		polls++
		path = strings.TrimPrefix(h.Get("Location"), srv.URL)
		status, h, _ = call(t, srv, "GET", path, "")
	}
	if status != 200 || polls < 2 {
		t.Fatalf("after %d polls: %d", polls, status)
	}
	if status, _, body := call(t, srv, "GET", path, ""); status != 404 || !strings.Contains(body, "read once") {
		t.Errorf("second read: %d %s", status, body)
	}
	if status, _, _ := call(t, srv, "GET", "/api/v1/slow?duration=10ms", ""); status != 200 {
		t.Errorf("fast call: %d, want a direct 200", status)
	}
}

func TestFastAPIStyleRoutingErrors(t *testing.T) {
	srv := New(Options{}).Start(t)
	if status, _, body := call(t, srv, "GET", "/nope", ""); status != 404 || body != `{"detail":"Not Found"}` {
		t.Errorf("unknown route: %d %s", status, body)
	}
	if status, _, body := call(t, srv, "PUT", "/api/v1/generate", ""); status != 405 || body != `{"detail":"Method Not Allowed"}` {
		t.Errorf("wrong method: %d %s", status, body)
	}
}
