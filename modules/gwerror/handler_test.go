package gwerror

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestHandlerErrorsGetGatewayResponses: the status of a Caddy handler error
// is kept, with API Gateway's type for it and never the error's text.
func TestHandlerErrorsGetGatewayResponses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err    error
		status int
		body   string
	}{
		{caddyhttp.Error(http.StatusRequestEntityTooLarge, &http.MaxBytesError{Limit: 10}), 413, `{"message":"Request Too Long"}`},
		{caddyhttp.Error(http.StatusBadGateway, errors.New("dial tcp 10.0.0.7:9000: connect: connection refused")), 502, `{"message":"Bad Gateway"}`},
		{caddyhttp.Error(http.StatusGatewayTimeout, errors.New("net/http: timeout awaiting response headers")), 504, `{"message":"Endpoint request timed out"}`},
		{caddyhttp.Error(http.StatusBadGateway, caddyhttp.Error(http.StatusRequestEntityTooLarge, &http.MaxBytesError{Limit: 10})), 413, `{"message":"Request Too Long"}`},
		{caddyhttp.Error(http.StatusMethodNotAllowed, nil), 405, `{"message":"Method Not Allowed"}`},
		{caddyhttp.Error(http.StatusNotFound, nil), 404, `{"message":"Not Found"}`},
		{caddyhttp.Error(http.StatusServiceUnavailable, errors.New("no upstreams available")), 503, `{"message":"Service Unavailable"}`},
		{errors.New("a plain error from some handler"), 500, `{"message":"Internal server error"}`},
	}
	for _, c := range cases {
		r, w := caddyRequest("POST")
		r = r.WithContext(context.WithValue(r.Context(), caddyhttp.ErrorCtxKey, c.err))
		h := &ErrorHandler{errors: &Writer{}}
		if err := h.ServeHTTP(w, r, nil); err != nil {
			t.Fatal(err)
		}
		if w.Code != c.status || strings.TrimSpace(w.Body.String()) != c.body || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%v: %d %s %q, want %d %s JSON", c.err, w.Code, w.Header().Get("Content-Type"), w.Body, c.status, c.body)
		}
		if !uuidPattern.MatchString(w.Header().Get(DefaultRequestIDHeader)) {
			t.Errorf("%v: no request id header", c.err)
		}
	}
}

// TestHandlerErrorsAreLogged: a 5xx is an error-level line naming the
// cause and the request id, without the query string; a 4xx is not logged.
func TestHandlerErrorsAreLogged(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.DebugLevel)
	h := &ErrorHandler{errors: &Writer{}, logger: zap.New(core)}
	for _, e := range []error{
		caddyhttp.Error(http.StatusBadGateway, errors.New("dial tcp 10.0.0.7:9000: connect: connection refused")),
		caddyhttp.Error(http.StatusRequestEntityTooLarge, &http.MaxBytesError{Limit: 10}),
	} {
		r, w := caddyRequest("POST")
		r.URL.RawQuery = "api_key=sk-live-secret"
		r = r.WithContext(context.WithValue(r.Context(), caddyhttp.ErrorCtxKey, e))
		_ = h.ServeHTTP(w, r, nil)
	}
	entries := logs.All()
	if len(entries) != 1 || entries[0].Level != zapcore.ErrorLevel {
		t.Fatalf("logged %v, want one error line for the 502", entries)
	}
	fields := entries[0].ContextMap()
	if fields["status"] != int64(502) || !strings.Contains(fields["error"].(string), "connection refused") ||
		!uuidPattern.MatchString(fields["request_id"].(string)) || fields["path"] != "/api/v1/generate" {
		t.Errorf("fields = %v", fields)
	}
	for k, v := range fields {
		if s, ok := v.(string); ok && strings.Contains(s, "sk-live") {
			t.Errorf("field %s carries the query's key: %q", k, s)
		}
	}
}
