package jsonmap

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
)

// multiTalk is the old API Gateway mapping template of the MultiTalk API.
var multiTalk = []Operation{
	{Op: OpMove, From: "image_url", Path: "image_s3_url"},
	{Op: OpWrap, From: "audio_url", Path: "audio_s3_urls"},
	{Op: OpMove, From: "steps", Path: "options.sample_steps"},
	{Op: OpDefault, Path: "options.sample_steps", Value: json.RawMessage(`20`)},
}

// newHandler provisions a Handler outside a running Caddy.
func newHandler(t testing.TB, h *Handler) *Handler {
	t.Helper()
	if err := h.Provision(adapttest.Context(t)); err != nil {
		t.Fatal(err)
	}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	return h
}

// newRequest builds a request prepared like Caddy's server does.
func newRequest(method, body string, header ...string) (*http.Request, *httptest.ResponseRecorder) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, "https://gw.example/api/v1/generate", rd)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	return caddyhttp.PrepareRequest(r, caddy.NewReplacer(), w, &caddyhttp.Server{}), w
}

// upstream records what reached it and answers with status, content type
// and body.
type upstream struct {
	status      int
	contentType string
	body        string
	got         []byte
	gotHeader   http.Header
	gotLength   int64
	calls       int
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	u.calls++
	u.got, _ = io.ReadAll(r.Body)
	u.gotHeader = r.Header.Clone()
	u.gotLength = r.ContentLength
	if u.contentType != "" {
		w.Header().Set("Content-Type", u.contentType)
	}
	if u.status == 0 {
		u.status = http.StatusOK
	}
	w.WriteHeader(u.status)
	_, _ = io.WriteString(w, u.body)
	return nil
}

func serve(t *testing.T, h *Handler, up *upstream, r *http.Request, w *httptest.ResponseRecorder) {
	t.Helper()
	if err := h.ServeHTTP(w, r, up); err != nil {
		t.Fatalf("ServeHTTP: %v", err)
	}
}

func assertJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("not JSON: %q", got)
	}
	_ = json.Unmarshal([]byte(want), &w)
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Fatalf("body = %s, want %s", got, want)
	}
}

func TestMultiTalkTemplate(t *testing.T) {
	t.Parallel()
	h := newHandler(t, &Handler{Request: multiTalk})
	cases := []struct{ name, in, want string }{
		{"all fields",
			`{"prompt":"a cat talking","image_url":"s3://b/cat.png","audio_url":"s3://b/cat.wav","steps":30}`,
			`{"prompt":"a cat talking","image_s3_url":"s3://b/cat.png","audio_s3_urls":["s3://b/cat.wav"],"options":{"sample_steps":30}}`},
		{"steps missing -> 20",
			`{"prompt":"p","image_url":"s3://b/i.png","audio_url":"s3://b/a.wav"}`,
			`{"prompt":"p","image_s3_url":"s3://b/i.png","audio_s3_urls":["s3://b/a.wav"],"options":{"sample_steps":20}}`},
		{"steps null -> 20",
			`{"prompt":"p","audio_url":"s3://b/a.wav","steps":null}`,
			`{"prompt":"p","audio_s3_urls":["s3://b/a.wav"],"options":{"sample_steps":20}}`},
		{"audio already a list",
			`{"prompt":"p","audio_url":["s3://b/1.wav","s3://b/2.wav"]}`,
			`{"prompt":"p","audio_s3_urls":["s3://b/1.wav","s3://b/2.wav"],"options":{"sample_steps":20}}`},
		{"new-style client untouched except default",
			`{"prompt":"p","image_s3_url":"s3://b/i.png","audio_s3_urls":["s3://b/a.wav"],"options":{"resolution":"720p"}}`,
			`{"prompt":"p","image_s3_url":"s3://b/i.png","audio_s3_urls":["s3://b/a.wav"],"options":{"resolution":"720p","sample_steps":20}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			up := &upstream{}
			r, w := newRequest(http.MethodPost, c.in)
			serve(t, h, up, r, w)
			if w.Code != http.StatusOK || up.calls != 1 {
				t.Fatalf("status %d, upstream calls %d", w.Code, up.calls)
			}
			assertJSON(t, up.got, c.want)
			if up.gotLength != int64(len(up.got)) || up.gotHeader.Get("Content-Length") != strconv.Itoa(len(up.got)) {
				t.Errorf("Content-Length %d / %q, body is %d bytes", up.gotLength, up.gotHeader.Get("Content-Length"), len(up.got))
			}
		})
	}
}

func TestOperations(t *testing.T) {
	t.Parallel()
	ops := []Operation{
		{Op: OpSet, Path: "options.resolution", Value: json.RawMessage(`"480p"`)},
		{Op: OpSet, Path: "meta", Value: json.RawMessage(`{"source":"gateway"}`)},
		{Op: OpMove, From: "meta", Path: "metadata"},
		{Op: OpSet, Path: "metadata.user", Value: json.RawMessage(`"{http.request.header.X-User}"`)},
		{Op: OpDrop, Path: "debug"},
		{Op: OpDrop, Path: "nested.secret"},
		{Op: OpWrap, From: "tag"},
		{Op: OpDefault, Path: "big", Value: json.RawMessage(`1`)},
	}
	h := newHandler(t, &Handler{Request: ops})
	for i := 0; i < 2; i++ { // twice: the configured object must not be shared between requests
		up := &upstream{}
		r, w := newRequest(http.MethodPost,
			`{"options":{"resolution":"720p"},"debug":true,"nested":{"secret":"x","keep":1},"tag":"a<b>","big":12345678901234567890}`,
			"X-User", "alice")
		serve(t, h, up, r, w)
		assertJSON(t, up.got, `{"options":{"resolution":"480p"},"metadata":{"source":"gateway","user":"alice"},"nested":{"keep":1},"tag":["a<b>"],"big":12345678901234567890}`)
		if !strings.Contains(string(up.got), `12345678901234567890`) || !strings.Contains(string(up.got), `"a<b>"`) {
			t.Errorf("numbers or text not kept exactly: %s", up.got)
		}
	}
}

func TestRequestErrors(t *testing.T) {
	t.Parallel()
	h := newHandler(t, &Handler{Request: multiTalk, MaxBody: 64})
	cases := []struct {
		name, body, msg string
		header          []string
		status          int
	}{
		{"invalid JSON", `{"prompt": "x",}`, "Invalid request body: invalid JSON at byte 16", nil, 400},
		{"truncated", `{"prompt": "x"`, "Invalid request body: invalid JSON: unexpected end of input", nil, 400},
		{"trailing data", `{"a":1} {"b":2}`, "Invalid request body: invalid JSON: unexpected data after the value", nil, 400},
		{"not an object", `["a"]`, "Invalid request body: the body must be a JSON object", nil, 400},
		{"form body", `prompt=x`, "Invalid request body: Content-Type must be application/json", []string{"Content-Type", "application/x-www-form-urlencoded"}, 400},
		{"scalar where object needed", `{"options":"fast","steps":3}`, "Invalid request body: field options must be an object", nil, 400},
		{"too large", `{"prompt":"` + strings.Repeat("x", 80) + `"}`, "Request Too Long", nil, 413},
		{"compressed", `{"a":1}`, "Unsupported Media Type", []string{"Content-Encoding", "gzip"}, 415},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			up := &upstream{}
			r, w := newRequest(http.MethodPost, c.body, c.header...)
			serve(t, h, up, r, w)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body)
			}
			if up.calls != 0 {
				t.Error("a rejected request reached the upstream")
			}
			var got struct{ Message string }
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || !strings.HasPrefix(got.Message, c.msg) {
				t.Errorf("body %s, want message starting %q", w.Body, c.msg)
			}
			if w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", w.Header().Get("Content-Type"))
			}
		})
	}
}

// copyingUpstream answers through io.Copy, which uses ReadFrom when the
// writer has it.
type copyingUpstream struct{ body string }

func (c copyingUpstream) ServeHTTP(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := io.Copy(w, strings.NewReader(c.body))
	return err
}

func TestResponseWrittenWithReadFrom(t *testing.T) {
	t.Parallel()
	h := newHandler(t, &Handler{Response: []Operation{{Op: OpMove, From: "job_id", Path: "id"}}})
	r, w := newRequest(http.MethodGet, "")
	if err := h.ServeHTTP(w, r, copyingUpstream{`{"job_id":"j"}`}); err != nil {
		t.Fatal(err)
	}
	if w.Body.String() != `{"id":"j"}` {
		t.Fatalf("body %s", w.Body)
	}
}

func TestChunkedTooLarge(t *testing.T) {
	t.Parallel()
	h := newHandler(t, &Handler{Request: multiTalk, MaxBody: 64})
	r, w := newRequest(http.MethodPost, `{"prompt":"`+strings.Repeat("x", 200)+`"}`)
	r.ContentLength = -1 // unknown length, as with chunked uploads
	r.Header.Del("Content-Length")
	up := &upstream{}
	serve(t, h, up, r, w)
	if w.Code != http.StatusRequestEntityTooLarge || up.calls != 0 {
		t.Fatalf("status %d, upstream calls %d", w.Code, up.calls)
	}
}

func TestRequestsWithoutBodyPassThrough(t *testing.T) {
	t.Parallel()
	h := newHandler(t, &Handler{Request: multiTalk})
	for _, method := range []string{http.MethodGet, http.MethodDelete, http.MethodPost} {
		up := &upstream{}
		r, w := newRequest(method, "")
		serve(t, h, up, r, w)
		if w.Code != http.StatusOK || up.calls != 1 || len(up.got) != 0 {
			t.Errorf("%s without body: status %d, calls %d, body %q", method, w.Code, up.calls, up.got)
		}
	}
}

func TestResponseMapping(t *testing.T) {
	t.Parallel()
	resp := []Operation{
		{Op: OpMove, From: "job_id", Path: "id"},
		{Op: OpDrop, Path: "metadata"},
	}
	h := newHandler(t, &Handler{Response: resp})
	cases := []struct {
		name     string
		up       upstream
		wantBody string
		mapped   bool
	}{
		{"2xx JSON is mapped", upstream{contentType: "application/json", body: `{"job_id":"j1","status":"pending","metadata":{}}`},
			`{"id":"j1","status":"pending"}`, true},
		{"+json is mapped", upstream{contentType: "application/problem+json; charset=utf-8", body: `{"job_id":"j1"}`},
			`{"id":"j1"}`, true},
		{"error status untouched", upstream{status: 404, contentType: "application/json", body: `{"job_id":"j1","metadata":{}}`},
			`{"job_id":"j1","metadata":{}}`, false},
		{"event stream untouched", upstream{contentType: "text/event-stream", body: "data: {\"job_id\":\"j1\"}\n\n"},
			"data: {\"job_id\":\"j1\"}\n\n", false},
		{"invalid JSON passed through", upstream{contentType: "application/json", body: `{"job_id":`},
			`{"job_id":`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			up := c.up
			r, w := newRequest(http.MethodGet, "", "Accept-Encoding", "gzip")
			serve(t, h, &up, r, w)
			if c.mapped {
				assertJSON(t, w.Body.Bytes(), c.wantBody)
				if cl := w.Header().Get("Content-Length"); cl != strconv.Itoa(w.Body.Len()) {
					t.Errorf("Content-Length %q for %d bytes", cl, w.Body.Len())
				}
			} else if w.Body.String() != c.wantBody {
				t.Errorf("body %q, want it untouched %q", w.Body, c.wantBody)
			}
			if w.Code != up.status {
				t.Errorf("status %d, want %d", w.Code, up.status)
			}
			if up.gotHeader.Get("Accept-Encoding") != "" {
				t.Error("Accept-Encoding reached the upstream although the response is mapped")
			}
		})
	}
}

func TestLargeResponsePassesThroughUnmapped(t *testing.T) {
	t.Parallel()
	h := newHandler(t, &Handler{Response: []Operation{{Op: OpDrop, Path: "a"}}, MaxResponseBody: 16})
	body := `{"a":1,"b":"` + strings.Repeat("x", 100) + `"}`
	r, w := newRequest(http.MethodGet, "")
	serve(t, h, &upstream{contentType: "application/json", body: body}, r, w)
	if w.Body.String() != body || w.Code != 200 {
		t.Fatalf("status %d body %q", w.Code, w.Body)
	}
}

// streamingUpstream writes a streamed response in pieces with flushes.
type streamingUpstream struct{ t *testing.T }

func (s streamingUpstream) ServeHTTP(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(200)
	rc := http.NewResponseController(w)
	for i := 0; i < 3; i++ {
		_, _ = io.WriteString(w, "data: x\n\n")
		if err := rc.Flush(); err != nil {
			s.t.Errorf("flush: %v", err)
		}
		if !w.(*responseMapper).ResponseWriter.(*httptest.ResponseRecorder).Flushed {
			s.t.Error("a streamed response was not flushed through")
		}
	}
	return nil
}

func TestStreamedResponseFlowsThrough(t *testing.T) {
	t.Parallel()
	h := newHandler(t, &Handler{Response: []Operation{{Op: OpDrop, Path: "a"}}})
	r, w := newRequest(http.MethodGet, "")
	if err := h.ServeHTTP(w, r, streamingUpstream{t}); err != nil {
		t.Fatal(err)
	}
	if w.Body.String() != strings.Repeat("data: x\n\n", 3) {
		t.Fatalf("body %q", w.Body)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	if err := (&Handler{}).Validate(); err == nil || !strings.Contains(err.Error(), "nothing to do") {
		t.Fatalf("empty handler: %v", err)
	}
	err := (&Handler{Request: []Operation{{Op: "copy", Path: "a"}}}).Provision(adapttest.Context(t))
	if err == nil || !strings.Contains(err.Error(), `unknown operation "copy"`) {
		t.Fatalf("unknown op: %v", err)
	}
}

// brokenUpstream starts a JSON response, then fails, as a reset upstream
// connection does.
type brokenUpstream struct{}

func (brokenUpstream) ServeHTTP(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"job_id":"j`)
	return caddyhttp.Error(http.StatusBadGateway, io.ErrUnexpectedEOF)
}

func TestFailedUpstreamLeavesTheResponseToCaddy(t *testing.T) {
	t.Parallel()
	h := newHandler(t, &Handler{Response: []Operation{{Op: OpMove, From: "job_id", Path: "id"}}})
	r, w := newRequest(http.MethodGet, "")
	if err := h.ServeHTTP(w, r, brokenUpstream{}); err == nil {
		t.Fatal("the upstream error was swallowed")
	}
	if w.Body.Len() != 0 {
		t.Fatalf("a truncated body was written: %q", w.Body)
	}
}
