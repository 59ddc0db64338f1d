package runpod

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

	"github.com/gpugate/gpugate/modules/gwerror"
	"github.com/gpugate/gpugate/modules/internal/metering"
	"github.com/gpugate/gpugate/modules/internal/upstream"
)

// newProxy provisions a Caddy reverse proxy to target's host through c. It
// flushes immediately (streams pass unbuffered) and retries once only when
// the connection could not be made: a request that reached RunPod is never
// sent twice.
func newProxy(ctx caddy.Context, c *upstream.Client, target *url.URL) (*reverseproxy.Handler, error) {
	rp := &reverseproxy.Handler{
		Transport:     c,
		Upstreams:     reverseproxy.UpstreamPool{{Dial: hostPort(target)}},
		FlushInterval: caddy.Duration(-1),
		LoadBalancing: &reverseproxy.LoadBalancing{
			Retries:     1,
			TryInterval: caddy.Duration(50 * time.Millisecond),
			// A matcher set that never matches: non-dial errors are not retried.
			RetryMatch: caddyhttp.MatcherSets{{caddyhttp.MatchMethod{}}},
		},
	}
	if err := rp.Provision(ctx); err != nil {
		return nil, err
	}
	return rp, nil
}

// hostPort is u's host with the scheme's default port made explicit.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// serveAPI passes the request through to the v2 management API: the
// route's path is appended to base_url's path through the shared
// segment-checked mapper, so dot segments, encoded slashes and the like
// are a 400 that never reaches RunPod.
func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	path, rawPath, err := h.basePaths.Map(r.URL.EscapedPath())
	if err != nil {
		return h.rejectPath(w, r, err)
	}
	return h.pass(w, r, next, path, rawPath, h.maxBodyFor(""))
}

// rejectPath answers a client path the mapper refused: 400 for an unsafe
// path (as modal does), 404 otherwise.
func (h *Handler) rejectPath(w http.ResponseWriter, r *http.Request, err error) error {
	if errors.Is(err, upstream.ErrUnsafePath) {
		return h.reject(w, r, gwerror.Response{Type: gwerror.BadRequestParameters,
			Message: "Invalid request path: " + upstream.ErrUnsafePath.Error()})
	}
	return h.reject(w, r, gwerror.Response{Type: gwerror.ResourceNotFound})
}

// serverlessOperations are the job API operations and whether they take a
// job id.
// (every job route RunPod's Python and JavaScript SDKs call: status-sync
// is the JavaScript SDK's poll after a runsync that outlasted its wait).
var serverlessOperations = map[string]bool{
	"run": false, "runsync": false, "purge-queue": false, "health": false,
	"status": true, "status-sync": true, "stream": true, "cancel": true, "retry": true,
}

// serveServerless maps /jobs/<alias>/<operation>[/<job-id>] onto
// <serverless_url>/<endpoint-id>/<operation>[/<job-id>]. The client path
// goes through the shared segment checks (unsafe paths are a 400), and
// every segment that reaches RunPod is a configured id or matches a fixed
// pattern.
func (h *Handler) serveServerless(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	parts, err := upstream.SplitPath(r.URL.EscapedPath())
	if err != nil {
		return h.rejectPath(w, r, err)
	}
	if n := len(parts); n > 0 && parts[n-1] == "" { // a trailing slash
		parts = parts[:n-1]
	}
	if len(parts) < 3 || len(parts) > 4 || parts[0] != "jobs" {
		return h.reject(w, r, gwerror.Response{Type: gwerror.ResourceNotFound})
	}
	id, ok := h.Endpoints[parts[1]]
	if !ok {
		return h.reject(w, r, gwerror.Response{Type: gwerror.ResourceNotFound, Message: "unknown endpoint alias"})
	}
	needsJob, known := serverlessOperations[parts[2]]
	if !known || needsJob != (len(parts) == 4) || (needsJob && !endpointIDPattern.MatchString(parts[3])) {
		return h.reject(w, r, gwerror.Response{Type: gwerror.ResourceNotFound})
	}
	path, rawPath, err := h.basePaths.Map("/" + id + "/" + strings.Join(parts[2:], "/"))
	if err != nil {
		return h.rejectPath(w, r, err)
	}
	call := jobCall{endpointID: id, op: parts[2]}
	if h.OwnerClaim != "" {
		owner, ok := h.owner(r)
		if !ok {
			return h.reject(w, r, gwerror.Response{Type: gwerror.Unauthorized})
		}
		if needsJob && !h.jobAccess(w, r, owner, id, parts[3]) {
			return nil
		}
		call.owner = owner
	}
	switch call.op {
	case "runsync", "status", "status-sync":
		call.meter = metering.Metered(r.Context())
	}
	bind := call.owner != "" && (call.op == "run" || call.op == "runsync")
	if !bind && !call.meter {
		return h.pass(w, r, next, path, rawPath, h.maxBodyFor(call.op))
	}
	return h.passCaptured(w, r, next, path, rawPath, call)
}

// pass proxies r to the upstream path (as PathMapper.Map returns it) on the
// target, mapping transport failures and RunPod problem+json errors onto
// the gateway's error contract. The upstream client strips client
// credentials and injects the key. A body over maxBody is a 413: before
// the call when its length is declared, when it passes the limit while it
// streams otherwise.
func (h *Handler) pass(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, path, rawPath string, maxBody int64) error {
	return h.proxyTo(w, r, next, path, rawPath, maxBody, nil)
}

// passCaptured is pass for a job answer the gateway reads (onJobBody).
func (h *Handler) passCaptured(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, path, rawPath string, call jobCall) error {
	return h.proxyTo(w, r, next, path, rawPath, h.maxBodyFor(call.op), func(body []byte) { h.onJobBody(r, call, body) })
}

// proxyTo proxies r; onBody, when set, gets the JSON of a 200 answer.
func (h *Handler) proxyTo(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, path, rawPath string, maxBody int64, onBody func([]byte)) error {
	if r.ContentLength > maxBody {
		return h.reject(w, r, gwerror.Response{Type: gwerror.RequestTooLarge})
	}
	out := r.WithContext(r.Context()) // a shallow copy whose URL we may change
	u := *r.URL
	u.Path, u.RawPath = path, rawPath
	out.URL = &u
	var body *upstream.LimitedBody
	if r.Body != nil && r.Body != http.NoBody {
		body = upstream.LimitBody(r.Body, maxBody)
		out.Body = body
	}
	cw := newErrorCapture(w)
	cw.holdBack = body.TooLarge // whatever RunPod answers a cut-off body, the client gets the 413
	var err error
	if onBody != nil {
		jc := &jobCapture{ResponseWriter: cw, onBody: onBody}
		err = h.proxy.ServeHTTP(jc, out, next)
		jc.finish()
	} else {
		err = h.proxy.ServeHTTP(cw, out, next)
	}
	if err != nil && !cw.wroteHeader {
		resp := h.upstream.Failed(err)
		h.metrics.observe(h.Mode, outcomeFor(resp))
		h.errors.Write(w, r, resp)
		return nil
	}
	if cw.capturing && body.TooLarge() {
		h.metrics.observe(h.Mode, outcomeRejected)
		cw.restoreHeader()
		h.errors.Write(w, r, gwerror.Response{Type: gwerror.RequestTooLarge})
		return nil
	}
	if cw.capturing {
		h.metrics.observe(h.Mode, outcomeOf(cw.status))
		cw.restoreHeader()
		h.errors.Write(w, r, h.upstreamError(cw.status, cw.upstreamHeader, cw.body.Bytes()))
		return nil
	}
	h.metrics.observe(h.Mode, outcomeOf(cw.status))
	return err
}

// reject writes a gateway error for a request that never reached RunPod.
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, resp gwerror.Response) error {
	h.metrics.observe(h.Mode, outcomeRejected)
	h.errors.Write(w, r, resp)
	return nil
}

// outcomeFor classifies a transport failure response.
func outcomeFor(resp gwerror.Response) string {
	switch resp.Type {
	case gwerror.IntegrationTimeout:
		return outcomeTimeout
	case gwerror.RequestTooLarge: // the client's body passed max_body as it streamed
		return outcomeRejected
	}
	return outcomeUnreachable
}
