package policy

import (
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
	"unicode/utf8"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"golang.org/x/net/http/httpguts"

	"github.com/gpugate/gpugate/modules/gwerror"
	"github.com/gpugate/gpugate/modules/internal/upstream"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler is the gateway's request policy, the first handler of every HTTP
// server (the gpugate adapter puts it there):
//
//   - client copies of every header the gateway injects (claims, key id,
//     plan, user; ProtectedHeaders) are deleted, whatever their case and
//     however many, so only the gateway's values ever reach an upstream;
//   - a client Connection header that names one of them loses that token,
//     so no proxy drops the gateway's value as hop-by-hop;
//   - a request whose path is not canonical (upstream.CheckCanonicalPath)
//     gets 400 with a JSON body: what the routes match, throttle, charge and
//     protect is the path every upstream resolves.
type Handler struct {
	// ProtectedHeaders are the request headers the gateway itself sets.
	ProtectedHeaders []string `json:"protected_headers,omitempty"`

	folded map[string]bool
	errors *gwerror.Writer
}

// fold is the form in which two header names mean one header to some
// server: case-insensitive, and with '_' read as '-' (as nginx, Django or
// CGI do), so X_User_Id cannot stand in for X-User-Id.
func fold(name string) string { return strings.ToLower(strings.ReplaceAll(name, "_", "-")) }

// isProtected reports whether name folds to a protected header; header
// names of usual length are folded on the stack (this runs for every
// header of every request).
func (h *Handler) isProtected(name string) bool {
	var buf [64]byte
	if len(name) > len(buf) {
		return h.folded[fold(name)]
	}
	b := buf[:len(name)]
	for i := range len(name) {
		switch c := name[i]; {
		case c >= utf8.RuneSelf:
			return h.folded[fold(name)] // not a token; strings.ToLower knows Unicode
		case c == '_':
			b[i] = '-'
		case 'A' <= c && c <= 'Z':
			b[i] = c + 'a' - 'A'
		default:
			b[i] = c
		}
	}
	return h.folded[string(b)]
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.gpugate_request_policy", New: func() caddy.Module { return new(Handler) }}
}

// Provision canonicalises the header names and loads the error writer.
func (h *Handler) Provision(ctx caddy.Context) error {
	if err := h.Validate(); err != nil {
		return err
	}
	h.folded = make(map[string]bool, len(h.ProtectedHeaders))
	for _, name := range h.ProtectedHeaders {
		h.folded[fold(name)] = true
	}
	var err error
	h.errors, err = gwerror.Load(ctx)
	return err
}

// Validate checks the header names.
func (h *Handler) Validate() error {
	for _, name := range h.ProtectedHeaders {
		if !httpguts.ValidHeaderFieldName(name) {
			return fmt.Errorf("gpugate_request_policy: %q is not a header name", name)
		}
	}
	return nil
}

// ServeHTTP applies the policy and passes the request on.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if err := upstream.CheckCanonicalPath(r.URL.EscapedPath()); err != nil {
		h.errors.Write(w, r, gwerror.Response{Type: gwerror.BadRequestParameters, Message: "Invalid request path: " + err.Error()})
		return nil
	}
	for name := range r.Header {
		if h.isProtected(name) {
			delete(r.Header, name) // every copy, whatever its case or spelling
		}
	}
	if len(r.Header["Connection"]) > 0 {
		r.Header["Connection"] = h.withoutProtectedTokens(r.Header["Connection"])
		if len(r.Header["Connection"]) == 0 {
			delete(r.Header, "Connection")
		}
	}
	return next.ServeHTTP(w, r)
}

// withoutProtectedTokens drops the Connection tokens that name a protected
// header.
func (h *Handler) withoutProtectedTokens(values []string) []string {
	out := values[:0:0]
	for _, v := range values {
		var kept []string
		for _, token := range strings.Split(v, ",") {
			token = textproto.TrimString(token)
			if token != "" && !h.isProtected(token) {
				kept = append(kept, token)
			}
		}
		if len(kept) > 0 {
			out = append(out, strings.Join(kept, ", "))
		}
	}
	return out
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
