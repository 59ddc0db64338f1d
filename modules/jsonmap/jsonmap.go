package jsonmap

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/gpugate/gpugate/modules/gwerror"
	"go.uber.org/zap"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Default body limits.
const (
	DefaultMaxBody         = 1 << 20
	DefaultMaxResponseBody = 10 << 20
)

// Handler rewrites JSON request bodies, and optionally JSON response
// bodies, with a declarative list of operations (directive json_map).
type Handler struct {
	// Request lists the operations applied to a JSON request body.
	Request []Operation `json:"request,omitempty"`
	// Response lists the operations applied to 2xx JSON responses.
	Response []Operation `json:"response,omitempty"`
	// MaxBody is the largest request body accepted, in bytes (default 1 MiB).
	MaxBody int64 `json:"max_body,omitempty"`
	// MaxResponseBody is the largest response buffered for mapping, in bytes
	// (default 10 MiB); larger responses pass through unmapped.
	MaxResponseBody int64 `json:"max_response_body,omitempty"`

	request  []step
	response []step
	errors   *gwerror.Writer
	logger   *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.gpugate_json_map",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision compiles the operations and loads the gateway error writer.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	if h.MaxBody == 0 {
		h.MaxBody = DefaultMaxBody
	}
	if h.MaxResponseBody == 0 {
		h.MaxResponseBody = DefaultMaxResponseBody
	}
	var err error
	if h.request, err = compile("request", h.Request); err != nil {
		return err
	}
	if h.response, err = compile("response", h.Response); err != nil {
		return err
	}
	h.errors, err = gwerror.Load(ctx)
	return err
}

// Validate checks the configuration.
func (h *Handler) Validate() error {
	if len(h.Request) == 0 && len(h.Response) == 0 {
		return errors.New("json_map: nothing to do; add a request { ... } or response { ... } block")
	}
	if h.MaxBody < 0 || h.MaxResponseBody < 0 {
		return errors.New("json_map: max_body and max_response_body must be positive sizes, e.g. max_body 1MiB")
	}
	return nil
}

// ServeHTTP maps the request body, calls next and maps its response.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if len(h.request) > 0 && hasBody(r) {
		if resp, failed := h.mapRequest(r, repl); failed {
			h.errors.Write(w, r, resp)
			return nil
		}
	}
	if len(h.response) == 0 {
		return next.ServeHTTP(w, r)
	}
	// The mapping cannot rewrite compressed bodies: ask for identity.
	r.Header.Del("Accept-Encoding")
	rm := &responseMapper{ResponseWriterWrapper: &caddyhttp.ResponseWriterWrapper{ResponseWriter: w},
		handler: h, repl: repl, method: r.Method}
	if err := next.ServeHTTP(rm, r); err != nil {
		// A held, possibly partial, response is dropped so that Caddy's
		// error handling answers instead of a truncated 2xx.
		return err
	}
	return rm.finish()
}

// hasBody reports whether r may carry a body.
func hasBody(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody {
		return false
	}
	return r.ContentLength != 0
}

// mapRequest replaces r's body with its mapping. On failure it returns the
// gateway response to send and true.
func (h *Handler) mapRequest(r *http.Request, repl *caddy.Replacer) (gwerror.Response, bool) {
	if ce := r.Header.Get("Content-Encoding"); ce != "" && ce != "identity" {
		return gwerror.Response{Type: gwerror.UnsupportedMediaType,
			Message: "Unsupported Media Type: send the JSON body uncompressed (no Content-Encoding)"}, true
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !isJSONType(ct) {
		return badBody("Content-Type must be application/json"), true
	}
	if r.ContentLength > h.MaxBody {
		return tooLarge(), true
	}
	body, err := readLimited(r.Body, r.ContentLength, h.MaxBody)
	_ = r.Body.Close()
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, errTooLarge), errors.As(err, &mbe):
		return tooLarge(), true
	case err != nil:
		return badBody("the body could not be read"), true
	}
	if len(body) == 0 {
		setBody(r, nil)
		return gwerror.Response{}, false
	}
	mapped, err := mapBody(body, h.request, repl)
	if err != nil {
		var be *BodyError
		var fe *FieldError
		if errors.As(err, &be) || errors.As(err, &fe) {
			return badBody(err.Error()), true
		}
		return gwerror.Response{Type: gwerror.Default5XX}, true
	}
	setBody(r, mapped)
	return gwerror.Response{}, false
}

// setBody installs body as r's body with a matching Content-Length.
func setBody(r *http.Request, body []byte) {
	r.TransferEncoding = nil
	r.Header.Del("Transfer-Encoding")
	r.ContentLength = int64(len(body))
	if len(body) == 0 {
		r.Body = http.NoBody
		r.Header.Del("Content-Length")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
}

var errTooLarge = errors.New("body too large")

// readLimited reads at most limit bytes; more is errTooLarge. size is the
// announced Content-Length (-1 when unknown), used to size the buffer.
func readLimited(body io.Reader, size, limit int64) ([]byte, error) {
	capacity := int64(512)
	if size > 0 {
		capacity = size + 1
	}
	buf := bytes.NewBuffer(make([]byte, 0, capacity))
	n, err := buf.ReadFrom(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, errTooLarge
	}
	return buf.Bytes(), nil
}

func badBody(reason string) gwerror.Response {
	return gwerror.Response{Type: gwerror.BadRequestBody, Message: "Invalid request body: " + reason}
}

// tooLarge is API Gateway's 413, the same as every other body limit of the
// gateway answers.
func tooLarge() gwerror.Response {
	return gwerror.Response{Type: gwerror.RequestTooLarge}
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
