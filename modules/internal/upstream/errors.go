package upstream

import (
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/gpugate/gpugate/modules/gwerror"
)

// ErrorResponse maps a failed upstream call onto the gateway's error
// contract: a timeout is 504 {"message":"Endpoint request timed out"};
// anything else that kept the upstream from answering (refused, reset,
// DNS, TLS) is a 502. It accepts both plain transport errors and the
// caddyhttp.HandlerError that Caddy's reverse_proxy returns.
func ErrorResponse(err error) gwerror.Response {
	if IsTimeout(err) {
		return gwerror.Response{Type: gwerror.IntegrationTimeout}
	}
	var he caddyhttp.HandlerError
	if errors.As(err, &he) && he.StatusCode == http.StatusGatewayTimeout {
		return gwerror.Response{Type: gwerror.IntegrationTimeout}
	}
	return gwerror.Response{Type: gwerror.IntegrationFailure}
}

// IsTimeout reports whether err is a deadline or network timeout.
func IsTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
