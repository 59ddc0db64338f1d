package gwerror

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
)

// DefaultRequestIDHeader is the response header that carries the request
// id of every gateway error unless gateway_responses names another.
const DefaultRequestIDHeader = "X-Request-Id"

// RequestID returns the id of r: Caddy's {http.request.uuid}, which Caddy
// also adds to the request's access-log line (field "uuid"). It is empty
// outside a Caddy server (no replacer in the request context).
func RequestID(r *http.Request) string {
	if r == nil {
		return ""
	}
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok || repl == nil {
		return ""
	}
	id, _ := repl.GetString("http.request.uuid")
	return id
}

// replacerOf returns the request's Caddy replacer, or nil.
func replacerOf(r *http.Request) *caddy.Replacer {
	if r == nil {
		return nil
	}
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	return repl
}
