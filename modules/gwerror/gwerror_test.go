package gwerror

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// caddyRequest builds a request prepared like Caddy's server does, so that
// {http.request.uuid} and the other placeholders work.
func caddyRequest(method string, header ...string) (*http.Request, *httptest.ResponseRecorder) {
	r := httptest.NewRequest(method, "https://gw.example/api/v1/generate?x=1", nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	return caddyhttp.PrepareRequest(r, caddy.NewReplacer(), w, &caddyhttp.Server{}), w
}

// caddyContext is a Caddy context outside a running config.
func caddyContext(t testing.TB) caddy.Context {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	return ctx
}

func newApp(t *testing.T, a *App) *App {
	t.Helper()
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := a.Provision(caddyContext(t)); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestDefaultsAreAWS pins the built-in bodies and statuses to API Gateway's.
func TestDefaultsAreAWS(t *testing.T) {
	t.Parallel()
	cases := []struct {
		typ    Type
		status int
		body   string
	}{
		{Unauthorized, 401, `{"message":"Unauthorized"}`},
		{MissingAuthenticationToken, 401, `{"message":"Unauthorized"}`},
		{AccessDenied, 403, `{"message":"Forbidden"}`},
		{InvalidAPIKey, 403, `{"message":"Forbidden"}`},
		{Throttled, 429, `{"message":"Too Many Requests"}`},
		{QuotaExceeded, 429, `{"message":"Limit Exceeded"}`},
		{IntegrationTimeout, 504, `{"message":"Endpoint request timed out"}`},
		{RequestTooLarge, 413, `{"message":"Request Too Long"}`},
		{Default5XX, 500, `{"message":"Internal server error"}`},
	}
	for _, c := range cases {
		for name, writer := range map[string]*Writer{"nil writer": nil, "zero writer": {}} {
			r, w := caddyRequest(http.MethodGet)
			writer.Write(w, r, Response{Type: c.typ})
			if w.Code != c.status || strings.TrimSpace(w.Body.String()) != c.body {
				t.Errorf("%s %s: %d %s, want %d %s", name, c.typ, w.Code, w.Body, c.status, c.body)
			}
			if w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("%s: Content-Type %q", c.typ, w.Header().Get("Content-Type"))
			}
			if id := w.Header().Get("X-Request-Id"); !uuidPattern.MatchString(id) {
				t.Errorf("%s: X-Request-Id %q is not a request uuid", c.typ, id)
			}
		}
	}
}

func TestRequestIDIsCaddysUUID(t *testing.T) {
	t.Parallel()
	r, w := caddyRequest(http.MethodGet)
	(*Writer)(nil).Write(w, r, Response{Type: Unauthorized})
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if want := repl.ReplaceAll("{http.request.uuid}", ""); w.Header().Get("X-Request-Id") != want {
		t.Fatalf("X-Request-Id %q, {http.request.uuid} %q", w.Header().Get("X-Request-Id"), want)
	}
	// Caddy adds the uuid to the access-log line of the request.
	extra := r.Context().Value(caddyhttp.ExtraLogFieldsCtxKey).(*caddyhttp.ExtraLogFields)
	if extra == nil {
		t.Fatal("no extra log fields")
	}
}

func TestResponseOverrides(t *testing.T) {
	t.Parallel()
	r, w := caddyRequest(http.MethodGet)
	(*Writer)(nil).Write(w, r, Response{Type: UpstreamError, Status: 422, Header: http.Header{"Retry-After": {"5"}}})
	if w.Code != 422 || strings.TrimSpace(w.Body.String()) != `{"message":"Unprocessable Entity"}` || w.Header().Get("Retry-After") != "5" {
		t.Fatalf("%d %s %v", w.Code, w.Body, w.Header())
	}
	r, w = caddyRequest(http.MethodHead)
	(*Writer)(nil).Write(w, r, Response{Type: Throttled})
	if w.Code != 429 || w.Body.Len() != 0 || w.Header().Get("Content-Length") == "0" {
		t.Fatalf("HEAD: %d %q %v", w.Code, w.Body, w.Header())
	}
}

func TestRestyle(t *testing.T) {
	t.Parallel()
	app := newApp(t, &App{Responses: map[Type]*ResponseStyle{
		Unauthorized: {
			Body:    `{"error":"unauthorized","message":"{message}","request_id":"{request_id}","path":"{http.request.uri.path}","agent":"{http.request.header.User-Agent}"}`,
			Headers: http.Header{"WWW-Authenticate": {`Bearer realm="gpugate", id="{request_id}"`}},
		},
		Throttled:  {Status: 503, Body: `{"type":"{type}","status":{status}}`},
		Default4XX: {Status: 400, Body: `{"error":"{message}","kind":"{type}"}`},
		Default5XX: {Body: "<p>{message}</p>", Headers: http.Header{"Content-Type": {"text/html; charset=utf-8"}}},
	}})
	gw := &Writer{app: app}

	r, w := caddyRequest(http.MethodGet, "User-Agent", `evil"agent`+"\n")
	gw.Write(w, r, Response{Type: Unauthorized, Message: `bad "token"`, Header: http.Header{"Www-Authenticate": {"Bearer error=x"}}})
	var body map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("restyled body is not JSON (placeholder values must be escaped): %s", w.Body)
	}
	id := w.Header().Get("X-Request-Id")
	if w.Code != 401 || body["message"] != `bad "token"` || body["request_id"] != id || !uuidPattern.MatchString(id) ||
		body["path"] != "/api/v1/generate" || body["agent"] != "evil\"agent\n" {
		t.Errorf("UNAUTHORIZED: %d %s (id %s)", w.Code, w.Body, id)
	}
	if got := w.Header().Get("Www-Authenticate"); got != `Bearer realm="gpugate", id="`+id+`"` {
		t.Errorf("WWW-Authenticate %q", got)
	}

	r, w = caddyRequest(http.MethodGet)
	gw.Write(w, r, Response{Type: Throttled})
	if w.Code != 503 || w.Body.String() != `{"type":"THROTTLED","status":503}` {
		t.Errorf("THROTTLED: %d %s", w.Code, w.Body)
	}

	// Types without their own style inherit DEFAULT_4XX's body, not its status.
	r, w = caddyRequest(http.MethodGet)
	gw.Write(w, r, Response{Type: QuotaExceeded})
	if w.Code != 429 || w.Body.String() != `{"error":"Limit Exceeded","kind":"QUOTA_EXCEEDED"}` {
		t.Errorf("QUOTA_EXCEEDED via DEFAULT_4XX: %d %s", w.Code, w.Body)
	}

	r, w = caddyRequest(http.MethodGet)
	gw.Write(w, r, Response{Type: IntegrationFailure, Message: "<b>down</b>"})
	if w.Code != 502 || w.Body.String() != "<p>&lt;b&gt;down&lt;/b&gt;</p>" || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("DEFAULT_5XX html: %d %s %q", w.Code, w.Body, w.Header().Get("Content-Type"))
	}
}

func TestHeaderValuesCannotSplit(t *testing.T) {
	t.Parallel()
	app := newApp(t, &App{Responses: map[Type]*ResponseStyle{
		Unauthorized: {Headers: http.Header{"X-Agent": {"{http.request.header.X-Evil}"}}},
	}})
	r, w := caddyRequest(http.MethodGet, "X-Evil", "a\r\nSet-Cookie: x=1")
	r.Header["X-Evil"] = []string{"a\r\nSet-Cookie: x=1"}
	(&Writer{app: app}).Write(w, r, Response{Type: Unauthorized})
	if got := w.Header().Get("X-Agent"); strings.ContainsAny(got, "\r\n") {
		t.Fatalf("header value kept control characters: %q", got)
	}
	if strings.TrimSpace(w.Body.String()) != `{"message":"Unauthorized"}` {
		t.Errorf("a type without body keeps the default body, got %s", w.Body)
	}
}

func TestRequestIDHeaderName(t *testing.T) {
	t.Parallel()
	app := newApp(t, &App{RequestIDHeader: "X-Amzn-RequestId"})
	r, w := caddyRequest(http.MethodGet)
	(&Writer{app: app}).Write(w, r, Response{Type: Throttled})
	if !uuidPattern.MatchString(w.Header().Get("X-Amzn-RequestId")) || w.Header().Get("X-Request-Id") != "" {
		t.Errorf("headers %v", w.Header())
	}
	off := newApp(t, &App{RequestIDHeader: "off"})
	r, w = caddyRequest(http.MethodGet)
	(&Writer{app: off}).Write(w, r, Response{Type: Throttled})
	if w.Header().Get("X-Request-Id") != "" || w.Code != 429 {
		t.Errorf("request_id_header off: %v", w.Header())
	}
}

func TestOutsideCaddy(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	(*Writer)(nil).Write(w, httptest.NewRequest(http.MethodGet, "/", nil), Response{Type: Unauthorized})
	if w.Code != 401 || w.Header().Get("X-Request-Id") != "" {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
	w = httptest.NewRecorder()
	(*Writer)(nil).Write(w, nil, Response{Type: Unauthorized})
	if w.Code != 401 {
		t.Fatalf("nil request: %d", w.Code)
	}
}

func TestTemplateCompile(t *testing.T) {
	t.Parallel()
	tpl := compileTemplate(`{"a":"{message}","b":{status},"c":"{nope","d":"{}","e":"{x y}"}`)
	v := &vars{resp: Response{Type: Throttled}}
	if got := tpl.render(v, jsonEscape); got != `{"a":"Too Many Requests","b":429,"c":"{nope","d":"{}","e":"{x y}"}` {
		t.Fatalf("render = %s", got)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	bad := []*App{
		{Responses: map[Type]*ResponseStyle{"NOPE": {}}},
		{Responses: map[Type]*ResponseStyle{Throttled: {Status: 1000}}},
		{Responses: map[Type]*ResponseStyle{Throttled: {Headers: http.Header{"Content-Length": {"1"}}}}},
		{RequestIDHeader: "bad header"},
	}
	for i, a := range bad {
		if err := a.Validate(); err == nil {
			t.Errorf("case %d accepted", i)
		}
	}
}
