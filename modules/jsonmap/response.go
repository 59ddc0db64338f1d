package jsonmap

import (
	"bytes"
	"io"
	"net/http"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
)

// mapperState is what a responseMapper does with the bytes it is given.
type mapperState int

const (
	undecided   mapperState = iota // no header written yet
	buffering                      // a 2xx JSON response, held for mapping
	passthrough                    // anything else, streamed as it comes
)

// responseMapper buffers 2xx JSON responses (up to the handler's
// MaxResponseBody) so finish can map them; every other response streams
// through untouched.
type responseMapper struct {
	*caddyhttp.ResponseWriterWrapper
	handler *Handler
	repl    *caddy.Replacer
	method  string
	state   mapperState
	status  int
	buf     bytes.Buffer
}

// WriteHeader decides between buffering and streaming.
func (rm *responseMapper) WriteHeader(status int) {
	if rm.state != undecided {
		return
	}
	if status >= 100 && status < 200 {
		rm.ResponseWriter.WriteHeader(status)
		return
	}
	h := rm.Header()
	if status >= 200 && status < 300 && status != http.StatusNoContent && rm.method != http.MethodHead &&
		isJSONType(h.Get("Content-Type")) && h.Get("Content-Encoding") == "" {
		rm.state, rm.status = buffering, status
		return
	}
	rm.state = passthrough
	rm.ResponseWriter.WriteHeader(status)
}

// Write buffers or streams p.
func (rm *responseMapper) Write(p []byte) (int, error) {
	if rm.state == undecided {
		rm.WriteHeader(http.StatusOK)
	}
	if rm.state == passthrough {
		return rm.ResponseWriter.Write(p)
	}
	if int64(rm.buf.Len()+len(p)) > rm.handler.MaxResponseBody {
		rm.handler.logger.Warn("JSON response larger than max_response_body passed through unmapped",
			zap.Int64("max_response_body", rm.handler.MaxResponseBody))
		if err := rm.release(rm.buf.Bytes(), false); err != nil {
			return 0, err
		}
		return rm.ResponseWriter.Write(p)
	}
	return rm.buf.Write(p)
}

// ReadFrom copies through Write so that buffering is honoured.
func (rm *responseMapper) ReadFrom(r io.Reader) (int64, error) {
	if rm.state == passthrough {
		return rm.ResponseWriterWrapper.ReadFrom(r)
	}
	return io.Copy(writerOnly{rm}, r)
}

// writerOnly hides ReadFrom so io.Copy uses Write.
type writerOnly struct{ io.Writer }

// Flush flushes a streamed response; a buffered one is flushed by finish.
func (rm *responseMapper) Flush() { _ = rm.FlushError() }

// FlushError is Flush for http.ResponseController.
func (rm *responseMapper) FlushError() error {
	if rm.state != passthrough {
		return nil
	}
	return http.NewResponseController(rm.ResponseWriter).Flush()
}

// finish maps and writes a buffered response. It is called once, after the
// next handler returned.
func (rm *responseMapper) finish() error {
	if rm.state != buffering {
		return nil
	}
	mapped, err := mapBody(rm.buf.Bytes(), rm.handler.response, rm.repl)
	if err != nil {
		rm.handler.logger.Warn("JSON response could not be mapped; passed through unmapped", zap.Error(err))
		return rm.release(rm.buf.Bytes(), false)
	}
	return rm.release(mapped, true)
}

// release writes the held header and body and switches to streaming.
func (rm *responseMapper) release(body []byte, mapped bool) error {
	rm.state = passthrough
	h := rm.Header()
	if mapped {
		h.Set("Content-Length", strconv.Itoa(len(body)))
		h.Del("Etag")
	}
	rm.ResponseWriter.WriteHeader(rm.status)
	_, err := rm.ResponseWriter.Write(body)
	return err
}
