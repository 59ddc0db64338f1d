package gwerror

import (
	"errors"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
)

func init() {
	caddy.RegisterModule(ErrorHandler{})
}

// ErrorHandler answers a handler error of Caddy's own (a request_body limit,
// reverse_proxy's unreachable or slow upstream, a method a route refuses) in
// the gateway's style, where Caddy alone would send the status with an empty
// body. It runs in a server's error routes: the gpugate adapter puts it in
// every server that has none, and an operator's handle_errors block may end
// with the gateway_error directive. The error's text, which may name an
// upstream, stays in Caddy's error log and never reaches the client.
//
// With error routes, Caddy logs a handled error at debug level only; this
// handler logs a 5xx at error level itself (the error, status, request id,
// method, host and path; never the query or headers, which can carry
// credentials), so an unreachable upstream still shows in the error log.
type ErrorHandler struct {
	errors *Writer
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (ErrorHandler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.gpugate_error", New: func() caddy.Module { return new(ErrorHandler) }}
}

// Provision loads the operator's response styles.
func (h *ErrorHandler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	var err error
	h.errors, err = Load(ctx)
	return err
}

// ServeHTTP writes the response of the error being handled.
func (h *ErrorHandler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	err, _ := r.Context().Value(caddyhttp.ErrorCtxKey).(error)
	resp := ResponseOf(err)
	status := resp.StatusCode()
	if status >= 500 && h.logger != nil {
		if c := h.logger.Check(zap.ErrorLevel, "handler error"); c != nil {
			c.Write(zap.Int("status", status), zap.String("request_id", RequestID(r)), zap.String("method", r.Method),
				zap.String("host", r.Host), zap.String("path", r.URL.Path), zap.Error(err))
		}
	}
	h.errors.Write(w, r, resp)
	return nil
}

// ResponseOf is the gateway response for a handler error: its status kept,
// its type the one API Gateway uses for that status, its message the
// type's default (never the error's text). A request_body limit that a
// streamed body passed is a 413 even when reverse_proxy reports it as 502.
func ResponseOf(err error) Response {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok { // a streamed body passed request_body's limit
		return Response{Type: RequestTooLarge}
	}
	var he caddyhttp.HandlerError
	if !errors.As(err, &he) || he.StatusCode == 0 {
		return Response{Type: Default5XX}
	}
	switch status := he.StatusCode; {
	case status == http.StatusRequestEntityTooLarge:
		return Response{Type: RequestTooLarge}
	case status == http.StatusBadGateway:
		return Response{Type: IntegrationFailure}
	case status == http.StatusGatewayTimeout:
		return Response{Type: IntegrationTimeout}
	case status == http.StatusNotFound:
		return Response{Type: ResourceNotFound}
	case status == http.StatusUnsupportedMediaType:
		return Response{Type: UnsupportedMediaType}
	case status >= 500:
		return Response{Type: Default5XX, Status: status}
	case status >= 400:
		return Response{Type: Default4XX, Status: status}
	default:
		return Response{Type: Default5XX}
	}
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*ErrorHandler)(nil)
	_ caddyhttp.MiddlewareHandler = (*ErrorHandler)(nil)
)
