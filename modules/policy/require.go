package policy

import (
	"bytes"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// RequireOnServer refuses to provision a module that reads client
// credentials (jwt_auth, usage_plan) inside an HTTP server that does not run
// the request policy first: without it, a forged identity header or a
// non-canonical path could pass, and without the gpugate adapter's log
// redaction a credential could reach a log. Outside an HTTP server (unit
// tests) there is nothing to check. who names the module in the error.
func RequireOnServer(ctx caddy.Context, who string) error {
	srv, _ := ctx.Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	if srv == nil {
		return nil
	}
	if len(srv.Routes) > 0 && runsPolicyFirst(srv.Routes[0]) {
		return nil
	}
	return fmt.Errorf("%s: this server does not run gpugate's request policy first (forged identity headers, "+
		"ambiguous paths and credentials in logs would pass); load Caddyfiles with the gpugate adapter: "+
		"`gpugate run --config <file> --adapter gpugate`, or make {\"handler\":\"gpugate_request_policy\"} "+
		"the first handler of the server's first route in a JSON config", who)
}

// runsPolicyFirst reports whether route's first handler is the request
// policy: provisioned already (Caddy provisions routes in order, and frees
// their raw JSON), or still raw.
func runsPolicyFirst(route caddyhttp.Route) bool {
	if len(route.Handlers) > 0 {
		_, ok := route.Handlers[0].(*Handler)
		return ok
	}
	return len(route.HandlersRaw) > 0 && bytes.Contains(route.HandlersRaw[0], []byte(`"gpugate_request_policy"`))
}
