package upstream

import (
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/gpugate/gpugate/modules/gwerror"
)

// ErrorResponse maps a failed upstream call onto the gateway's error
// contract: a timeout is 504 {"message":"Endpoint request timed out"};
// anything else that kept the upstream from answering (refused, reset,
// DNS, TLS) is a 502. It accepts both plain transport errors and the
// caddyhttp.HandlerError that Caddy's reverse_proxy returns. A client body
// that passed a request_body limit while it streamed is the client's 413,
// not the upstream's failure.
func ErrorResponse(err error) gwerror.Response {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return gwerror.Response{Type: gwerror.RequestTooLarge}
	}
	if IsTimeout(err) {
		return gwerror.Response{Type: gwerror.IntegrationTimeout}
	}
	var he caddyhttp.HandlerError
	if errors.As(err, &he) && he.StatusCode == http.StatusGatewayTimeout {
		return gwerror.Response{Type: gwerror.IntegrationTimeout}
	}
	return gwerror.Response{Type: gwerror.IntegrationFailure}
}

// ErrTimedOut is the cancel cause (context.WithCancelCause) of an upstream
// call that a module's own timer cut short; IsTimeout counts it.
var ErrTimedOut = errors.New("upstream call timed out")

// IsTimeout reports whether err is a deadline or network timeout.
func IsTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrTimedOut) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Failed maps a call that got no answer from the upstream (ErrorResponse)
// and logs it at warn level with the upstream's host: the operator must
// know when an upstream is down or slow. Transport errors name the URL and
// the cause, never a header, so no credential reaches the log.
func (c *Client) Failed(err error) gwerror.Response {
	resp := ErrorResponse(err)
	if resp.Type == gwerror.RequestTooLarge {
		return resp
	}
	msg := c.module + " upstream unreachable"
	if resp.Type == gwerror.IntegrationTimeout {
		msg = c.module + " upstream timed out"
	}
	c.logger.Warn(msg, zap.Error(err))
	return resp
}

// Refused answers an upstream that refused the gateway's own credentials
// or account (401, 402, 403: the client's credentials never reach it): 502
// for the client, who can do nothing about it, and a warn log line naming
// the upstream and its status for the operator, who can.
func (c *Client) Refused(status int) gwerror.Response {
	c.logger.Warn(c.module+" upstream refused the gateway's credentials; check the configured key",
		zap.Int("status", status))
	return gwerror.Response{Type: gwerror.IntegrationFailure}
}
