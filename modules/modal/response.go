package modal

import (
	"io"
	"mime"
	"net/http"
	"net/url"

	"go.uber.org/zap"
)

// sameEndpoint resolves a Location header against the request URL and
// returns it when it stays on the configured endpoint (same scheme and
// host, path under the upstream base).
func (h *Handler) sameEndpoint(base *url.URL, location string) (*url.URL, bool) {
	if location == "" {
		return nil, false
	}
	loc, err := base.Parse(location)
	if err != nil || loc.Scheme != h.origin.Scheme || !equalHost(loc.Host, h.origin.Host) || loc.User != nil {
		return nil, false
	}
	if _, ok := h.paths.Unmap(loc.EscapedPath()); !ok {
		return nil, false
	}
	loc.Host = h.origin.Host
	loc.Fragment = ""
	return loc, true
}

func equalHost(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}

// clientLocation maps a Location on the upstream endpoint back onto the
// gateway, as a path-absolute reference, so a client that follows it comes
// back through the gateway (and its auth) instead of going to Modal.
func (h *Handler) clientLocation(base *url.URL, location string) (string, bool) {
	loc, ok := h.sameEndpoint(base, location)
	if !ok {
		return "", false
	}
	path, ok := h.paths.Unmap(loc.EscapedPath())
	if !ok {
		return "", false
	}
	if loc.RawQuery != "" {
		path += "?" + loc.RawQuery
	}
	return path, true
}

// writeResponse copies the upstream response to the client, streaming the
// body. Responses of unknown length and event streams are flushed after
// every read, so tokens and progress events reach the client as they come.
func (h *Handler) writeResponse(w http.ResponseWriter, resp *http.Response) {
	header := w.Header()
	for name, values := range resp.Header { // already cleaned by the upstream client
		header[name] = values
	}
	if location := resp.Header.Get("Location"); location != "" {
		if mapped, ok := h.clientLocation(resp.Request.URL, location); ok {
			header.Set("Location", mapped)
		}
	}
	w.WriteHeader(resp.StatusCode)
	buf := h.buffers.Get().(*[]byte)
	defer h.buffers.Put(buf)
	if err := copyBody(w, resp.Body, *buf, flushesEveryWrite(resp)); err != nil && resp.Request.Context().Err() == nil {
		h.logger.Warn("streaming the upstream response was cut short",
			zap.String("upstream", h.origin.Host), zap.Error(err))
	}
}

// flushesEveryWrite reports whether a response must reach the client
// without buffering.
func flushesEveryWrite(resp *http.Response) bool {
	if resp.ContentLength < 0 {
		return true
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return ct == "text/event-stream"
}

// copyBody copies src to w, flushing after each write when flush is set.
func copyBody(w http.ResponseWriter, src io.Reader, buf []byte, flush bool) error {
	rc := http.NewResponseController(w)
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			if flush {
				if err := rc.Flush(); err != nil {
					flush = false // the writer cannot flush; keep copying
				}
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}
