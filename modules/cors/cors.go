package cors

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"golang.org/x/net/http/httpguts"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// defaultMethods are the methods allowed when none are configured (the
// CORS-safelisted methods).
func defaultMethods() []string { return []string{http.MethodGet, http.MethodHead, http.MethodPost} }

// Handler answers CORS preflights at the gateway and puts CORS headers on
// every response to an allowed origin, gateway errors included (directive
// cors).
type Handler struct {
	// Origins allowed: exact ("https://app.example.com"), wildcard
	// subdomains ("https://*.example.com") or "*" for any origin.
	Origins []string `json:"origins,omitempty"`
	// Methods allowed in preflights (default GET, HEAD, POST).
	Methods []string `json:"methods,omitempty"`
	// Headers the client may send; "*" allows any.
	Headers []string `json:"headers,omitempty"`
	// ExposeHeaders are response headers scripts may read.
	ExposeHeaders []string `json:"expose_headers,omitempty"`
	// Credentials allows cookies and Authorization on cross-origin requests.
	Credentials bool `json:"credentials,omitempty"`
	// MaxAge is how long browsers may cache a preflight answer.
	MaxAge caddy.Duration `json:"max_age,omitempty"`

	origins       *originMatcher
	allowMethods  string
	allowHeaders  string
	anyHeader     bool
	exposeHeaders string
	maxAge        string
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.gpugate_cors",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision prepares the header values sent on every response.
func (h *Handler) Provision(caddy.Context) error {
	var err error
	if h.origins, err = newOriginMatcher(h.Origins); err != nil {
		return err
	}
	methods := h.Methods
	if len(methods) == 0 {
		methods = defaultMethods()
	}
	h.allowMethods = strings.Join(methods, ", ")
	for _, name := range h.Headers {
		if name == "*" {
			h.anyHeader = true
		}
	}
	h.allowHeaders = strings.Join(h.Headers, ", ")
	h.exposeHeaders = strings.Join(h.ExposeHeaders, ", ")
	if h.MaxAge > 0 {
		h.maxAge = strconv.Itoa(int(time.Duration(h.MaxAge) / time.Second))
	}
	return nil
}

// Validate rejects combinations browsers refuse or that are unsafe.
func (h *Handler) Validate() error {
	return h.check()
}

// check is shared by Validate and the Caddyfile parser, so that mistakes
// fail at adapt time.
func (h *Handler) check() error {
	if _, err := newOriginMatcher(h.Origins); err != nil {
		return err
	}
	if h.Credentials && len(h.Origins) == 1 && h.Origins[0] == "*" {
		return errors.New("cors: credentials cannot be combined with origins *; browsers reject it. List the origins, e.g. origins https://app.example.com https://*.example.com")
	}
	for _, m := range h.Methods {
		if m == "*" || !httpguts.ValidHeaderFieldName(m) {
			return fmt.Errorf("cors: invalid method %q; list methods such as GET POST DELETE", m)
		}
	}
	for _, lists := range [][]string{h.Headers, h.ExposeHeaders} {
		for _, name := range lists {
			if name != "*" && !httpguts.ValidHeaderFieldName(name) {
				return fmt.Errorf("cors: invalid header name %q; write names such as Content-Type X-Api-Key", name)
			}
		}
	}
	for _, name := range h.ExposeHeaders {
		if name == "*" && h.Credentials {
			return errors.New("cors: expose_headers * is ignored by browsers with credentials; list the headers, e.g. expose_headers RateLimit Retry-After X-Request-Id")
		}
	}
	if h.MaxAge < 0 {
		return errors.New("cors: max_age must be a positive duration, e.g. max_age 10m")
	}
	return nil
}

// ServeHTTP answers preflights and decorates every other response.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		addVary(w.Header(), "Origin")
		return next.ServeHTTP(w, r)
	}
	allowed := h.origins.allowed(origin)
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.preflight(w, r, origin, allowed)
		return nil
	}
	cw := &corsWriter{ResponseWriterWrapper: &caddyhttp.ResponseWriterWrapper{ResponseWriter: w},
		handler: h, origin: origin, allowed: allowed}
	cw.apply() // now, so that the headers are there even if next fails
	return next.ServeHTTP(cw, r)
}

// preflight answers an OPTIONS preflight without calling the next handler:
// no authentication and no quota are spent on it. A disallowed origin gets
// no CORS headers, which makes the browser block the actual request.
func (h *Handler) preflight(w http.ResponseWriter, r *http.Request, origin string, allowed bool) {
	hdr := w.Header()
	addVary(hdr, "Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers")
	if allowed {
		h.setOrigin(hdr, origin)
		hdr.Set("Access-Control-Allow-Methods", h.allowMethods)
		switch {
		case h.anyHeader:
			if req := r.Header.Values("Access-Control-Request-Headers"); len(req) > 0 {
				hdr.Set("Access-Control-Allow-Headers", strings.Join(req, ", "))
			}
		case h.allowHeaders != "":
			hdr.Set("Access-Control-Allow-Headers", h.allowHeaders)
		}
		if h.maxAge != "" {
			hdr.Set("Access-Control-Max-Age", h.maxAge)
		}
	}
	hdr.Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
}

// setOrigin sets Access-Control-Allow-Origin (and -Credentials).
func (h *Handler) setOrigin(hdr http.Header, origin string) {
	if h.origins.any && !h.Credentials {
		hdr.Set("Access-Control-Allow-Origin", "*")
	} else {
		hdr.Set("Access-Control-Allow-Origin", origin)
	}
	if h.Credentials {
		hdr.Set("Access-Control-Allow-Credentials", "true")
	}
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
