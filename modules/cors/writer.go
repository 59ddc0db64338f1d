package cors

import (
	"io"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// corsWriter makes the gateway's CORS policy final: when the response
// header is written it removes CORS headers set by later handlers or the
// upstream (a second Access-Control-Allow-Origin makes browsers reject the
// response) and sets the gateway's own again.
type corsWriter struct {
	*caddyhttp.ResponseWriterWrapper
	handler     *Handler
	origin      string
	allowed     bool
	wroteHeader bool
}

// apply sets the CORS headers of an actual (non-preflight) request.
func (cw *corsWriter) apply() {
	hdr := cw.Header()
	for name := range hdr {
		if strings.HasPrefix(name, "Access-Control-") {
			delete(hdr, name)
		}
	}
	addVary(hdr, "Origin")
	if !cw.allowed {
		return
	}
	h := cw.handler
	h.setOrigin(hdr, cw.origin)
	if h.exposeHeaders != "" {
		hdr.Set("Access-Control-Expose-Headers", h.exposeHeaders)
	}
}

// WriteHeader re-applies the policy, then writes the header.
func (cw *corsWriter) WriteHeader(status int) {
	if !cw.wroteHeader && status >= 200 {
		cw.wroteHeader = true
		cw.apply()
	}
	cw.ResponseWriter.WriteHeader(status)
}

// Write writes the header first when a handler did not.
func (cw *corsWriter) Write(p []byte) (int, error) {
	if !cw.wroteHeader {
		cw.WriteHeader(http.StatusOK)
	}
	return cw.ResponseWriter.Write(p)
}

// ReadFrom writes the header first, then lets the underlying writer copy.
func (cw *corsWriter) ReadFrom(r io.Reader) (int64, error) {
	if !cw.wroteHeader {
		cw.WriteHeader(http.StatusOK)
	}
	return cw.ResponseWriterWrapper.ReadFrom(r)
}

// Flush writes the header first, then flushes.
func (cw *corsWriter) Flush() { _ = cw.FlushError() }

// FlushError is Flush for http.ResponseController.
func (cw *corsWriter) FlushError() error {
	if !cw.wroteHeader {
		cw.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(cw.ResponseWriter).Flush()
}

// addVary adds names to the Vary header unless already listed.
func addVary(hdr http.Header, names ...string) {
	for _, name := range names {
		if !varyHas(hdr, name) {
			hdr.Add("Vary", name)
		}
	}
}

func varyHas(hdr http.Header, name string) bool {
	for _, v := range hdr.Values("Vary") {
		for part := range strings.SplitSeq(v, ",") {
			if p := strings.TrimSpace(part); p == "*" || strings.EqualFold(p, name) {
				return true
			}
		}
	}
	return false
}
