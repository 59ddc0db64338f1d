package modal

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/gpugate/gpugate/modules/internal/upstream"
)

// hopHeaders are hop-by-hop headers (RFC 9110 section 7.6.1) that a proxy
// must not forward, in either direction.
var hopHeaders = [...]string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// removeHopHeaders deletes hop-by-hop headers, including those that the
// Connection header lists.
func removeHopHeaders(h http.Header) {
	for _, v := range h.Values("Connection") {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
}

// upstreamRequest builds the request sent to the endpoint; its body, if
// any, streams the client's body through the max_body limit.
func (h *Handler) upstreamRequest(r *http.Request, path, rawPath string) (*http.Request, *limitedBody) {
	out := &http.Request{
		Method:     r.Method,
		URL:        h.upstreamURL(path, rawPath, r.URL.RawQuery),
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h.upstreamHeader(r),
		Host:       h.origin.Host,
	}
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return out, nil
	}
	body := &limitedBody{body: r.Body, remaining: h.MaxBody}
	out.Body = body
	out.ContentLength = r.ContentLength
	return out, body
}

// upstreamHeader builds the headers of the upstream request: the client's
// headers without hop-by-hop headers and without any client credential,
// X-Forwarded-* set by the gateway (client-supplied ones are replaced), and
// the gateway's own credentials.
func (h *Handler) upstreamHeader(r *http.Request) http.Header {
	out := r.Header.Clone()
	if out == nil {
		out = http.Header{}
	}
	removeHopHeaders(out)
	upstream.StripClientCredentials(out, h.StripHeaders...)
	out.Del("Forwarded")
	out.Del("X-Forwarded-For")
	if ip := clientIP(r); ip != "" {
		out.Set("X-Forwarded-For", ip)
	}
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	out.Set("X-Forwarded-Proto", proto)
	out.Set("X-Forwarded-Host", r.Host)
	for name, values := range h.injected {
		out[name] = values
	}
	if _, ok := out["User-Agent"]; !ok {
		out["User-Agent"] = []string{""} // keep Go's default User-Agent off
	}
	return out
}

// clientIP is the client address as Caddy determined it (honouring the
// server's trusted_proxies), falling back to the connection's peer.
func clientIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && ip != "" {
		return ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	return host
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
