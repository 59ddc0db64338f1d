package modal

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/gpugate/gpugate/modules/gwerror"
	"github.com/gpugate/gpugate/modules/internal/metering"
	"github.com/gpugate/gpugate/modules/internal/upstream"
)

// errRedirectLoop ends a chain of redirects longer than maxRedirectHops.
var errRedirectLoop = errors.New("too many redirects from the upstream")

// ServeHTTP proxies r to the Modal endpoint and writes the upstream's
// response, or a gateway error. It never calls next.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	start := h.now()
	path, rawPath, err := h.paths.Map(r.URL.EscapedPath())
	switch {
	case errors.Is(err, upstream.ErrPrefixMismatch):
		h.reject(w, r, outcomeNotFound, gwerror.Response{Type: gwerror.ResourceNotFound})
		return nil
	case err != nil:
		h.reject(w, r, outcomeBadPath, gwerror.Response{Type: gwerror.BadRequestParameters,
			Message: "Invalid request path: " + upstream.ErrUnsafePath.Error()})
		return nil
	}
	if r.ContentLength > h.MaxBody {
		h.reject(w, r, outcomeTooLarge, gwerror.Response{Type: gwerror.RequestTooLarge})
		return nil
	}

	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	out, body := h.upstreamRequest(ctx, r, path, rawPath)

	deadline := start.Add(time.Duration(h.FollowFor))
	resp, err := h.call(out, cancel, h.callTimeout(deadline))
	if err == nil && h.Redirects == RedirectsFollow {
		resp, err = h.follow(ctx, cancel, out, resp, deadline)
	}
	if err != nil {
		h.upstreamFailed(w, r, err, body)
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		// The client's credentials never reach the upstream, so a 401 is
		// about the gateway's own (bearer, proxy_auth): the client cannot
		// fix it.
		h.reject(w, r, outcomeCredentials, h.upstream.Refused(resp.StatusCode))
		return nil
	}
	h.metrics.requests.WithLabelValues(outcomeProxied).Inc()
	h.writeResponse(w, resp)
	// The wall time of the call, followed 303s and the answer's body
	// included, for a usage plan's modal_wall meter.
	metering.Record(r.Context(), metering.Reading{Source: metering.ModalWall, Seconds: h.now().Sub(start).Seconds()})
	return nil
}

// call sends one request upstream and waits at most limit for the response
// headers. The body may be read after call returns: the timer is stopped
// once the headers are in.
func (h *Handler) call(req *http.Request, cancel context.CancelCauseFunc, limit time.Duration) (*http.Response, error) {
	if limit <= 0 {
		return nil, upstream.ErrTimedOut
	}
	timer := time.AfterFunc(limit, func() { cancel(upstream.ErrTimedOut) })
	resp, err := h.upstream.RoundTrip(req)
	if !timer.Stop() {
		if err == nil {
			resp.Body.Close()
		}
		return nil, upstream.ErrTimedOut
	}
	return resp, err
}

// follow follows Modal's long-call redirects: while the upstream answers
// 303 with a Location on the same endpoint, it GETs that Location (with the
// same injected credentials) until a final answer or the deadline.
func (h *Handler) follow(ctx context.Context, cancel context.CancelCauseFunc, first *http.Request, resp *http.Response, deadline time.Time) (*http.Response, error) {
	for hops := 0; resp.StatusCode == http.StatusSeeOther; hops++ {
		next, ok := h.sameEndpoint(first.URL, resp.Header.Get("Location"))
		if !ok {
			return resp, nil // off the endpoint: pass it through untouched
		}
		drain(resp.Body)
		if hops == maxRedirectHops {
			return nil, errRedirectLoop
		}
		h.metrics.redirects.Inc()
		req := first.WithContext(ctx)
		req.Method, req.URL, req.Body, req.ContentLength = http.MethodGet, next, nil, 0
		req.Header = first.Header.Clone()
		for _, name := range []string{"Content-Type", "Content-Length", "Content-Encoding", "Expect"} {
			req.Header.Del(name)
		}
		var err error
		if resp, err = h.call(req, cancel, h.callTimeout(deadline)); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// drain reads a little of a body we do not forward, so the connection can
// be reused, then closes it.
func drain(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, 64<<10)
	body.Close()
}

// upstreamFailed writes the gateway error for a call that got no usable
// response.
func (h *Handler) upstreamFailed(w http.ResponseWriter, r *http.Request, err error, body *upstream.LimitedBody) {
	switch {
	case body.TooLarge():
		h.reject(w, r, outcomeTooLarge, gwerror.Response{Type: gwerror.RequestTooLarge})
	case r.Context().Err() != nil:
		h.metrics.requests.WithLabelValues(outcomeClientGone).Inc()
		h.logger.Debug("client went away before the upstream answered", zap.String("upstream", h.origin.Host))
	case errors.Is(err, errRedirectLoop):
		h.logger.Error("modal upstream kept redirecting", zap.String("upstream", h.origin.Host))
		h.reject(w, r, outcomeRedirectLoop, gwerror.Response{Type: gwerror.IntegrationFailure})
	default:
		resp := h.upstream.Failed(err)
		outcome := outcomeUnreachable
		if resp.Type == gwerror.IntegrationTimeout {
			outcome = outcomeTimeout
		}
		h.reject(w, r, outcome, resp)
	}
}

// reject writes a gateway error and counts it.
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, outcome string, resp gwerror.Response) {
	h.metrics.requests.WithLabelValues(outcome).Inc()
	h.errors.Write(w, r, resp)
}
