// Package recorder records the status of the response that the rest of a
// handler chain writes, for the handlers that act on it afterwards
// (refunds, metering, per-route metrics).
package recorder

import (
	"io"
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// Recorder passes a response through and remembers its final status.
type Recorder struct {
	*caddyhttp.ResponseWriterWrapper
	status int
}

// New wraps w.
func New(w http.ResponseWriter) *Recorder {
	return &Recorder{ResponseWriterWrapper: &caddyhttp.ResponseWriterWrapper{ResponseWriter: w}}
}

// Status is the final (non-1xx) status written, or 0 when nothing was.
func (r *Recorder) Status() int { return r.status }

// WriteHeader records the first final status.
func (r *Recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriterWrapper.WriteHeader(code)
}

// Write records an implicit 200.
func (r *Recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriterWrapper.Write(b)
}

// ReadFrom records an implicit 200 (reverse_proxy copies bodies this way,
// past Write).
func (r *Recorder) ReadFrom(src io.Reader) (int64, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriterWrapper.ReadFrom(src)
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (r *Recorder) Unwrap() http.ResponseWriter { return r.ResponseWriterWrapper.ResponseWriter }
