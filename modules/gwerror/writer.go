package gwerror

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/caddyserver/caddy/v2"
)

// Writer writes gateway errors in the operator's style. The zero value and a
// nil *Writer write the built-in defaults.
type Writer struct {
	// app holds the operator's restyled responses; nil keeps the defaults.
	app *App
}

// Write writes resp to w. It never panics and always writes a complete
// response carrying the request id header.
func (gw *Writer) Write(w http.ResponseWriter, r *http.Request, resp Response) {
	if gw != nil && gw.app != nil {
		writeResponse(w, r, resp, gw.app.styleOf(resp), gw.app.idHeader)
		return
	}
	writeResponse(w, r, resp, nil, DefaultRequestIDHeader)
}

// AppName is the Caddy app ID of the operator's restyled gateway responses
// (the gateway_responses global option).
const AppName = "gpugate_gateway_responses"

// Load returns the Writer for a module being provisioned in ctx: restyled
// when the gateway_responses app is configured, the defaults otherwise.
func Load(ctx caddy.Context) (*Writer, error) {
	app, err := ctx.AppIfConfigured(AppName)
	if errors.Is(err, caddy.ErrNotConfigured) {
		return &Writer{}, nil
	}
	if err != nil {
		return nil, err
	}
	return &Writer{app: app.(*App)}, nil
}

// defaultBody is the JSON shape of every built-in gateway error.
type defaultBody struct {
	Message string `json:"message"`
}

// writeResponse writes resp in style s (nil: AWS's built-in style) with the
// request id in the header idHeader (none when empty).
func writeResponse(w http.ResponseWriter, r *http.Request, resp Response, s *style, idHeader string) {
	hdr := w.Header()
	for k, vs := range resp.Header {
		hdr[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	id := ""
	if idHeader != "" {
		if id = RequestID(r); id != "" {
			hdr.Set(idHeader, id)
		}
	}
	if s != nil && s.status != 0 {
		resp.Status = s.status
	}
	var b []byte
	contentType := "application/json"
	if s == nil {
		b, _ = json.Marshal(defaultBody{Message: resp.Text()})
		b = append(b, '\n')
	} else {
		v := &vars{resp: resp, requestID: id, repl: replacerOf(r)}
		for _, h := range s.headers {
			hdr.Set(h.name, headerSafe(h.value.render(v, identity)))
		}
		if s.contentType != "" {
			contentType = s.contentType
		}
		if s.hasBody {
			b = []byte(s.body.render(v, escaperFor(contentType)))
		} else {
			b, _ = json.Marshal(defaultBody{Message: resp.Text()})
			b = append(b, '\n')
		}
	}
	hdr.Set("Content-Type", contentType)
	hdr.Set("Content-Length", strconv.Itoa(len(b)))
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Del("Content-Encoding")
	w.WriteHeader(resp.StatusCode())
	if r == nil || r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}

func identity(s string) string { return s }
