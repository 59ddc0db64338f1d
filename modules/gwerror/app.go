package gwerror

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"golang.org/x/net/http/httpguts"
)

func init() {
	caddy.RegisterModule(App{})
}

// App holds the operator's restyled gateway responses (global option
// gateway_responses), like API Gateway's gateway responses. Types without a
// style of their own fall back to DEFAULT_4XX or DEFAULT_5XX by status
// class, then to the built-in AWS default.
type App struct {
	// Responses maps a response type (e.g. "UNAUTHORIZED") to its style.
	Responses map[Type]*ResponseStyle `json:"responses,omitempty"`
	// RequestIDHeader names the response header carrying the request id
	// (default X-Request-Id); "off" sends none.
	RequestIDHeader string `json:"request_id_header,omitempty"`

	styles   map[Type]*style
	fallback map[Type]*style // DEFAULT_4XX/5XX styles for other types, status left alone
	idHeader string
}

// ResponseStyle is one restyled response type.
type ResponseStyle struct {
	// Status replaces the type's status code.
	Status int `json:"status,omitempty"`
	// Body is the body template; it may use {message}, {status}, {type},
	// {request_id} and Caddy placeholders. Values are escaped to fit the
	// Content-Type (JSON by default).
	Body string `json:"body,omitempty"`
	// Headers are set on the response; values are templates like Body.
	Headers http.Header `json:"headers,omitempty"`
}

// style is a ResponseStyle compiled for writing.
type style struct {
	status      int
	hasBody     bool
	body        template
	contentType string
	headers     []styleHeader
}

type styleHeader struct {
	name  string
	value template
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  AppName,
		New: func() caddy.Module { return new(App) },
	}
}

// Provision compiles the templates.
func (a *App) Provision(caddy.Context) error {
	a.idHeader = a.RequestIDHeader
	switch {
	case a.idHeader == "":
		a.idHeader = DefaultRequestIDHeader
	case strings.EqualFold(a.idHeader, "off"):
		a.idHeader = ""
	}
	a.styles = make(map[Type]*style, len(a.Responses))
	for t, rs := range a.Responses {
		if rs == nil {
			continue
		}
		s := &style{status: rs.Status, hasBody: rs.Body != "", body: compileTemplate(rs.Body)}
		names := make([]string, 0, len(rs.Headers))
		for name := range rs.Headers {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			value := strings.Join(rs.Headers[name], ", ")
			if http.CanonicalHeaderKey(name) == "Content-Type" {
				s.contentType = value
				continue
			}
			s.headers = append(s.headers, styleHeader{name: name, value: compileTemplate(value)})
		}
		a.styles[t] = s
	}
	a.fallback = make(map[Type]*style, 2)
	for _, t := range []Type{Default4XX, Default5XX} {
		if s, ok := a.styles[t]; ok {
			inherited := *s
			inherited.status = 0
			a.fallback[t] = &inherited
		}
	}
	return nil
}

// Validate checks the types, statuses and headers.
func (a *App) Validate() error {
	known := make(map[Type]bool)
	for _, t := range Types() {
		known[t] = true
	}
	for t, rs := range a.Responses {
		if !known[t] {
			return fmt.Errorf("gateway_responses: unknown response type %q; use one of %s", t, typeList())
		}
		if rs == nil {
			continue
		}
		if rs.Status != 0 && (rs.Status < 200 || rs.Status > 599) {
			return fmt.Errorf("gateway_responses %s: status %d is not a response status; write e.g. status 401", t, rs.Status)
		}
		for name := range rs.Headers {
			if !httpguts.ValidHeaderFieldName(name) {
				return fmt.Errorf("gateway_responses %s: invalid header name %q", t, name)
			}
			if http.CanonicalHeaderKey(name) == "Content-Type" && rs.Body == "" {
				return fmt.Errorf("gateway_responses %s: a Content-Type header needs a body in that type; add body <template>", t)
			}
			if http.CanonicalHeaderKey(name) == "Content-Length" {
				return fmt.Errorf("gateway_responses %s: Content-Length is computed; remove that header", t)
			}
		}
	}
	if h := a.RequestIDHeader; h != "" && !strings.EqualFold(h, "off") && !httpguts.ValidHeaderFieldName(h) {
		return fmt.Errorf("gateway_responses: invalid request_id_header %q; write e.g. request_id_header X-Request-Id", h)
	}
	return nil
}

// Start is a no-op: the app only holds configuration.
func (*App) Start() error { return nil }

// Stop is a no-op.
func (*App) Stop() error { return nil }

// styleOf returns the style of resp's type, else DEFAULT_4XX/DEFAULT_5XX
// by status class (keeping the response's own status), else nil (the
// built-in default).
func (a *App) styleOf(resp Response) *style {
	if s, ok := a.styles[resp.Type]; ok {
		return s
	}
	switch status := resp.StatusCode(); {
	case status >= 400 && status < 500:
		return a.fallback[Default4XX]
	case status >= 500:
		return a.fallback[Default5XX]
	}
	return nil
}

// typeList lists the response types for error messages.
func typeList() string {
	names := make([]string, 0, len(Types()))
	for _, t := range Types() {
		names = append(names, string(t))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Interface guards.
var (
	_ caddy.App         = (*App)(nil)
	_ caddy.Provisioner = (*App)(nil)
	_ caddy.Validator   = (*App)(nil)
)
