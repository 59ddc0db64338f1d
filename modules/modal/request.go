package modal

import (
	"context"
	"net/http"
	"net/url"

	"github.com/gpugate/gpugate/modules/internal/upstream"
)

// upstreamRequest builds the request sent to the endpoint from the
// client's: the mapped URL, the client's headers (the upstream client
// applies the outbound header policy and the credentials on its copy), and
// a body, if any, that streams the client's through the max_body limit.
func (h *Handler) upstreamRequest(ctx context.Context, r *http.Request, path, rawPath string) (*http.Request, *upstream.LimitedBody) {
	out := r.WithContext(ctx)
	out.URL = h.upstreamURL(path, rawPath, r.URL.RawQuery)
	out.RequestURI = ""
	out.Proto, out.ProtoMajor, out.ProtoMinor = "HTTP/1.1", 1, 1
	out.Close = false
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		out.Body, out.ContentLength = nil, 0
		return out, nil
	}
	body := upstream.LimitBody(r.Body, h.MaxBody)
	out.Body = body
	return out, body
}

// upstreamURL is the upstream URL of a mapped path, with the client's query
// string as it was sent.
func (h *Handler) upstreamURL(path, rawPath, rawQuery string) *url.URL {
	return &url.URL{Scheme: h.origin.Scheme, Host: h.origin.Host, Path: path, RawPath: rawPath, RawQuery: rawQuery}
}
