package modal

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
)

// upstreamRequest builds the request sent to the endpoint from the
// client's: the mapped URL, the client's headers (the upstream client
// applies the outbound header policy and the credentials on its copy), and
// a body, if any, that streams the client's through the max_body limit.
func (h *Handler) upstreamRequest(ctx context.Context, r *http.Request, path, rawPath string) (*http.Request, *limitedBody) {
	out := r.WithContext(ctx)
	out.URL = h.upstreamURL(path, rawPath, r.URL.RawQuery)
	out.RequestURI = ""
	out.Proto, out.ProtoMajor, out.ProtoMinor = "HTTP/1.1", 1, 1
	out.Close = false
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		out.Body, out.ContentLength = nil, 0
		return out, nil
	}
	body := &limitedBody{body: r.Body, remaining: h.MaxBody}
	out.Body = body
	return out, body
}

// upstreamURL is the upstream URL of a mapped path, with the client's query
// string as it was sent.
func (h *Handler) upstreamURL(path, rawPath, rawQuery string) *url.URL {
	return &url.URL{Scheme: h.origin.Scheme, Host: h.origin.Host, Path: path, RawPath: rawPath, RawQuery: rawQuery}
}

// errBodyTooLarge is returned by limitedBody once the limit is passed.
var errBodyTooLarge = errors.New("request body too large")

// limitedBody streams a request body to the upstream and fails once more
// than limit bytes were read. The transport reads it from its own
// goroutine, so the flag is atomic.
type limitedBody struct {
	body      io.ReadCloser
	remaining int64
	exceeded  atomic.Bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.remaining < 0 {
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > b.remaining+1 {
		p = p[:b.remaining+1]
	}
	n, err := b.body.Read(p)
	b.remaining -= int64(n)
	if b.remaining < 0 {
		b.exceeded.Store(true)
		return n, errBodyTooLarge
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.body.Close() }

// tooLarge reports whether the body went past its limit.
func (b *limitedBody) tooLarge() bool { return b != nil && b.exceeded.Load() }
