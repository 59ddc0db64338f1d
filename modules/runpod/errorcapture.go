package runpod

import (
	"bytes"
	"mime"
	"net/http"
)

// maxErrorBody bounds how much of an upstream error body is read.
const maxErrorBody = 64 << 10

// errorCapture passes a proxied response through untouched, except an
// error answer RunPod styled as problem+json (or any 5xx): that one is held
// back so the handler can answer in the gateway's style instead. It flushes
// through for streams and unwraps for http.ResponseController.
type errorCapture struct {
	http.ResponseWriter
	before         map[string]bool // header names set before the proxy ran
	upstreamHeader http.Header
	body           bytes.Buffer
	status         int
	wroteHeader    bool
	capturing      bool
	// holdBack, when set and true at the response's start, holds back any
	// answer (the client's body passed max_body: the answer is the 413).
	holdBack func() bool
}

func newErrorCapture(w http.ResponseWriter) *errorCapture {
	before := make(map[string]bool, len(w.Header()))
	for k := range w.Header() {
		before[k] = true
	}
	return &errorCapture{ResponseWriter: w, before: before}
}

// WriteHeader starts the response, or starts capturing an error.
func (c *errorCapture) WriteHeader(code int) {
	if c.wroteHeader {
		return
	}
	if code < http.StatusOK {
		c.ResponseWriter.WriteHeader(code)
		return
	}
	c.wroteHeader, c.status = true, code
	if (c.holdBack != nil && c.holdBack()) ||
		code >= http.StatusBadRequest && (code >= http.StatusInternalServerError || isProblem(c.Header())) {
		c.capturing = true
		c.upstreamHeader = c.Header().Clone()
		return
	}
	c.ResponseWriter.WriteHeader(code)
}

// Write writes through, or buffers (bounded) a captured error body.
func (c *errorCapture) Write(p []byte) (int, error) {
	if !c.wroteHeader {
		c.WriteHeader(http.StatusOK)
	}
	if c.capturing {
		if room := maxErrorBody - c.body.Len(); room > 0 {
			c.body.Write(p[:min(len(p), room)])
		}
		return len(p), nil
	}
	return c.ResponseWriter.Write(p)
}

// FlushError flushes through unless an error is being captured.
func (c *errorCapture) FlushError() error {
	if c.capturing {
		return nil
	}
	if !c.wroteHeader {
		c.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(c.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController the underlying writer.
func (c *errorCapture) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// restoreHeader removes the headers the upstream set, keeping the ones
// earlier handlers set (CORS, request id...).
func (c *errorCapture) restoreHeader() {
	h := c.Header()
	for k := range h {
		if !c.before[k] {
			delete(h, k)
		}
	}
}

// isProblem reports whether h declares an application/problem+json body.
func isProblem(h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt == "application/problem+json"
}
