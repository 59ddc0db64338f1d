package gwerror

import (
	"errors"
	"net/http"

	"github.com/caddyserver/caddy/v2"
)

// Writer writes gateway errors in the operator's style. The zero value and a
// nil *Writer write the built-in defaults.
type Writer struct {
	// Style restyles a response; nil keeps the defaults. It is installed by
	// the gateway_responses app when the operator configures one.
	Style func(w http.ResponseWriter, r *http.Request, resp Response) bool
}

// Write writes resp to w. It never panics and always writes a complete
// response.
func (gw *Writer) Write(w http.ResponseWriter, r *http.Request, resp Response) {
	if gw != nil && gw.Style != nil && gw.Style(w, r, resp) {
		return
	}
	writeDefault(w, resp)
}

// Styler is implemented by the Caddy app that holds the operator's restyled
// gateway responses.
type Styler interface {
	Style(w http.ResponseWriter, r *http.Request, resp Response) bool
}

// AppName is the Caddy app ID of the operator's restyled gateway responses.
const AppName = "gateway_responses"

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
	if s, ok := app.(Styler); ok {
		return &Writer{Style: s.Style}, nil
	}
	return &Writer{}, nil
}
